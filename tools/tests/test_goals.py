"""goals: the executors' own speed against parbench's goals, read from one run. The verdict
tests read a quiet copy of the real run (no interference planted); test_trust.py checks the
flags on disturbed ones."""

import json

from conftest import fixture, load_fixture, planted, quiet_fixture


def _variant(tmp_path, change):
    """executors.json, made quiet, with `change(entry)` applied to every benchmark entry."""
    data = planted(load_fixture("executors.json"))
    for entry in data["benchmarks"]:
        change(entry)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _rows(out):
    return [line for line in out.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_every_goal_of_an_executor_run_gets_a_row_and_a_verdict(cli, tmp_path):
    status, out, err = cli("goals", quiet_fixture(tmp_path, "executors.json"))
    rows = _rows(out)
    quantities = [r.split(" | ")[0].lstrip("| ") for r in rows]
    assert quantities == [
        "thread pool dispatch, streamed empty tasks",
        "process pool dispatch, streamed empty tasks",
        "process pool single-task round trip",
        "process pool start-up, 4 workers, one task each",
        "... with 1 GiB of touched parent memory",
        "16 MiB to a process worker and back",
        "cpu scaling at workers = cores (2), threads",
        "cpu scaling at workers = cores (2), processes",
        "api overlap, latency 10 ms, up to 32 workers",
    ]
    missed = [r for r in rows if r.endswith("| **missed** |")]
    assert all(r.endswith("| met |") or r in missed for r in rows)
    # The exit status follows the verdicts, and each miss is named on stderr.
    assert status == (1 if missed else 0)
    assert err.count("missed:") == len(missed)
    assert "noise probe 1.000000" in out  # as planted
    with open(fixture("executors.json"), encoding="utf-8") as f:
        noise = json.load(f)["context"]["parbench_noise_efficiency"]
    assert f"noise probe {noise}" in cli("goals", fixture("executors.json"))[1]


def test_a_slow_api_overlap_is_missed_and_exits_1(cli, tmp_path):
    def slow(entry):
        if entry.get("run_name", entry["name"]).startswith("api/threads/workers:4/"):
            entry["ideal_fraction"] = 0.5
    status, out, err = cli("goals", _variant(tmp_path, slow))
    assert status == 1
    api = next(r for r in _rows(out) if r.startswith("| api overlap"))
    assert "0.500 (4)" in api and api.endswith("| **missed** |")
    assert "missed: api overlap" in err


def test_start_up_with_memory_held_must_stay_within_ten_percent(cli, tmp_path):
    plain = {}

    def record(entry):
        if entry.get("run_name", entry["name"]) == "startup/processes/workers:4/real_time":
            plain[entry.get("aggregate_name", entry.get("repetition_index"))] = entry["real_time"]
    _variant(tmp_path, record)

    def held_at(ratio):
        def change(entry):
            name = entry.get("run_name", entry["name"])
            if name == "startup/processes/workers:4/parent_mem:1GiB/real_time":
                entry["real_time"] = plain[entry.get("aggregate_name",
                                                     entry.get("repetition_index"))] * ratio
        return change

    def verdict(ratio):
        _, out, _ = cli("goals", _variant(tmp_path, held_at(ratio)))
        return next(r for r in _rows(out) if r.startswith("| ... with 1 GiB"))

    assert verdict(1.05).endswith("| met |") and "1.05×" in verdict(1.05)
    assert verdict(1.3).endswith("| **missed** |") and "1.30×" in verdict(1.3)


def test_a_failed_benchmark_is_a_missed_goal_naming_the_error(cli, tmp_path):
    def fail(entry):
        if entry.get("run_name", entry["name"]).startswith("roundtrip/raw_pipe"):
            entry["error_occurred"] = True
            entry["error_message"] = "pipe broke"
    status, out, _ = cli("goals", _variant(tmp_path, fail))
    assert status == 1
    row = next(r for r in _rows(out) if r.startswith("| process pool single-task round trip"))
    assert "pipe broke" in row and row.endswith("| **missed** |")


def test_a_run_without_executor_benchmarks_is_one_line_and_status_2(cli):
    status, out, err = cli("goals", fixture("no_serial.json"))  # cpu threads, no serial
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "none of the executor-speed benchmarks" in err


def test_the_committed_reference_meets_or_misses_as_its_docs_page_says(cli):
    # docs/executor-speed.md's executor table is this command's output for the committed run.
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    path = os.path.join(root, "results", "reference", "executors", "run.json")
    status, out, _ = cli("goals", path)
    with open(os.path.join(root, "docs", "executor-speed.md"), encoding="utf-8") as f:
        page = f.read()
    for row in _rows(out):
        assert row in page, f"docs/executor-speed.md's executor table differs from the run: {row}"


def _python_variant(tmp_path, change):
    data = planted(load_fixture("python.json"))
    for entry in data["benchmarks"]:
        change(entry)
    path = tmp_path / "python_variant.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _set_time(prefix, seconds):
    """A change that gives every entry of `prefix` the real time `seconds`, in its unit."""
    scale = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1.0}

    def change(entry):
        if entry.get("run_name", entry["name"]).startswith(prefix):
            entry["real_time"] = seconds * scale[entry.get("time_unit", "ns")]
    return change


def test_a_python_run_gets_the_gil_plugin_and_interpreter_goals(cli, tmp_path):
    status, out, err = cli("goals", quiet_fixture(tmp_path, "python.json"))
    quantities = [r.split(" | ")[0].lstrip("| ") for r in _rows(out)]
    assert quantities == [
        "thread pool dispatch, streamed empty tasks",
        "process pool dispatch, streamed empty tasks",
        "pure-Python loop, 2 threads (the GIL)",
        "pure-Python loop, 2 processes",
        "example plugin's empty task vs overhead, serial",
        "example plugin's empty task vs overhead, threads",
        "example plugin's empty task vs overhead, processes",
        "Python interpreter start-up per process worker",
    ]
    missed = [r for r in _rows(out) if r.endswith("| **missed** |")]
    assert status == (1 if missed else 0)


def test_threads_that_scale_a_python_loop_miss_the_gil_goal(cli, tmp_path):
    def change(entry):
        _set_time("py_cpu/serial/", 1.0)(entry)
        _set_time("py_cpu/threads/workers:2/", 0.5)(entry)
        _set_time("py_cpu/processes/workers:2/", 0.52)(entry)
    status, out, err = cli("goals", _python_variant(tmp_path, change))
    rows = {r.split(" | ")[0].lstrip("| "): r for r in _rows(out)}
    assert "2.00×" in rows["pure-Python loop, 2 threads (the GIL)"]
    assert rows["pure-Python loop, 2 threads (the GIL)"].endswith("| **missed** |")
    assert "0.962" in rows["pure-Python loop, 2 processes"]
    assert rows["pure-Python loop, 2 processes"].endswith("| met |")
    assert status == 1 and "missed: pure-Python loop, 2 threads" in err


def test_a_slow_plugin_and_a_slow_interpreter_are_missed(cli, tmp_path):
    def change(entry):
        name = entry.get("run_name", entry["name"])
        if name.startswith("plugin/threads/workers:2/name:example/"):
            entry["ns_per_task"] = 200.0
        if name.startswith("overhead/threads/workers:2/"):
            entry["ns_per_task"] = 100.0
        if "interpreter_start_ms" in entry:
            entry["interpreter_start_ms"] = 40.0
    status, out, err = cli("goals", _python_variant(tmp_path, change))
    rows = {r.split(" | ")[0].lstrip("| "): r for r in _rows(out)}
    plugin = rows["example plugin's empty task vs overhead, threads"]
    assert "200 vs 100 ns per task: 2.00×" in plugin and plugin.endswith("| **missed** |")
    interpreter = rows["Python interpreter start-up per process worker"]
    assert "40.0 ms" in interpreter and interpreter.endswith("| **missed** |")
    assert status == 1
