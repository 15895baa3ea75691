"""granularity: METG(50%) on synthetic curves (crossing, never crossing, crossing below the
sweep, dips), and on a small real run of bench's granularity family (fixtures/granularity.json:
serial, threads and processes at 100 ns, 10 µs and 1 ms, each payload), whose times are also
replaced by known efficiencies to check the table and the verdict sentence."""

import csv
import io
import json
import math

import pytest
from conftest import fixture, load_fixture, manifest_of, planted, write_json

from parbench_tools.gbench import load_run
from parbench_tools.granularity import (curves, format_ns, metg, metg_text, ranges_text,
                                        verdict)
from parbench_tools.trust import MARK

# --- synthetic curves ------------------------------------------------------------------------


def test_a_crossing_is_interpolated_in_log_duration():
    m = metg([(100, 0.2), (1e4, 0.8), (1e6, 0.95)])
    assert m.status == "crossed"
    assert m.value_ns == pytest.approx(1000)  # halfway in log between 100 ns and 10 µs
    assert m.ranges == ((None, pytest.approx(1000)),)
    assert metg_text(m) == "1 µs" and ranges_text(m) == "< 1 µs"
    assert m.last_efficiency == 0.95


def test_a_curve_that_never_crosses_is_not_reached():
    m = metg([(100, 0.1), (1e4, 0.3), (1e6, 0.45)])
    assert m.status == "not reached" and m.value_ns is None
    assert m.ranges == ((None, None),)
    assert metg_text(m) == "not reached (> 1 ms)"
    assert ranges_text(m) == "the whole sweep (100 ns–1 ms)"


def test_a_curve_above_half_at_the_shortest_task_is_below_the_sweep():
    m = metg([(100, 0.6), (1e4, 0.9), (1e6, 1.0)])
    assert m.status == "below the sweep" and m.ranges == ()
    assert metg_text(m) == "below the sweep (≤ 100 ns)" and ranges_text(m) == "none"


def test_exactly_half_counts_as_paying_off():
    assert metg([(100, 0.5), (1e3, 0.7)]).status == "below the sweep"
    m = metg([(100, 0.2), (1e3, 0.5)])
    assert m.status == "crossed" and m.value_ns == pytest.approx(1e3)


def test_a_dip_back_below_half_is_a_second_range_and_moves_metg():
    # The process pool's cliff (issue 17): paying off at 10 µs, below half again at 20 µs.
    m = metg([(1e3, 0.3), (1e4, 0.7), (1e5, 0.4), (1e6, 0.9)])
    assert m.status == "crossed"
    first, second = m.ranges
    assert first == (None, pytest.approx(1e3 * 10 ** 0.5))  # 0.3 -> 0.7: halfway
    low, high = second
    assert low == pytest.approx(1e4 * 10 ** (2 / 3))  # 0.7 -> 0.4 reaches 0.5 two thirds on
    assert high == pytest.approx(1e5 * 10 ** 0.2)  # 0.4 -> 0.9 reaches 0.5 a fifth on
    assert m.value_ns == high, "METG is where it last rises through 0.5"
    assert ranges_text(m) == "< 3.16 µs; 46.4 µs–158 µs"


def test_a_dip_at_the_long_end_means_not_reached():
    m = metg([(1e2, 0.7), (1e4, 0.6), (1e6, 0.3)])
    assert m.status == "not reached" and m.ranges[0][1] is None
    assert ranges_text(m).startswith("> ")


def test_a_dip_in_the_middle_of_a_curve_that_starts_above_half():
    m = metg([(1e2, 0.8), (1e3, 0.2), (1e4, 0.8)])
    assert m.status == "crossed" and len(m.ranges) == 1
    low, high = m.ranges[0]
    assert low == pytest.approx(1e2 * 10 ** 0.5) and high == pytest.approx(1e3 * 10 ** 0.5)


def test_no_points_is_no_data():
    assert metg([]).status == "no data"
    assert metg([(100, float("nan"))]).status == "no data"


# --- the real run, and the real run with known efficiencies ----------------------------------

def _names(data):
    return sorted({b["run_name"].removesuffix("/real_time") for b in data["benchmarks"]})


def test_the_real_run_gives_one_curve_per_executor_and_payload():
    run = load_run(fixture("granularity.json"))
    found = {(c.executor, c.workers, c.payload): c for c in curves(run)}
    assert set(found) == {("threads", 2, "none"), ("processes", 2, "none"),
                          ("processes", 2, "64 KiB"), ("processes", 2, "1 MiB")}
    # Table order: the manifest's executors, then the payload axis' own order.
    assert [(c.executor, c.payload) for c in curves(run)] == [
        ("threads", "none"), ("processes", "none"), ("processes", "64 KiB"),
        ("processes", "1 MiB")]
    serial = {b.name.args[0][1]: b for b in run.benchmarks.values()
              if b.name.executor == "serial"}
    for c in found.values():
        assert [p.nominal_ns for p in c.points] == [100, 1e4, 1e6]
        for p, task in zip(c.points, ("100ns", "10us", "1ms")):
            base, own = serial[task], run.benchmarks[p.name]
            assert p.task_ns == base.counter("task_ns"), "x: what the baseline measured"
            assert p.efficiency == pytest.approx(base.median / (2 * own.median))
        assert c.analysis.status in ("crossed", "below the sweep", "not reached")


def _known(efficiencies: dict, context: dict | None = None, useful: float = 1.0) -> dict:
    """granularity.json made quiet, serial taking 10 ms per iteration for 10 ms / nominal
    tasks, of which it measured `useful` × nominal each (task_ns; the rest is the loop's own
    cost), and each executor's time set so that its efficiency at each task against serial is
    the one given: {(executor, payload): [eff at 100ns, 10us, 1ms]}. tasks_per_second is
    tasks / time, as bench reports it."""
    data = planted(load_fixture("granularity.json"))
    data["context"].update(context or {})
    tasks = ("100ns", "10us", "1ms")
    nominal = {"100ns": 100.0, "10us": 1e4, "1ms": 1e6}
    for b in data["benchmarks"]:
        parts = b["run_name"].removesuffix("/real_time").split("/")
        executor = parts[1]
        task = next(p.split(":")[1] for p in parts if p.startswith("task:"))
        payload = next((p.split(":")[1] for p in parts if p.startswith("payload:")), "")
        b["time_unit"] = "ms"
        if executor == "serial":
            b["real_time"], b["task_ns"] = 10.0, useful * nominal[task]
        else:
            eff = efficiencies[(executor, payload)][tasks.index(task)]
            b["real_time"] = 10.0 / (2 * eff)
        b["tasks_per_second"] = (10e6 / nominal[task]) / (b["real_time"] * 1e-3)
    return data


KNOWN = {("threads", ""): [0.2, 0.8, 0.9],  # crosses at 1 µs
         ("processes", ""): [0.1, 0.3, 0.6],  # crosses at 10 µs × 100^(2/3) = 215 µs
         ("processes", "64KiB"): [0.6, 0.3, 0.7],  # dips: 464 ns–100 µs
         ("processes", "1MiB"): [0.1, 0.1, 0.2]}  # never


def test_the_table_from_known_efficiencies(cli, tmp_path):
    path = write_json(tmp_path, "known.json", _known(KNOWN))
    status, out, err = cli("granularity", path)
    assert status == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == ("| executor | workers | payload | METG, parbench's (task duration) | "
                       "METG, Task Bench's (granularity) | below 50% efficiency (task duration) "
                       "| efficiency at the longest task (task duration) |")
    # Serial's tasks are all useful work here, so Task Bench's efficiency is parbench's and
    # its METG, a granularity, twice the task duration.
    assert rows[1:] == [
        "| threads | 2 | none | 1 µs | 2 µs | < 1 µs | 0.90 (1 ms) |",
        "| processes | 2 | none | 215 µs | 431 µs | < 215 µs | 0.60 (1 ms) |",
        "| processes | 2 | 64 KiB | 100 µs | 200 µs | 464 ns–100 µs | 0.70 (1 ms) |",
        "| processes | 2 | 1 MiB | not reached (> 1 ms) | not reached (> 5 ms) | "
        "the whole sweep (100 ns–1 ms) | 0.20 (1 ms) |",
    ]
    assert "Efficiency, parbench's (the default) = baseline time / (min(workers, usable " \
        "CPUs) × executor time)" in out
    assert "Task Bench's (--efficiency taskbench) = useful work / (wall time × CPUs)" in out
    assert "the verdict use parbench's." in out
    assert MARK not in out
    records = json.loads(cli("granularity", path, "--format", "json")[1])
    assert records[0]["metg_ns"] == pytest.approx(1000)
    assert [p["efficiency"] for p in records[0]["points"]] == pytest.approx([0.2, 0.8, 0.9])
    table = list(csv.DictReader(io.StringIO(cli("granularity", path, "--format", "csv")[1])))
    assert [r["status"] for r in table] == ["crossed", "crossed", "crossed", "not reached"]
    assert math.isclose(float(table[1]["metg_ns"]), 1e4 * 100 ** (2 / 3))
    assert math.isclose(float(table[1]["metg_taskbench_ns"]), 2e4 * 100 ** (2 / 3))
    assert {r["efficiency"] for r in table} == {"parbench"}


def test_task_bench_efficiency_on_a_fixture_whose_baseline_pays_for_its_loop(cli, tmp_path):
    """Serial measured only 0.8 of each task's nominal duration as task work (task_ns); the
    rest of its time is its own loop. Task Bench's efficiency = task_ns × tasks / (wall × CPUs),
    so it is 0.8 × parbench's; its x, the granularity = wall × CPUs / tasks."""
    path = write_json(tmp_path, "known.json", _known(KNOWN, useful=0.8))
    run = load_run(path)
    threads = next(c for c in curves(run) if c.executor == "threads")
    for p, eff, nominal in zip(threads.points, KNOWN[("threads", "")], (100, 1e4, 1e6)):
        wall_ns = 10e6 / (2 * eff)  # an iteration of the executor
        tasks = 10e6 / nominal
        assert p.task_ns == pytest.approx(0.8 * nominal)
        assert p.efficiency == pytest.approx(eff)
        assert p.granularity_ns == pytest.approx(wall_ns * 2 / tasks)
        assert p.taskbench_efficiency == pytest.approx(0.8 * nominal * tasks / (wall_ns * 2))
        assert p.taskbench_efficiency == pytest.approx(0.8 * eff)
    # threads: 0.16, 0.64, 0.72 against task_ns 80 ns, 8 µs, 800 µs: crosses 0.5 at
    # 80 ns × 100^((0.5-0.16)/(0.64-0.16)), where the granularity is twice that.
    crossing = 80 * 100 ** ((0.5 - 0.16) / (0.64 - 0.16))
    assert threads.metg("taskbench").value_ns == pytest.approx(2 * crossing)
    assert threads.metg("parbench").value_ns == pytest.approx(800)  # 0.2 -> 0.8: halfway
    status, out, err = cli("granularity", path, "--efficiency", "taskbench")
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| threads |"))
    assert row == ("| threads | 2 | none | 800 ns | 4.18 µs | < 4.18 µs | 0.72 (1.11 ms) |")
    assert "(the default)" in out and "the verdict use Task Bench's." in out
    assert ("threads reach 50% efficiency (Task Bench's) from a granularity of 4.18 µs, and "
            "shorter ones stayed below 50%") in out
    # A file without tasks_per_second has no Task Bench efficiency, and says so.
    data = _known(KNOWN)
    for b in data["benchmarks"]:
        del b["tasks_per_second"]
    run = load_run(write_json(tmp_path, "norate.json", data))
    assert all(c.metg("taskbench").status == "no data" for c in curves(run))


def _verdict(tmp_path, efficiencies: dict, context: dict | None = None) -> str:
    run = load_run(write_json(tmp_path, "known.json", _known(efficiencies, context)))
    return verdict(run, curves(run))


def test_the_verdict_when_each_executor_crosses(tmp_path):
    assert _verdict(tmp_path, KNOWN) == (
        "On this machine (2 CPUs): threads pay off from tasks of 1 µs, and shorter ones ran "
        "faster serially; processes pay off from tasks of 215 µs, and shorter ones ran faster "
        "serially (from 100 µs when each task ships 64 KiB, never when each task ships 1 MiB).")
    # One usable CPU of two (taskset -c 0): efficiency is against that one CPU, so twice the
    # above, and METG moves (threads: 0.4 -> 1.6 crosses 0.5 a twelfth of the way on).
    assert _verdict(tmp_path, KNOWN, {"parbench_usable_cpus": "1"}) == (
        "On this machine (1 of its 2 CPUs usable, 2 workers): threads pay off from tasks of "
        "147 ns, and shorter ones ran faster serially; processes pay off from tasks of "
        "3.16 µs, and shorter ones ran faster serially (at every point measured when each task "
        "ships 64 KiB, never when each task ships 1 MiB).")


def test_the_verdict_when_an_executor_never_reaches_half(tmp_path):
    # One never pays off, with or without a payload: one clause for the payloads.
    never = {**KNOWN, ("processes", ""): [0.1, 0.2, 0.3],
             ("processes", "64KiB"): [0.1, 0.2, 0.3]}
    assert _verdict(tmp_path, never) == (
        "On this machine (2 CPUs): threads pay off from tasks of 1 µs, and shorter ones ran "
        "faster serially; processes never pay off: every task up to 1 ms ran faster serially, "
        "efficiency 0.30 at the longest (nor when each task ships 64 KiB or 1 MiB).")
    nothing = {key: [0.1, 0.2, 0.3] for key in KNOWN}
    assert _verdict(tmp_path, nothing) == (
        "On this machine (2 CPUs): threads never pay off: every task up to 1 ms ran faster "
        "serially, efficiency 0.30 at the longest; processes never pay off: every task up to "
        "1 ms ran faster serially, efficiency 0.30 at the longest (nor when each task ships "
        "64 KiB or 1 MiB).")
    # Not reached, but paying off for a while: those stretches are named, and the rest.
    dips = {**nothing, ("threads", ""): [0.2, 0.8, 0.3], ("processes", "1MiB"): [0.6, 0.2, 0.2]}
    assert _verdict(tmp_path, dips) == (
        "On this machine (2 CPUs): threads pay off only between 1 µs and 158 µs, while tasks "
        "below 1 µs and from 158 µs on ran faster serially; processes never pay off: every "
        "task up to 1 ms ran faster serially, efficiency 0.30 at the longest (nor when each "
        "task ships 64 KiB, only below 316 ns when each task ships 1 MiB).")


def test_the_verdict_when_an_executor_never_drops_below_half(tmp_path):
    """Nothing measured was too short: no claim about shorter tasks, and the efficiency at
    the shortest task, so that executors below the sweep are still ranked."""
    everything = {key: [0.6, 0.8, 0.9] for key in KNOWN}
    everything[("threads", "")] = [0.7, 0.8, 0.9]
    text = _verdict(tmp_path, everything)
    assert text == (
        "On this machine (2 CPUs): threads pay off at every task duration measured, down to "
        "the shortest, 100 ns, where the efficiency was 0.70; processes pay off at every task "
        "duration measured, down to the shortest, 100 ns, where the efficiency was 0.60 (also "
        "when each task ships 64 KiB or 1 MiB).")
    assert "faster serially" not in text
    # Beside one that crosses (the reference run's shape): each clause says only its own.
    mixed = {**KNOWN, ("threads", ""): [0.7, 0.8, 0.9]}
    text = _verdict(tmp_path, mixed)
    assert text.startswith(
        "On this machine (2 CPUs): threads pay off at every task duration measured, down to "
        "the shortest, 100 ns, where the efficiency was 0.70; processes pay off from tasks of "
        "215 µs, and shorter ones ran faster serially")
    assert "shorter tasks are faster serially" not in text


def _with_dispatch(per_task: dict, base: dict = KNOWN) -> dict:
    """_known(KNOWN) as a run of bench with the dispatch axis: the processes' names of before
    are its adaptive points (the manifest's plain value), each with a copy named
    dispatch:per_task whose efficiencies are `per_task`'s: {payload: [eff at 100ns, 10us,
    1ms]}; tasks_per_message 1 where one task goes at a time, 2000 for adaptive."""
    data = _known(base)
    manifest = manifest_of(data)
    for fam in manifest["families"]:
        if fam["name"] == "granularity":
            fam["axes"].append({"name": "dispatch", "values": ["", "per_task"],
                                "executors": ["processes"], "plain": "adaptive"})
    data["context"]["parbench_manifest"] = json.dumps(manifest)
    copies = []
    for b in data["benchmarks"]:
        parts = b["run_name"].removesuffix("/real_time").split("/")
        b["tasks_per_message"] = 2000.0 if parts[1] == "processes" else 1.0
        if parts[1] != "processes":
            continue
        payload = next((p.split(":")[1] for p in parts if p.startswith("payload:")), "")
        task = next(p.split(":")[1] for p in parts if p.startswith("task:"))
        copy = dict(b, tasks_per_message=1.0)
        eff = per_task[payload][("100ns", "10us", "1ms").index(task)]
        copy["real_time"] = 10.0 / (2 * eff)
        copy["tasks_per_second"] = b["tasks_per_second"] * b["real_time"] / copy["real_time"]
        copy["name"] = copy["run_name"] = "/".join(parts + ["dispatch:per_task", "real_time"])
        copies.append(copy)
    data["benchmarks"] += copies
    return data


def test_dispatch_modes_are_curves_of_their_own(cli, tmp_path):
    per_task = {"": [0.01, 0.1, 0.9], "64KiB": [0.01, 0.1, 0.6], "1MiB": [0.01, 0.05, 0.2]}
    path = write_json(tmp_path, "dispatch.json", _with_dispatch(per_task))
    status, out, err = cli("granularity", path)
    assert status == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| executor | workers | payload | dispatch | tasks per message |")
    assert rows[1].startswith("| threads | 2 | none | — | 1 | 1 µs |")
    assert rows[2].startswith("| processes | 2 | none | adaptive | 2,000 | 215 µs |")
    assert "| processes | 2 | none | per_task | 1 |" in out
    assert "processes (adaptive dispatch) pay off from tasks of 215 µs" in out
    # per_task: 0.1 -> 0.9 from 10 µs to 1 ms crosses 0.5 halfway (in log).
    assert "processes (per_task dispatch) pay off from tasks of 100 µs" in out
    records = json.loads(cli("granularity", path, "--format", "json")[1])
    modes = {(r["executor"], r["payload"], r["dispatch"]): r for r in records}
    assert modes[("processes", "none", "per_task")]["tasks_per_message"] == 1
    assert modes[("processes", "none", "adaptive")]["tasks_per_message"] == 2000
    assert modes[("threads", "none", None)]["dispatch"] is None


def _renamed(data: dict, rename: dict) -> dict:
    """A run whose executors (names, manifest) are renamed, as the anchors' py_* are."""
    manifest = manifest_of(data)
    for e in manifest["executors"]:
        e["name"] = rename.get(e["name"], e["name"])
    manifest["baseline"] = rename.get(manifest["baseline"], manifest["baseline"])
    for fam in manifest["families"]:
        fam["executors"] = [rename.get(e, e) for e in fam["executors"]]
        for axis in fam["axes"]:
            if "executors" in axis:
                axis["executors"] = [rename.get(e, e) for e in axis["executors"]]
        for ref in fam["references"]:
            ref["compare_to"] = [rename.get(e, e) for e in ref["compare_to"]]
    data["context"]["parbench_manifest"] = json.dumps(manifest)
    for b in data["benchmarks"]:
        parts = b["run_name"].split("/")
        parts[1] = rename.get(parts[1], parts[1])
        b["name"] = b["run_name"] = "/".join(parts)
    return data


def test_like_with_like_pairs_process_pools_by_dispatch_mode(cli, tmp_path):
    """bench's process pool and Python's, each in both dispatch modes: each mode's METGs side
    by side with their ratio; a run without the dispatch axis pairs with nothing."""
    bench = write_json(tmp_path, "bench.json", _with_dispatch(
        {"": [0.01, 0.1, 0.9], "64KiB": [0.01, 0.1, 0.6], "1MiB": [0.01, 0.05, 0.2]}))
    python = _with_dispatch({"": [0.001, 0.01, 0.55], "64KiB": [0.1] * 3, "1MiB": [0.1] * 3},
                            {**KNOWN, ("processes", ""): [0.01, 0.2, 0.8]})
    python = write_json(tmp_path, "python.json", _renamed(python, {
        "serial": "py_serial", "threads": "py_threads", "processes": "py_processes"}))
    status, out, err = cli("granularity", bench, python)
    assert status == 0, err
    table = out.split("Like with like: ")[1]
    assert table.startswith("process pools that send tasks the same way")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| dispatch | workers | METG of each | ratio |"
    # adaptive: bench's 215 µs (0.3 -> 0.6), Python's 100 µs (0.2 -> 0.8, halfway).
    assert rows[1] == (
        "| adaptive | 2 | processes (`bench.json`, 2,000 per message): 215 µs; py_processes "
        "(`python.json`, 2,000 per message): 100 µs | processes / py_processes = 2.15 |")
    # per_task: bench's 100 µs, Python's 0.01 -> 0.55 reaches 0.5 at 49/54 of the decades.
    python_ns = 1e4 * 100 ** (0.49 / 0.54)
    assert rows[2] == (
        "| per_task | 2 | processes (`bench.json`, 1 per message): 100 µs; py_processes "
        f"(`python.json`, 1 per message): {format_ns(python_ns)} | py_processes / processes "
        f"= {python_ns / 1e5:.3g} |")
    # The run of before (no dispatch axis) pairs with nothing.
    old = write_json(tmp_path, "old.json", _known(KNOWN))
    assert "Like with like" not in cli("granularity", old, python)[1]


def test_the_report_opens_with_the_verdict_and_shows_the_table_and_plot(cli, tmp_path):
    path = write_json(tmp_path, "known.json", _known(KNOWN))
    status, _, err = cli("report", path, "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    body = page.split("<h1>parbench report</h1>")[1]
    answer = body.split("<nav>")[0]  # the answer comes before the table of contents
    assert "<p class='verdict'>On this machine (2 CPUs): threads pay off from tasks of 1 µs" \
        in answer
    assert "<h2 id='metg'>When does it pay off? METG" in page
    # Which efficiency the table uses, and the METG under both definitions.
    assert "Efficiency, parbench&#x27;s (the default)" in page
    assert "<th>METG, Task Bench's (granularity)</th>" in page
    assert "alt=\"efficiency against task duration\"" in page
    # A run without a duration sweep has no verdict.
    status, _, _ = cli("report", fixture("reps6.json"), "--out", str(tmp_path / "c.html"))
    assert "class='verdict'" not in (tmp_path / "c.html").read_text(encoding="utf-8")


def test_disturbed_points_are_flagged_in_the_table_and_the_verdict(cli, tmp_path):
    data = _known(KNOWN)
    for b in data["benchmarks"]:
        if b["run_name"].startswith("granularity/threads/workers:2/task:10us"):
            b["interference_cpu_frac"] = 0.3
    status, out, _ = cli("granularity", write_json(tmp_path, "d.json", data))
    row = next(line for line in out.splitlines() if line.startswith("| threads |"))
    assert row.endswith(f"| {MARK} 1 of 3 points disturbed |")
    assert f"{MARK} 1 of these 12 measurements ran while other processes" in out


def test_the_plot_is_written_as_png_and_svg(cli, tmp_path):
    status, _, err = cli("granularity", write_json(tmp_path, "k.json", _known(KNOWN)),
                         "--out-plot", str(tmp_path / "g" / "metg"))
    assert status == 0, err
    assert "wrote " in err
    assert (tmp_path / "g" / "metg.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "g" / "metg.svg").read_text(encoding="utf-8")
    for label in ("threads (METG 1 µs)", "processes, 1 MiB (not reached)", "50% efficiency"):
        assert label in svg
    assert "parbench's: against serial" in svg
    status, _, err = cli("granularity", write_json(tmp_path, "k.json", _known(KNOWN)),
                         "--efficiency", "taskbench", "--out-plot", str(tmp_path / "g" / "tb"))
    assert status == 0, err
    svg = (tmp_path / "g" / "tb.svg").read_text(encoding="utf-8")
    assert "threads (METG 2 µs)" in svg and "task granularity" in svg


def test_several_files_each_against_its_own_baseline(cli, tmp_path):
    # A second file whose executors and baseline have other names (as the anchors' Python
    # sweep: py_serial, py_threads): each file's curves use its own manifest's baseline.
    data = _known(KNOWN)
    manifest = manifest_of(data)
    rename = {"serial": "py_serial", "threads": "py_threads", "processes": "py_processes"}
    for e in manifest["executors"]:
        e["name"] = rename.get(e["name"], e["name"])
    manifest["baseline"] = "py_serial"
    for fam in manifest["families"]:
        fam["executors"] = [rename.get(e, e) for e in fam["executors"]]
        for axis in fam["axes"]:
            if "executors" in axis:
                axis["executors"] = [rename.get(e, e) for e in axis["executors"]]
        for ref in fam["references"]:
            ref["compare_to"] = [rename.get(e, e) for e in ref["compare_to"]]
    data["context"]["parbench_manifest"] = json.dumps(manifest)
    for b in data["benchmarks"]:
        parts = b["run_name"].split("/")
        parts[1] = rename[parts[1]]
        b["name"] = b["run_name"] = "/".join(parts)
    first = write_json(tmp_path, "bench.json", _known(KNOWN))
    second = write_json(tmp_path, "python.json", data)
    status, out, err = cli("granularity", first, second)
    assert status == 0, err
    assert "| `python.json` | py_threads | 2 | none | 1 µs |" in out
    assert "| `bench.json` | threads | 2 | none | 1 µs |" in out
    assert f"**{second}:** On this machine (2 CPUs): py_threads pay off from tasks of 1 µs" in out


def test_a_run_without_a_sweep_is_one_line_and_status_2(cli):
    status, out, err = cli("granularity", fixture("reps6.json"))
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "has no task-duration sweep" in err and "reps6.json" in err


def test_a_point_without_a_baseline_exits_1_naming_it(cli, tmp_path):
    data = load_fixture("granularity.json")
    data["benchmarks"] = [b for b in data["benchmarks"]
                          if b["run_name"] != "granularity/serial/task:10us/real_time"]
    status, out, err = cli("granularity", write_json(tmp_path, "hole.json", data))
    assert status == 1
    assert "granularity/threads/workers:2/task:10us: no serial baseline" in err
    assert "| threads | 2 | none |" in out and "without a time (no serial baseline)" in out


def test_names_come_from_the_manifest_not_from_the_tools(tmp_path):
    # The sweep is found by the counter the manifest declares, not by the family's name.
    data = planted(load_fixture("granularity.json"))
    manifest = manifest_of(data)
    for fam in manifest["families"]:
        if fam["name"] == "granularity":
            fam["name"] = "grain"
    data["context"]["parbench_manifest"] = json.dumps(manifest)
    for b in data["benchmarks"]:
        b["name"] = b["name"].replace("granularity/", "grain/")
        b["run_name"] = b["run_name"].replace("granularity/", "grain/")
    run = load_run(write_json(tmp_path, "grain.json", data))
    assert {c.family for c in curves(run)} == {"grain"} and len(curves(run)) == 4
