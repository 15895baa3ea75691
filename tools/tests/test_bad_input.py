"""Bad input: a one-line error naming the file and the problem, exit status 2, no traceback."""

import pytest
from conftest import fixture

from parbench_tools.gbench import load_run


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES = {
    "missing": (None, "cannot read"),
    "empty": ("", "is empty"),
    "truncated": ('{"context": {}, "benchmarks": [{"name": "cpu/ser', "not valid JSON"),
    "not_gbench": ('{"hello": "world"}', "not a Google Benchmark JSON file"),
    "nan": ('{"context": {}, "benchmarks": [{"name": "cpu/serial", "real_time": NaN, '
            '"time_unit": "ms"}]}', "NaN"),
    "infinity": ('{"context": {}, "benchmarks": [{"name": "cpu/serial", "real_time": Infinity, '
                 '"time_unit": "ms"}]}', "Infinity"),
    "bad_unit": ('{"context": {}, "benchmarks": [{"name": "cpu/serial", "real_time": 1, '
                 '"time_unit": "fortnights"}]}', "time_unit"),
    "list": ("[1, 2, 3]", "not a Google Benchmark JSON file"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["speedup", "plot", "export", "goals", "report", "compare",
                                     "machines"])
def test_bad_files_give_one_line_and_status_2(cli, tmp_path, case, command):
    text, expect = CASES[case]
    path = str(tmp_path / "missing.json") if text is None else _write(tmp_path, "bad.json", text)
    args = {
        "speedup": ["speedup", path],
        "plot": ["plot", path, "--out", str(tmp_path / "p")],
        "export": ["export", path, "--format", "bmf"],
        "goals": ["goals", path],
        "report": ["report", path, "--out", str(tmp_path / "r.html")],
        "compare": ["compare", fixture("reps6.json"), path],
        "machines": ["machines", fixture("run.json"), path],
    }[command]
    status, out, err = cli(*args)
    assert status == 2
    assert err.count("\n") == 1, err
    assert path in err and expect in err
    assert "Traceback" not in err


def test_a_bad_trace_is_reported_like_a_bad_run(cli, tmp_path):
    status, _, err = cli("timeline", _write(tmp_path, "t.json", '{"traceEvents": 5}'),
                         "--out-dir", str(tmp_path))
    assert status == 2 and "not a Chrome trace" in err


def test_an_unknown_format_is_a_usage_error(cli):
    status, _, err = cli("export", fixture("run.json"), "--format", "xml")
    assert status == 2 and "invalid choice" in err


def test_nan_in_an_aggregate_is_what_google_benchmark_writes_and_is_read(tmp_path):
    # With --benchmark_repetitions Google Benchmark writes the cv of a counter whose mean is 0
    # as NaN: the run is still read (aggregates other than the median are not used).
    rep = ('{{"name": "cpu/serial/real_time", "run_name": "cpu/serial/real_time", '
           '"run_type": "iteration", "repetitions": 2, "repetition_index": {i}, '
           '"iterations": 1, "real_time": {t}, "cpu_time": {t}, "time_unit": "ms", '
           '"steal_frac": 0}}')
    cv = ('{"name": "cpu/serial/real_time_cv", "run_name": "cpu/serial/real_time", '
          '"run_type": "aggregate", "aggregate_name": "cv", "aggregate_unit": "percentage", '
          '"repetitions": 2, "iterations": 2, "real_time": 0.01, "cpu_time": 0.01, '
          '"time_unit": "ms", "steal_frac": NaN}')
    text = ('{"context": {}, "benchmarks": [' + rep.format(i=0, t=10.0) + ", " +
            rep.format(i=1, t=11.0) + ", " + cv + "]}")
    run = load_run(_write(tmp_path, "reps.json", text))
    bench = run.benchmarks["cpu/serial"]
    assert bench.median == pytest.approx(0.0105)
    assert bench.counters["steal_frac"] == [0.0, 0.0]
