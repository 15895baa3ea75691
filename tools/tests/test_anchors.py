"""tools/anchors/futures.py: Python's executors as parbench's baseline. The script runs in a
subprocess with a tiny sweep; the tests check what it writes (names, manifest, every task
verified), that the tools read it like bench's, bad input and Ctrl-C. Never timings."""

import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from parbench_tools.gbench import load_run
from parbench_tools.manifest import parse_manifest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "anchors", "futures.py")
MARKER = "PARBENCH_ANCHORS_TEST"
EXECUTORS = ["py_serial", "py_threads", "py_processes"]
TINY = ["--durations", "100us,1us,100ns", "--workers", "2", "--repetitions", "1", "--min-time",
        "0.001", "--work-ms", "1", "--overhead-tasks", "200"]


def load_module():
    """The script as a module (its pure functions; no pool is started from here)."""
    if "anchors_futures" not in sys.modules:
        spec = importlib.util.spec_from_file_location("anchors_futures", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["anchors_futures"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["anchors_futures"]


def marked_processes(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment carries MARKER=marker: the script and
    everything it started (pool workers, forkserver, resource tracker)."""
    needle = f"{MARKER}={marker}".encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read() + b"\0"
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if b"\0" + needle in b"\0" + env and state != b"Z":
            found.append(int(entry))
    return found


def wait_none_left(marker: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def start(args, marker):
    env = dict(os.environ, **{MARKER: marker})
    return subprocess.Popen([sys.executable, SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The script run once with a tiny sweep: (exit status, stderr, JSON path, processes it
    left behind)."""
    out = tmp_path_factory.mktemp("anchors") / "anchors.json"
    marker = uuid.uuid4().hex
    proc = start([*TINY, "--out", str(out)], marker)
    try:
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, stderr, str(out), wait_none_left(marker)


def test_tiny_run_writes_google_benchmark_json(tiny_run):
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    with open(out, encoding="utf-8") as f:
        data = json.load(f)
    names = [b["name"] for b in data["benchmarks"]]
    assert names == [
        "granularity/py_serial/task:100ns/real_time",
        "granularity/py_threads/workers:2/task:100ns/real_time",
        "granularity/py_processes/workers:2/task:100ns/dispatch:per_task/real_time",
        "granularity/py_processes/workers:2/task:100ns/dispatch:adaptive/real_time",
        "granularity/py_serial/task:1us/real_time",
        "granularity/py_threads/workers:2/task:1us/real_time",
        "granularity/py_processes/workers:2/task:1us/dispatch:per_task/real_time",
        "granularity/py_processes/workers:2/task:1us/dispatch:adaptive/real_time",
        "granularity/py_serial/task:100us/real_time",
        "granularity/py_threads/workers:2/task:100us/real_time",
        "granularity/py_processes/workers:2/task:100us/dispatch:per_task/real_time",
        "granularity/py_processes/workers:2/task:100us/dispatch:adaptive/real_time",
        "overhead/py_serial/real_time",
        "overhead/py_threads/workers:2/real_time",
        "overhead/py_processes/workers:2/dispatch:per_task/real_time",
        "overhead/py_processes/workers:2/dispatch:adaptive/real_time",
    ]
    for b in data["benchmarks"]:
        assert b["run_name"] == b["name"]  # as Google Benchmark (and so bench) writes it
        assert (b["run_type"], b["repetitions"], b["repetition_index"], b["threads"]) == (
            "iteration", 1, 0, 1)
        assert isinstance(b["iterations"], int) and b["iterations"] >= 1
        assert b["time_unit"] in ("ms", "us")
        for key in ("real_time", "cpu_time", "tasks_per_second"):
            assert math.isfinite(b[key])
        if b["name"].startswith("granularity/"):
            assert {"task_ns", "task_ns_nominal", "steps_per_ns"} <= set(b)
        else:
            assert "ns_per_task" in b
    context = data["context"]
    assert context["anchors_start_method"] in ("forkserver", "spawn")
    assert "process_time" in context["anchors_cpu_time"]
    assert int(context["parbench_cores"]) >= 1
    assert context["python_version"] == ".".join(map(str, sys.version_info[:3]))


def test_every_task_was_verified(tiny_run):
    """tasks_verified = iterations x tasks per iteration (bench's formula with --work-ms 1:
    1 ms / 100 ns = 10000 tasks; 1 ms / 1 us = 1000; 1 ms / 100 us = 10, raised to min_tasks
    32; overhead 200)."""
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    with open(out, encoding="utf-8") as f:
        data = json.load(f)
    tasks = {"task:100ns": 10000, "task:1us": 1000, "task:100us": 32}
    total = 0
    for b in data["benchmarks"]:
        task = next((p for p in b["run_name"].split("/") if p.startswith("task:")), "")
        expected = tasks.get(task, 200) * b["iterations"]
        assert b["tasks_verified"] == expected, b["name"]
        total += expected
    assert int(data["context"]["anchors_tasks_verified"]) == total


def test_manifest_names_py_serial_as_baseline(tiny_run):
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    with open(out, encoding="utf-8") as f:
        context = json.load(f)["context"]
    assert isinstance(context["parbench_manifest"], str)  # JSON text, as bench writes it
    m = parse_manifest(out, context)
    assert m.declared and m.baseline == "py_serial"
    assert list(m.executor_names) == EXECUTORS
    assert m.executor("py_serial").single_worker
    assert m.executor("py_threads").traits["shares_memory"]
    assert m.executor("py_processes").traits["starts_processes"]
    assert [a.name for a in m.family("granularity").axes] == ["task", "dispatch"]
    dispatch = m.family("granularity").axes[1]
    assert dispatch.values == ("per_task", "adaptive")
    assert dispatch.applies_to("py_processes") and not dispatch.applies_to("py_serial")
    assert [a.name for a in m.family("overhead").axes] == ["dispatch"]
    assert "task_ns" in m.family("granularity").counters
    assert "tasks_per_message" in m.counters
    assert m.executor("py_processes").traits["sends_messages"]
    assert not m.executor("py_threads").traits["sends_messages"]
    assert m.counters["tasks_per_second"].bigger_is_better


def test_dispatch_modes_report_tasks_per_message(tiny_run):
    """per_task sends one task per message; adaptive (bench's rule: about 200 us of work per
    message, at most tasks / (2 W)) sends several when tasks are short; the serial loop and
    the threads take one task at a time (1, as bench reports it)."""
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    with open(out, encoding="utf-8") as f:
        per = {b["run_name"].removesuffix("/real_time"): b.get("tasks_per_message")
               for b in json.load(f)["benchmarks"]}
    assert per["granularity/py_serial/task:1us"] == 1
    assert per["granularity/py_threads/workers:2/task:1us"] == 1
    assert per["granularity/py_processes/workers:2/task:1us/dispatch:per_task"] == 1
    assert per["overhead/py_processes/workers:2/dispatch:per_task"] == 1
    # 1000 tasks of 1 us on 2 workers: more than one per message, at most 1000 / 4.
    assert 1 < per["granularity/py_processes/workers:2/task:1us/dispatch:adaptive"] <= 250
    # 10000 tasks of 100 ns: hundreds per message (200 us of work each, at most 2500).
    assert 100 < per["granularity/py_processes/workers:2/task:100ns/dispatch:adaptive"] <= 2500
    assert per["granularity/py_processes/workers:2/task:100ns/dispatch:per_task"] == 1
    # 200 empty tasks: the fair share decides, 200 / 4.
    assert per["overhead/py_processes/workers:2/dispatch:adaptive"] == 50


def test_the_tools_read_it_like_bench(tiny_run, cli):
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    run = load_run(out)
    b = run.benchmarks["granularity/py_threads/workers:2/task:1us"]
    assert (b.name.workload, b.name.executor, b.name.workers, b.name.args) == (
        "granularity", "py_threads", 2, (("task", "1us"),))
    status, text, err = cli("speedup", out)
    assert status == 0, err
    assert "py_threads" in text and "py_processes" in text


def test_granularity_puts_the_python_executors_beside_bench(tiny_run, cli):
    status, stderr, out, _ = tiny_run
    assert status == 0, stderr
    bench = os.path.join(os.path.dirname(__file__), "fixtures", "granularity.json")
    status, text, err = cli("granularity", bench, out)
    assert status == 0, err
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    executors = [(r.split(" | ")[0].strip("|` "), r.split(" | ")[1]) for r in rows]
    assert ("anchors.json", "py_threads") in executors
    assert ("anchors.json", "py_processes") in executors
    assert ("granularity.json", "threads") in executors
    # Each file against its own baseline: the Python one against py_serial.
    assert f"**{out}:** On this machine" in text


def test_no_process_left_behind(tiny_run):
    status, stderr, _, left = tiny_run
    assert status == 0, stderr
    assert left == []


@pytest.mark.parametrize("flags", [
    ["--durations", "2us"],
    ["--durations", "1us,fast"],
    ["--durations", ","],
    ["--workers", "0"],
    ["--workers", "two"],
    ["--dispatch", "chunked"],
    ["--dispatch", ","],
    ["--repetitions", "0"],
    ["--min-tasks", "0"],
    ["--min-time", "-1"],
    ["--start-method", "fork"],
    ["--no-such-flag"],
])
def test_bad_flags_exit_2_with_one_line(tmp_path, flags):
    out = tmp_path / "a.json"
    result = subprocess.run([sys.executable, SCRIPT, "--out", str(out), *flags],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("futures.py: error: ")
    assert not out.exists()


@pytest.mark.parametrize("out", ["/nonexistent-parbench-dir/a.json", "DIR"])
def test_unwritable_out_exits_2_with_one_line(tmp_path, out):
    out = str(tmp_path) if out == "DIR" else out
    result = subprocess.run([sys.executable, SCRIPT, "--out", out, *TINY],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_ctrl_c_shuts_pools_down_and_exits_130(tmp_path):
    marker = uuid.uuid4().hex
    out = tmp_path / "a.json"
    proc = start(["--durations", "100ns,10ms", "--workers", "2", "--min-time", "5",
                  "--out", str(out)], marker)
    try:
        deadline = time.monotonic() + 120
        # the script, the forkserver and two process workers (threads are not processes)
        while len(marked_processes(marker)) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert len(marked_processes(marker)) >= 4, "the process pool never started"
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()  # reaped and its pipes closed: nothing leaks into later tests
    assert proc.returncode == 130, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert wait_none_left(marker) == []
    assert not out.exists()


# --- pure functions -------------------------------------------------------------------------

def test_tasks_per_iteration_is_bench_formula():
    m = load_module()
    assert m.tasks_per_iteration(100, 10e6, 32) == 20000
    assert m.tasks_per_iteration(1_000, 10e6, 32) == 10000
    assert m.tasks_per_iteration(3_000, 10e6, 32) == 3334
    assert m.tasks_per_iteration(1_000_000, 10e6, 32) == 32
    assert m.tasks_per_iteration(10_000_000, 10e6, 32) == 32


def test_durations_are_bench_spelling():
    m = load_module()
    assert m.parse_duration("100ns") == 100
    assert m.parse_duration("1us") == 1_000
    assert m.parse_duration("10ms") == 10_000_000
    assert m.parse_durations("10us,1us,10us") == ["1us", "10us"]
    with pytest.raises(m.UsageError):
        m.parse_duration("1000ns")


def test_names_follow_bench():
    m = load_module()
    assert m.Case("granularity", "py_serial", 1, "1us", 1000).name == (
        "granularity/py_serial/task:1us/real_time")
    assert m.Case("granularity", "py_threads", 2, "1us", 1000).run_name == (
        "granularity/py_threads/workers:2/task:1us")
    assert m.Case("overhead", "py_processes", 4, "", 10).run_name == (
        "overhead/py_processes/workers:4")


def test_adaptive_chunksize_is_bench_rule():
    """min(200 us / mean task duration, tasks / (2 W)), clamped to 1 .. 65536, truncated."""
    m = load_module()
    assert m.adaptive_chunksize(100, 20_000, 2) == 2000  # 100 ns: 200 us of work per message
    assert m.adaptive_chunksize(20_000, 500, 2) == 10  # bench's comment: 20 us tasks ten a frame
    assert m.adaptive_chunksize(200_000, 50, 2) == 1  # 200 us and more: one per message
    assert m.adaptive_chunksize(1_000_000, 32, 2) == 1
    assert m.adaptive_chunksize(100, 2_000, 2) == 500  # half of a fair share caps it
    assert m.adaptive_chunksize(0, 10_000, 2) == 2500  # empty tasks: the fair share
    assert m.adaptive_chunksize(0.001, 10**9, 1) == 65_536
    assert m.tasks_per_message(1000, 1) == 1
    assert m.tasks_per_message(1000, 300) == 250  # chunks of 300, 300, 300, 100
    assert m.parse_dispatches("adaptive,per_task") == ["per_task", "adaptive"]


def test_names_carry_the_dispatch_mode():
    m = load_module()
    cases = m.make_cases(["1us"], [2], 1e6, 32, 10, 1.0)
    assert [c.run_name for c in cases] == [
        "granularity/py_serial/task:1us", "granularity/py_threads/workers:2/task:1us",
        "granularity/py_processes/workers:2/task:1us/dispatch:per_task",
        "granularity/py_processes/workers:2/task:1us/dispatch:adaptive",
        "overhead/py_serial", "overhead/py_threads/workers:2",
        "overhead/py_processes/workers:2/dispatch:per_task",
        "overhead/py_processes/workers:2/dispatch:adaptive"]


def test_the_task_computes_the_sum_and_a_wrong_one_is_caught():
    m = load_module()
    assert m.spin(10)[0] == 45
    assert m.check_spin([m.spin(1000), m.spin(1000)], 1000) >= 0
    with pytest.raises(m.TaskError):
        m.check_spin([(44, 1)], 10)
    with pytest.raises(m.TaskError):
        m.check_overhead([0, 2, 1], 3)
