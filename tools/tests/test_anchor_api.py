"""tools/anchors/api.py: Python's answers to bench's api experiment, against bench's own
loopback server (build/api_server). The script runs in a subprocess with a tiny sweep; the
tests check what it writes (names, manifest, every answer verified), that the tools read it
like bench's, and bad input. Never timings."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from parbench_tools.gbench import load_run
from parbench_tools.manifest import parse_manifest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
SCRIPT = os.path.join(ROOT, "tools", "anchors", "api.py")
SERVER = os.path.join(ROOT, "build", "api_server")
TINY = ["--workers", "1,4", "--tasks", "8", "--latency-ms", "1", "--bytes", "1000",
        "--repetitions", "2", "--min-time", "0"]


def load_module():
    """The script as a module (its pure functions; no server is started from here)."""
    if "anchors_api" not in sys.modules:
        spec = importlib.util.spec_from_file_location("anchors_api", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["anchors_api"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["anchors_api"]


def run_script(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=300)


def has_aiohttp() -> bool:
    return importlib.util.find_spec("aiohttp") is not None


needs_server = pytest.mark.skipif(not os.access(SERVER, os.X_OK),
                                  reason="build/api_server is not built (scripts/build build)")


def test_names_follow_benchs_scheme():
    m = load_module()
    cases = m.make_cases(["py_threads", "py_asyncio", "py_serial"], [32, 256])
    assert [c.name for c in cases] == [
        "api/py_serial/real_time",
        "api/py_threads/workers:32/real_time", "api/py_threads/workers:256/real_time",
        "api/py_asyncio/workers:32/real_time", "api/py_asyncio/workers:256/real_time"]


def test_ideal_time_is_benchs():
    m = load_module()
    assert m.ideal_s(1024, 256, 10) == pytest.approx(0.040)
    assert m.ideal_s(1000, 256, 10) == pytest.approx(0.040)  # ceil: four rounds
    assert m.ideal_s(4096, 1024, 10) == pytest.approx(0.040)


def test_the_manifest_is_valid_for_the_tools():
    m = load_module()
    raw = json.dumps(m.manifest(["py_threads", "py_asyncio"]))
    manifest = parse_manifest("x.json", {"parbench_manifest": raw})
    assert manifest.executor_names == ("py_serial", "py_threads", "py_asyncio")
    assert manifest.baseline == "py_serial"
    assert manifest.executor("py_asyncio").traits["async"] is True
    assert manifest.counter("cpu_per_request_us", "api").bigger_is_better is False


@pytest.mark.parametrize("bad", [["--workers", "0"], ["--workers", "x"], ["--tasks", "0"],
                                 ["--executors", "py_nope"], ["--min-time", "-1"]])
def test_bad_input_is_one_line_and_status_2(tmp_path, bad):
    r = run_script("--out", str(tmp_path / "out.json"), *bad)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("api.py: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_missing_server_is_a_usage_error(tmp_path):
    r = run_script("--out", str(tmp_path / "out.json"), "--server", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert "not an executable" in r.stderr


@needs_server
def test_a_tiny_run_writes_benchs_names_verified_and_readable_by_the_tools(tmp_path):
    executors = ["py_threads", "py_asyncio"] if has_aiohttp() else ["py_threads"]
    out = tmp_path / "py_api.json"
    r = run_script("--out", str(out), "--executors", ",".join(executors), *TINY)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    names = [b["name"] for b in data["benchmarks"]]
    expected = [f"api/{e}/workers:{w}/real_time" for e in executors for w in (1, 4)]
    assert sorted(set(names)) == sorted(expected)
    assert len(names) == 2 * len(expected)  # two repetitions each
    for b in data["benchmarks"]:
        assert b["tasks_verified"] == 8 * b["iterations"]
        for counter in ("ideal_fraction", "cpu_per_request_us", "server_cpu_per_request_us",
                        "server_delay_ms_median", "tasks_per_second"):
            assert counter in b, (b["name"], counter)
    run = load_run(str(out))
    assert set(run.manifest.executor_names) >= set(executors)


def test_every_answer_is_checked_for_status_and_body_size():
    m = load_module()
    m.check_answer(200, b"x" * 1000, 1000)
    with pytest.raises(m.TaskError, match="expected 999"):
        m.check_answer(200, b"x" * 1000, 999)
    with pytest.raises(m.TaskError, match="HTTP 404"):
        m.check_answer(404, b"", 0)
