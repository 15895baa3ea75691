"""The tools on any Google Benchmark JSON (GitHub issue 14), read from what a real Google
Benchmark program (gbench_program/prog.cc, built by conftest) writes: ->Threads(1)->Threads(2),
repetitions, aggregates only, Complexity(), SkipWithError, user counters, manual time. The tests
check names, statuses and fields, never timings; a planted slowdown is 100 times the work."""

import json
import math
import statistics

import pytest
from conftest import fixture, load_fixture, planted, write_json

REPS3 = ("--benchmark_repetitions=3",)
REPS5 = ("--benchmark_repetitions=5",)
AGGREGATES_ONLY = ("--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true")
# The benchmarks that neither fail nor fit a complexity (for gates that must be able to pass).
PLAIN = "--benchmark_filter=BM_(Work|Copy|Fill)"
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def _entries(path, run_name, key="real_time"):
    """The per-repetition values of one benchmark, in seconds, read straight from the file."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return [b[key] * UNITS[b["time_unit"]] for b in data["benchmarks"]
            if b["run_name"] == run_name and b["run_type"] == "iteration"]


def _json(cli, *args):
    status, out, err = cli(*args)
    assert status in (0, 1, 3), err
    return status, json.loads(out)


def _by_name(result):
    return {r["name"]: r for r in result["benchmarks"]}


# --- defect 1: distinct benchmarks stay distinct ---------------------------------------------

def test_threads_variants_are_distinct_benchmarks_everywhere(cli, gbench_json):
    run = gbench_json(*REPS3)
    status, out, err = cli("export", run, "--format", "github-smaller")
    assert status == 0, err
    rows = {e["name"]: e for e in json.loads(out)}
    assert rows["BM_Work/threads:1"]["extra"] == "3 repetitions"
    assert rows["BM_Work/threads:2"]["extra"] == "3 repetitions"
    _, result = _json(cli, "compare", run, run, "--format", "json")
    assert {"BM_Work/threads:1", "BM_Work/threads:2"} <= set(_by_name(result))
    assert _by_name(result)["BM_Work/threads:2"]["base_repetitions"] == 3
    status, out, err = cli("machines", run, run)
    assert status == 0, err
    assert "| `BM_Work/threads:1` |" in out and "| `BM_Work/threads:2` |" in out


# --- defect 2: a gate that cannot pass by accident -------------------------------------------

@pytest.mark.parametrize("flags,why", [
    (REPS3, "3 vs 3 repetitions cannot reach p < 0.05 (needs 4+ per side)"),
    ((), "1 vs 1 repetitions: the U test needs 2+ per side (4+ to reach p < 0.05)"),
    (AGGREGATES_ONLY, "base holds aggregates only (no per-repetition times)"),
])
def test_a_gate_that_could_test_nothing_is_inconclusive_even_for_100x(
        cli, gbench_json, flags, why):
    base = gbench_json(*flags, PLAIN)
    new = gbench_json(*flags, PLAIN, scale=100)  # 100 times the work
    status, out, err = cli("compare", base, new, "--threshold", "10")
    assert status == 3, out + err
    assert "**INCONCLUSIVE** (exit 3)" in out and "**pass**" not in out
    rows = [line for line in out.splitlines() if line.startswith("| `BM_")]
    assert rows and all(f"not tested: {why}" in r and r.endswith("| inconclusive (> 10%) |")
                        for r in rows), rows
    assert "4+ repetitions per side" in out and "recommends 9+" in out


def test_with_enough_repetitions_the_planted_slowdown_fails_the_gate(cli, gbench_json):
    base, new = gbench_json(*REPS5, PLAIN), gbench_json(*REPS5, PLAIN, scale=100)
    status, result = _json(cli, "compare", base, new, "--threshold", "10", "--format", "json")
    assert status == 1 and result["gate"] == {"result": "fail", "exit_status": 1,
                                              "threshold_only": False}
    work = _by_name(result)["BM_Work/threads:1"]
    assert work["verdict"] == "slower" and work["gate"] == "fail" and work["reason"] is None


def test_the_threshold_only_rule_is_opt_in_and_judges_untested_benchmarks(cli, gbench_json):
    base, new = gbench_json(PLAIN), gbench_json(PLAIN, scale=100)
    status, out, _ = cli("compare", base, new, "--threshold", "10", "--threshold-only")
    assert status == 1 and "**FAIL** (exit 1)" in out and "threshold-only rule" in out
    # The same rule passes a run against itself: nothing changed.
    status, out, _ = cli("compare", base, base, "--threshold", "10", "--threshold-only")
    assert status == 0 and "**pass** (exit 0)" in out
    status, _, err = cli("compare", base, new, "--threshold-only")
    assert status == 2 and "--threshold-only" in err and err.count("\n") == 1


def test_a_wider_alpha_lets_three_repetitions_be_tested(cli, gbench_json):
    run = gbench_json(*REPS3, PLAIN)
    _, result = _json(cli, "compare", run, run, "--alpha", "0.2", "--format", "json")
    assert result["alpha"] == 0.2 and result["repetitions_needed"] == 3
    assert all(r["reason"] is None and r["verdict"] == "no significant change"
               for r in result["benchmarks"])
    for alpha in ("0", "1", "nan"):
        status, _, err = cli("compare", run, run, "--alpha", alpha)
        assert status == 2 and "--alpha" in err and err.count("\n") == 1


# --- defect 3: the gbench export means what Google Benchmark's fields mean --------------------

def test_gbench_export_keeps_caches_and_writes_cpu_time_and_iterations_honestly(
        cli, gbench_json):
    for flags, repetitions in ((REPS3, 3), ((), 1)):
        run = gbench_json(*flags)
        status, out, err = cli("export", run, "--format", "gbench")
        assert status == 0, err
        data = json.loads(out)
        with open(run, encoding="utf-8") as f:
            original = json.load(f)
        assert data["context"]["caches"] == original["context"]["caches"]
        rows = {b["name"]: b for b in data["benchmarks"]}
        row = rows["BM_Work/threads:2"]
        real = _entries(run, "BM_Work/real_time/threads:2")
        cpu = _entries(run, "BM_Work/real_time/threads:2", "cpu_time")
        assert math.isclose(row["real_time"], statistics.median(real) * 1e9)
        assert math.isclose(row["cpu_time"], statistics.median(cpu) * 1e9)
        assert row["threads"] == 2 and row["repetitions"] == repetitions
        if repetitions == 1:  # that run itself: its own iteration count
            assert row["run_type"] == "iteration"
            assert row["iterations"] == next(b["iterations"] for b in original["benchmarks"]
                                             if b["name"] == "BM_Work/real_time/threads:2")
        else:  # a median aggregate, whose iterations are the repetitions it aggregates
            assert row["run_type"] == "aggregate" and row["aggregate_name"] == "median"
            assert row["iterations"] == 3


# --- defect 4: github-smaller keeps precision -------------------------------------------------

def test_github_smaller_keeps_sub_nanosecond_precision(cli, gbench_json):
    run = gbench_json(*REPS3)
    rows = {e["name"]: e for e in json.loads(cli("export", run, "--format",
                                                 "github-smaller")[1])}
    nothing = rows["BM_Nothing"]
    assert nothing["unit"] == "ns" and nothing["value"] > 0
    assert math.isclose(nothing["value"], statistics.median(_entries(run, "BM_Nothing")) * 1e9)
    assert rows["BM_Manual"]["unit"] == "us", "manual time is reported in its own unit"


# --- defect 5: counts and labels --------------------------------------------------------------

def test_the_geometric_mean_counts_only_what_it_used(cli, gbench_json):
    run = gbench_json(*REPS3)
    with open(run, encoding="utf-8") as f:
        data = json.load(f)
    timed = {b["run_name"] for b in data["benchmarks"]
             if b["run_type"] == "iteration" and not b.get("error_occurred")}
    status, out, _ = cli("compare", run, run)
    assert f"over {len(timed)} benchmark(s) (1 without a time on both sides left out)" in out
    _, result = _json(cli, "compare", run, run, "--format", "json")
    assert result["geomean"] == {"ratio": 1.0, "benchmarks": len(timed)}


def test_aggregates_and_complexity_fits_are_not_called_errors(cli, gbench_json):
    status, out, _ = cli("compare", gbench_json(*AGGREGATES_ONLY), gbench_json(*AGGREGATES_ONLY))
    assert status == 0
    for line in out.splitlines():
        if line.startswith("| `BM_") and "BM_Error" not in line:
            assert "error" not in line and "aggregates only" in line, line
    assert "Complexity fits, not times (not compared) (1): `BM_Linear`" in out
    assert "| `BM_Linear` |" not in out
    assert "error in base: could not reach the test server" in out  # a real error stays one


# --- defect 6: refusals -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-5", "ten"])
def test_a_threshold_that_is_not_a_finite_percentage_is_refused(cli, gbench_json, value):
    run = gbench_json(*REPS3)
    status, out, err = cli("compare", run, run, f"--threshold={value}")
    assert status == 2 and out == "" and err.count("\n") == 1 and "--threshold" in err


def test_machines_with_nothing_in_common_are_refused(cli, gbench_json):
    run = gbench_json(*REPS3)
    status, out, err = cli("machines", fixture("run.json"), run)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert run in err and "shares no benchmark" in err


def test_a_report_without_parbench_benchmarks_is_refused(cli, gbench_json, tmp_path):
    run = gbench_json(*REPS3)
    status, out, err = cli("report", run, "--out", str(tmp_path / "r.html"))
    assert status == 2 and err.count("\n") == 1 and "no parbench benchmarks" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("fmt", ["github-smaller", "github-bigger", "gbench", "bmf"])
def test_an_export_that_would_be_empty_is_refused(cli, gbench_json, fmt):
    run = gbench_json("--benchmark_filter=BM_Error")  # every benchmark failed
    status, out, err = cli("export", run, "--format", fmt)
    assert status == 2 and out == "" and err.count("\n") == 1 and "would be empty" in err


# --- defect 7: damaged input is one line, exit 2 ----------------------------------------------

COMMANDS = ["speedup", "plot", "export", "goals", "report", "compare", "machines"]


def _args(command, path, tmp_path):
    return {"speedup": ["speedup", path], "plot": ["plot", path, "--out", str(tmp_path / "p")],
            "export": ["export", path, "--format", "bmf"], "goals": ["goals", path],
            "report": ["report", path, "--out", str(tmp_path / "r.html")],
            "compare": ["compare", path, path], "machines": ["machines", path, path]}[command]


def _damaged(gbench_json, tmp_path, how):
    with open(gbench_json(*REPS3), encoding="utf-8") as f:
        data = json.load(f)
    if how == "all times 0":
        for b in data["benchmarks"]:
            for key in ("real_time", "cpu_time"):
                if key in b:
                    b[key] = 0
    elif how == "time_unit a list":
        data["benchmarks"][0]["time_unit"] = ["ns"]
    elif how == "run_name a number":
        data["benchmarks"][0]["run_name"] = 42
    elif how == "iterations a string":
        data["benchmarks"][0]["iterations"] = "many"
    return write_json(tmp_path, "damaged.json", data)


@pytest.mark.parametrize("how,expect", [
    ("all times 0", "only zero times"),
    ("time_unit a list", "time_unit that is not a string"),
    ("run_name a number", "run_name that is not a string"),
    ("iterations a string", "iterations that is not an integer"),
    ("deeply nested", "nested too deeply"),
])
@pytest.mark.parametrize("command", COMMANDS)
def test_damaged_input_is_one_line_and_status_2(cli, gbench_json, tmp_path, command, how, expect):
    if how == "deeply nested":
        path = str(tmp_path / "deep.json")
        (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    else:
        path = _damaged(gbench_json, tmp_path, how)
    status, out, err = cli(*_args(command, path, tmp_path))
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path in err and expect in err, err


def test_a_zero_time_in_a_goal_is_a_missed_goal_not_a_division_by_zero(cli, tmp_path):
    data = planted(load_fixture("executors.json"))  # quiet: the verdict has no flag
    for b in data["benchmarks"]:
        if b.get("run_name", b["name"]).startswith("roundtrip/raw_pipe"):
            b["real_time"] = 0.0
    path = write_json(tmp_path, "run.json", data)
    status, out, err = cli("goals", path)
    assert status == 1 and "Traceback" not in err
    row = next(line for line in out.splitlines() if "single-task round trip" in line)
    assert "measured 0 s" in row and row.endswith("| **missed** |")
    status, _, err = cli("report", path, "--out", str(tmp_path / "r.html"))
    assert status == 0, err


@pytest.mark.parametrize("damage,expect", [
    (lambda e: e.update(args=[1, 2]) if e.get("ph") == "X" else None, "'args' that is not an"),
    (lambda e: e.update(tid="w0") if e.get("ph") == "X" else None, "'tid' that is not an int"),
    (lambda e: e.update(pid=[1]) if e.get("ph") == "X" else None, "'pid' that is not an int"),
    (lambda e: e.update(dur=-5) if e.get("cat") == "task" else None, "negative 'dur'"),
    (lambda e: e["args"].update(workers="two") if e.get("cat") == "iteration" else None,
     "'workers' that is not an int"),
], ids=["args a list", "tid a string", "pid a list", "negative dur", "workers a string"])
def test_a_damaged_trace_is_one_line_and_status_2(cli, tmp_path, damage, expect):
    trace = load_fixture("run.trace.json")
    for event in trace["traceEvents"]:
        damage(event)
    path = write_json(tmp_path, "t.trace.json", trace)
    for args in (["timeline", path, "--out-dir", str(tmp_path / "t")],
                 ["report", fixture("run.json"), "--trace", path, "--out", str(tmp_path / "r")]):
        status, _, err = cli(*args)
        assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert path in err and expect in err, err


# --- additions: metric, JSON, families, merged files, per-benchmark thresholds ---------------

def test_cpu_time_can_be_compared_instead_of_real_time(cli, gbench_json):
    run = gbench_json(*REPS3, PLAIN)
    for metric, key in (("cpu_time", "cpu_time"), ("real_time", "real_time")):
        _, result = _json(cli, "compare", run, run, "--metric", metric, "--format", "json")
        row = _by_name(result)["BM_Work/threads:2"]
        expected = statistics.median(_entries(run, "BM_Work/real_time/threads:2", key))
        assert result["metric"] == metric and math.isclose(row["base_median_s"], expected)


def test_two_families_inside_one_file_are_compared_like_compare_py_filters(cli, gbench_json):
    run = gbench_json(*REPS5, PLAIN)
    _, result = _json(cli, "compare", run, "--families", "^BM_Copy", "^BM_Fill",
                      "--format", "json")
    rows = _by_name(result)
    assert set(rows) == {"4096", "65536"}
    copy_median = statistics.median(_entries(run, "BM_Copy/4096"))
    fill_median = statistics.median(_entries(run, "BM_Fill/4096"))
    assert math.isclose(rows["4096"]["base_median_s"], copy_median)
    assert math.isclose(rows["4096"]["new_median_s"], fill_median)
    # parbench's own use: one executor against another in one run.
    status, out, err = cli("compare", fixture("reps6.json"), "--families", "cpu/threads",
                           "cpu/processes")
    assert status == 0, err
    assert "| `workers:2` |" in out and "`cpu/processes in " in out
    status, _, err = cli("compare", run, "--families", "^BM_Copy", "^BM_Nope")
    assert status == 2 and "no benchmark matching '^BM_Nope'" in err


def test_repetitions_from_several_files_of_one_configuration_make_one_sample(
        cli, gbench_json, tmp_path):
    a, b = gbench_json(*REPS3, PLAIN, tag="a"), gbench_json(*REPS3, PLAIN, tag="b")
    c, d = gbench_json(*REPS3, PLAIN, tag="c"), gbench_json(*REPS3, PLAIN, tag="d")
    status, result = _json(cli, "compare", "--base", a, b, "--new", c, d, "--format", "json")
    rows = _by_name(result)
    assert rows["BM_Work/threads:1"]["base_repetitions"] == 6
    assert rows["BM_Work/threads:1"]["new_repetitions"] == 6
    assert all(r["reason"] is None for r in rows.values()), "6 vs 6 can be tested"
    expected = statistics.median(_entries(a, "BM_Work/real_time/threads:1")
                                 + _entries(b, "BM_Work/real_time/threads:1"))
    assert math.isclose(rows["BM_Work/threads:1"]["base_median_s"], expected)
    # Output file names, dates, loads and noise probes differ between runs of one configuration.
    with open(b, encoding="utf-8") as f:
        same = json.load(f)
    same["context"].update(parbench_timeline_out="b.trace.json", date="tomorrow",
                           parbench_noise_efficiency="0.5", parbench_noise_efficiency_end="0.6")
    status, _, err = cli("compare", "--base", a, write_json(tmp_path, "same.json", same),
                         "--new", c)
    assert status == 0, err
    # Another configuration is refused, naming the setting that differs.
    with open(b, encoding="utf-8") as f:
        other = json.load(f)
    other["context"]["library_build_type"] = "release"
    status, _, err = cli("compare", "--base", a, write_json(tmp_path, "o.json", other),
                         "--new", c)
    assert status == 2 and "library_build_type" in err and err.count("\n") == 1
    # Aggregates only cannot be merged into a sample.
    agg = gbench_json(*AGGREGATES_ONLY)
    status, _, err = cli("compare", "--base", agg, agg, "--new", c)
    assert status == 2 and "aggregates" in err and err.count("\n") == 1


def test_per_benchmark_thresholds_come_from_a_file(cli, gbench_json, tmp_path):
    run = gbench_json(*REPS5)
    rules = tmp_path / "thresholds.txt"
    rules.write_text("# pattern threshold\nBM_Work/threads:2 25%\nBM_Work 15\n"
                     "BM_Error off   # always fails: not a speed question\n")
    status, result = _json(cli, "compare", run, run, "--threshold", "5", "--threshold-file",
                           str(rules), "--format", "json")
    rows = _by_name(result)
    assert rows["BM_Work/threads:2"]["threshold_pct"] == 25
    assert rows["BM_Work/threads:1"]["threshold_pct"] == 15
    assert rows["BM_Copy/4096"]["threshold_pct"] == 5
    assert rows["BM_Error"]["threshold_pct"] is None and rows["BM_Error"]["gate"] is None
    assert status == 0 and result["gate"]["result"] == "pass"
    for bad, expect in (("BM_Work\n", ":1: is not 'PATTERN THRESHOLD'"),
                        ("BM_Work nan\n", ":1: must be a finite percentage"),
                        ("# only\nBM_( 5\n", ":2: 'BM_(' is not a regular expression")):
        rules.write_text(bad)
        status, _, err = cli("compare", run, run, "--threshold-file", str(rules))
        assert status == 2 and expect in err and err.count("\n") == 1, err


def test_p_values_are_scipys_mann_whitney_on_the_files_repetitions(cli, gbench_json):
    # What Google's compare.py computes: mannwhitneyu(two-sided) over every repetition.
    from scipy.stats import mannwhitneyu
    base, new = gbench_json(*REPS5, PLAIN), gbench_json(*REPS5, PLAIN, tag="again")
    _, result = _json(cli, "compare", base, new, "--format", "json")
    for run_name, name in (("BM_Work/real_time/threads:1", "BM_Work/threads:1"),
                           ("BM_Copy/65536", "BM_Copy/65536")):
        expected = mannwhitneyu(_entries(base, run_name), _entries(new, run_name),
                                alternative="two-sided").pvalue
        assert math.isclose(_by_name(result)[name]["p_value"], expected)


def test_nan_counters_as_google_benchmark_writes_them_are_read_and_left_out(cli, gbench_json):
    # BM_Counters sets a NaN counter and an always-0 one (whose cv aggregate is NaN): Google
    # Benchmark writes the token NaN, which strict JSON does not allow. Times must be numbers;
    # a counter that is not is left out.
    run = gbench_json(*REPS3, "--benchmark_filter=BM_Counters")
    with open(run, encoding="utf-8") as f:
        assert "NaN" in f.read()
    for fmt in ("gbench", "github-smaller", "bmf"):  # github-bigger: no known direction
        status, out, err = cli("export", run, "--format", fmt)
        assert status == 0 and "NaN" not in out, err
    row = json.loads(cli("export", run, "--format", "gbench")[1])["benchmarks"][0]
    assert row["zero"] == 0 and row["depth"] == 3 and "unknown" not in row
    assert row["items"] > 0
    status, out, err = cli("compare", run, run)
    assert status == 0 and "| `BM_Counters` |" in out, err
