"""A run a person can read: a verdict per family in words, cost families in their own unit
against their floor, the ideal line capped at the usable CPUs, a text format that fits, and
the profile said and respected. Runs are planted with known medians (3 repetitions each)."""

import json

from conftest import fixture, write_json

from parbench_tools.gbench import load_run
from parbench_tools.plots import ideal_line, plotted_tables
from parbench_tools.speedup import speedup_tables
from parbench_tools.verdict import verdicts


def _bench(name: str, ms: float, **counters) -> list[dict]:
    """Three repetitions of `name` around `ms` (±0.5%)."""
    return [{"name": f"{name}/real_time", "run_name": f"{name}/real_time",
             "run_type": "iteration", "repetitions": 3, "repetition_index": i,
             "iterations": 1, "real_time": ms * f, "cpu_time": ms * f, "time_unit": "ms",
             **counters} for i, f in enumerate((0.995, 1.0, 1.005))]


def _run(tmp_path, benches: dict, name="run.json", **context) -> str:
    data = {"context": {"parbench_usable_cpus": "2", **context},
            "benchmarks": [e for n, (ms, c) in benches.items() for e in _bench(n, ms, **c)]}
    return write_json(tmp_path, name, data)


CPU = {"cpu/serial": (320, {}), "cpu/threads/workers:1": (321, {}),
       "cpu/threads/workers:2": (161.6, {}), "cpu/threads/workers:4": (162, {}),
       "cpu/threads/workers:8": (163, {}), "cpu/processes/workers:1": (322, {}),
       "cpu/processes/workers:2": (161.7, {}), "cpu/processes/workers:4": (163, {}),
       "cpu/processes/workers:8": (164, {})}
API = {"api/serial": (320, {}), "api/threads/workers:1": (320, {}),
       "api/threads/workers:2": (160, {}), "api/threads/workers:8": (40.5, {})}
COSTS = {"overhead/serial": (0.64, {"ns_per_task": 64.0}),
         "overhead/processes/workers:2": (1.75, {"ns_per_task": 175.0}),
         "roundtrip/serial": (0.000686, {}), "roundtrip/processes/workers:2": (0.0483, {}),
         "roundtrip/raw_pipe": (0.0278, {}),
         "transfer/serial/size:16MiB": (2.7, {"bytes_per_second": 50 * 2.0 ** 30}),
         "transfer/processes/workers:2/size:16MiB": (150.0, {"bytes_per_second": 2.0 ** 30})}


def test_a_family_verdict_groups_equal_speedups_and_says_what_more_workers_did(tmp_path):
    run = load_run(_run(tmp_path, {**CPU, **API}))
    found = verdicts(run, speedup_tables(run))
    assert "cpu: threads and processes 1.98× at 2 workers; more workers add nothing on 2 CPUs." \
        in found, found
    assert ("api: threads 2× at 2 workers; more workers than CPUs pay off (the tasks wait): "
            "threads reaches 7.9× at 8.") in found, found


def test_a_verdict_says_no_gain_a_loss_and_a_disturbed_run(tmp_path):
    benches = {"io/serial": (100, {}), "io/threads/workers:2": (95, {}),
               "io/processes/workers:2": (250, {"interference_cpu_frac": 0.3})}
    run = load_run(_run(tmp_path, benches))
    assert verdicts(run, speedup_tables(run)) == [
        "io: threads 1.05× (no gain); processes 0.4× (slower than the baseline) at 2 workers "
        "(⚠ 1 of 3 ran disturbed)."]


def test_cost_families_are_read_in_their_own_unit_against_their_floor(tmp_path):
    run = load_run(_run(tmp_path, COSTS))
    tables = {t.label: t for t in speedup_tables(run)}
    overhead = tables["overhead"].cell("processes", 2)
    assert overhead.cost_text == "175 ns per task"
    assert (overhead.floor, round(overhead.floor_ratio, 2)) == ("serial", 2.73)
    roundtrip = tables["roundtrip"].cell("processes", 2)
    assert roundtrip.cost_text == "48.3 µs per round trip", "the time per iteration"
    assert roundtrip.floor == "roundtrip/raw_pipe" and round(roundtrip.floor_ratio, 2) == 1.74
    transfer = tables["transfer size:16MiB"].cell("processes", 2)
    assert transfer.cost_text == "1 GiB/s"
    assert round(transfer.floor_ratio) == 50, "50 GiB/s against 1 GiB/s: 50 times the cost"
    found = verdicts(run, list(tables.values()))
    assert "overhead: per task, serial 64 ns; at 2 workers processes 175 ns (2.73× serial's)." \
        in found, found


def test_the_manifest_says_which_families_are_costs(tmp_path, cli):
    manifest = {"schema": 1, "baseline": "serial",
                "executors": [{"name": "serial", "traits": {"single_worker": True}},
                              {"name": "threads"}],
                "families": [{"name": "hop", "reading": "cost",
                              "cost": {"per": "per hop", "counter": ""}},
                             {"name": "overhead", "reading": "speedup"}]}
    path = _run(tmp_path, {"hop/serial": (1.0, {}), "hop/threads/workers:2": (3.0, {}),
                           "overhead/serial": (1.0, {}), "overhead/threads/workers:2": (0.5, {})},
                parbench_manifest=json.dumps(manifest))
    tables = {t.label: t for t in speedup_tables(load_run(path))}
    assert tables["hop"].cell("threads", 2).cost_text == "3 ms per hop"
    assert tables["overhead"].cost is None, "the manifest's word beats the old names"
    status, out, _ = cli("speedup", path)
    row = next(line for line in out.splitlines() if line.startswith("| threads | 3 ms ["))
    assert "] 75% per hop, 3× serial's cost (cv 0.5%) |" in row, out


def test_the_ideal_line_is_capped_at_the_usable_cpus_and_read_at_the_measured_counts():
    assert ideal_line([1, 2, 4, 8], 2) == ([1, 2, 4, 8], [1, 2, 2, 2])
    assert ideal_line([4, 8], 2) == ([1, 2, 4, 8], [1, 2, 2, 2]), "the corner at 2 CPUs"
    assert ideal_line([1, 2], 4) == ([1, 2], [1, 2])
    assert ideal_line([1, 2, 4], None) == ([1, 2, 4], [1, 2, 4])


def test_the_plot_has_no_cost_sweep_or_single_point_panel(tmp_path):
    benches = {**CPU, **COSTS, "one/serial": (10, {}), "one/threads/workers:2": (5, {}),
               "granularity/serial/task:1us": (10, {"task_ns_nominal": 1000.0}),
               "granularity/threads/workers:2/task:1us": (5, {"task_ns_nominal": 1000.0}),
               "granularity/threads/workers:4/task:1us": (5, {"task_ns_nominal": 1000.0})}
    run = load_run(_run(tmp_path, benches))
    assert [t.label for t in plotted_tables(run)] == ["cpu"]


def test_the_text_format_fits_its_width_and_opens_with_the_verdicts(tmp_path, cli):
    path = _run(tmp_path, {**CPU, **API, **COSTS})
    for width in (60, 100):
        status, out, _ = cli("speedup", path, "--format", "text", "--width", str(width))
        assert status == 0
        assert all(len(line) <= width for line in out.splitlines()), out
        assert out.index("Verdicts:") < out.index("cpu — serial:")
    status, _, err = cli("speedup", path, "--format", "text", "--width", "20")
    assert status == 2 and "--width" in err and err.count("\n") == 1


def test_the_profile_is_said_in_every_table_header_and_a_quick_run_gets_no_goals(tmp_path, cli):
    left = {"profile": "quick", "workers_left_out": [4, 8], "workers_kept_for": ["api"],
            "axes_left_out": {"transfer": {"size": ["1MiB"]}}}
    path = _run(tmp_path, {**CPU, **COSTS}, parbench_profile="quick",
                parbench_benchmark_repetitions="3", parbench_benchmark_min_time="0.05",
                parbench_profile_left_out=json.dumps(left))
    header = ("Profile quick: 3 repetitions of >= 0.05 s; left out: workers 4,8 (kept for api); "
              "transfer size 1MiB (bench --profile=full measures every point)")
    for args in ((), ("--format", "text", "--width", "200")):
        status, out, _ = cli("speedup", path, *args)
        assert header in out, out
    status, out, err = cli("goals", path)
    assert status == 2 and out == ""
    assert "is a quick run" in err and "--profile=full" in err and err.count("\n") == 1
    status, _, err = cli("report", path, "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    assert "id='goals'" not in (tmp_path / "r.html").read_text()


def test_a_gzip_compressed_run_and_trace_are_read_as_they_are(tmp_path, cli):
    import gzip
    import shutil
    for name in ("run.json", "run.trace.json"):
        with open(fixture(name), "rb") as src, gzip.open(tmp_path / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    status, out, err = cli("timeline", str(tmp_path / "run.trace.json.gz"), "--out-dir",
                           str(tmp_path / "tl"), "--formats", "png")
    assert status == 0, err
    status, _, err = cli("speedup", str(tmp_path / "run.json.gz"))
    assert status in (0, 1), err
