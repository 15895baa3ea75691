"""machines (issue 23): labels by machine, a short summary first (time ratio per family with
an interval, speedup at workers = usable CPUs, METG, in words), families compared only where
the workload settings agree, --strict, the four formats and the figure; granularity's curves
labelled and coloured by machine. On copies of the real fixtures with known changes, on the
committed reference runs (--tasks 16 vs 64) and on a real Google Benchmark program's JSON."""

import copy
import csv
import gzip
import io
import json
import os

import pytest
from conftest import fixture, load_fixture, planted, write_json

from parbench_tools import plots
from parbench_tools.gbench import load_run
from parbench_tools.machines import (Ratio, default_labels, geomean_ratio, summarize)
from parbench_tools.machines_format import ratio_words

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TASKS_16 = os.path.join(ROOT, "results", "reference", "run.json.gz")
TASKS_64 = os.path.join(ROOT, "results", "reference", "executors", "run.json")


def _machine(data: dict, usable=None, affinity=None, quota=None, scale=1.0, match=None,
             **context) -> dict:
    """A copy of a run as if measured on another machine: its usable CPUs, affinity mask and
    cgroup quota, every time (of the benchmarks `match` accepts) multiplied by `scale`."""
    data = copy.deepcopy(data)
    ctx = data["context"]
    if usable is not None:
        ctx["parbench_usable_cpus"] = str(usable)
    if affinity is not None:
        ctx["parbench_affinity_cpus"] = affinity
    if quota is not None:
        ctx["parbench_cgroup_cpu_quota"] = f"{quota:.6f}"
    ctx.update(context)
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if match is None or match(name):
            for key in ("real_time", "cpu_time"):
                if key in b:
                    b[key] *= scale
    return data


def _three(tmp_path, base: dict, second: dict, third: dict) -> list[str]:
    """The three runs as results/DIR/run.json, as scripts/suite writes them."""
    paths = []
    for name, data in (("a", base), ("b", second), ("c", third)):
        (tmp_path / name).mkdir()
        paths.append(write_json(tmp_path / name, "run.json", data))
    return paths


@pytest.fixture
def quiet_run():
    return planted(load_fixture("run.json"))


def _summary_lines(out: str) -> list[str]:
    start = out.index("## Summary")
    return out[start:out.index("## Machines")].rstrip("\n").split("\n")


def _row(out: str, first_cell: str) -> list[str]:
    line = next(x for x in out.splitlines() if x.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split(" | ")]


# --- labels ----------------------------------------------------------------------------------

def test_three_run_json_files_are_labelled_by_machine_not_by_file_name(
        cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0"),
                   _machine(quiet_run, quota=1.5))
    status, out, err = cli("machines", *paths)
    assert status == 0, err
    header = _row(out, "")
    assert header[1:] == ["vm, 2 CPUs", "vm, CPU 0 of 2", "vm, quota 1.5 of 2 CPUs"]
    assert "| run.json |" not in out and "`run.json`" not in out


def test_labels_of_one_machine_add_the_date_then_the_folder():
    runs = [load_run(fixture("run.json")), load_run(fixture("run.json")),
            load_run(fixture("reps6.json"))]
    runs[2].context["date"] = "2026-12-01T10:00:00+00:00"
    labels = default_labels(runs)
    assert labels == ["vm, 2 CPUs fixtures/run.json #1", "vm, 2 CPUs fixtures/run.json #2",
                      "vm, 2 CPUs 2026-12-01"]


def test_label_names_a_file_and_adds_the_ones_not_given(cli, tmp_path, quiet_run):
    a, b, c = _three(tmp_path, quiet_run, quiet_run, quiet_run)
    status, out, err = cli("machines", a, "--label", f"laptop={a}", "--label", f"ci={b}",
                           "--label", f"server={c}", "--format", "json")
    assert status == 0, err
    result = json.loads(out)
    assert [m["label"] for m in result["machines"]] == ["laptop", "ci", "server"]
    assert [m["file"] for m in result["machines"]] == [a, b, c]
    assert result["reference"] == "laptop"


@pytest.mark.parametrize("args,problem", [
    (["--label", "nolabel"], "--label: takes NAME=FILE, not 'nolabel'"),
    (["--label", "x=A", "--label", "x=B"], "--label: 'x' names two files"),
    (["--label", "x=A", "--label", "y=A"], "is labelled twice"),
])
def test_bad_labels_are_one_line_and_status_2(cli, tmp_path, quiet_run, args, problem):
    a, b, _ = _three(tmp_path, quiet_run, quiet_run, quiet_run)
    args = [x.replace("=A", f"={a}").replace("=B", f"={b}") for x in args]
    status, out, err = cli("machines", a, b, *args)
    assert status == 2 and out == "" and err.count("\n") == 1 and problem in err, err


# --- the summary -----------------------------------------------------------------------------

def test_the_summary_comes_first_and_is_short(cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0", scale=2),
                   _machine(quiet_run, quota=1.5, scale=0.5))
    status, out, err = cli("machines", *paths)
    assert status == 0, err
    assert out.startswith("## Summary")
    assert out.index("## Summary") < out.index("## Machines") < out.index("## Times")
    assert len(_summary_lines(out)) < 40


def test_time_ratio_is_a_geometric_mean_with_an_interval_in_words(cli, tmp_path, quiet_run):
    slower = _machine(quiet_run, scale=2, usable=1, affinity="0")
    paths = _three(tmp_path, quiet_run, slower, _machine(quiet_run, quota=1.5, scale=0.5))
    status, out, err = cli("machines", *paths)
    assert status == 0, err
    cpu = _row(out, "cpu")
    assert cpu[1] == "9", "every cpu benchmark both ran"
    assert cpu[2].startswith("2.00× slower [") and cpu[3].startswith("2.00× faster [")
    low, high = (float(x) for x in cpu[2].split("[")[1].rstrip("]").split(", "))
    assert low <= 2.0 <= high
    assert "- **vm, CPU 0 of 2** against **vm, 2 CPUs**: slower on cpu (2.00×)" in out


def test_the_same_run_twice_is_about_the_same(tmp_path, quiet_run):
    run = load_run(write_json(tmp_path, "r.json", quiet_run))
    s = summarize([run, run], ["a", "b"])
    r = s.time["overhead"]["b"]
    assert r.value == pytest.approx(1.0) and r.low <= 1.0 <= r.high
    assert ratio_words(r).startswith("about the same (1.00× [")


def test_speedup_is_taken_at_workers_equal_to_usable_cpus(cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0"),
                   _machine(quiet_run, quota=1.5))
    status, out, err = cli("machines", *paths, "--format", "json")
    assert status == 0, err
    rows = [r for r in json.loads(out)["summary"] if r["section"] == "speedup"
            and r["family"] == "cpu" and r["executor"] == "threads"]
    assert {r["machine"]: r["workers"] for r in rows} == {
        "vm, 2 CPUs": 2, "vm, CPU 0 of 2": 1, "vm, quota 1.5 of 2 CPUs": 2}
    run = load_run(paths[0])
    serial = run.benchmarks["cpu/serial"].median
    at_one = next(r for r in rows if r["workers"] == 1)
    assert at_one["value"] == pytest.approx(serial / run.benchmarks[
        "cpu/threads/workers:1"].median)


def test_metg_per_executor_when_the_runs_swept_task_durations(cli, tmp_path):
    data = planted(load_fixture("granularity.json"))
    slow = _machine(data, scale=3, match=lambda n: "/processes/" in n)
    status, out, err = cli("machines", write_json(tmp_path, "a.json", data),
                           write_json(tmp_path, "b.json", slow), "--label",
                           f"fast={tmp_path / 'a.json'}", "--label", f"slow={tmp_path / 'b.json'}")
    assert status == 0, err
    assert "**METG (granularity)**: " in out
    summary = "\n".join(_summary_lines(out))
    for payload in ("none", "64 KiB", "1 MiB"):
        assert f"| processes | {payload} |" in summary
    assert "| threads | none |" in summary
    metg = [r for r in json.loads(cli("machines", str(tmp_path / "a.json"),
                                      str(tmp_path / "b.json"), "--format", "json")[1])
            ["summary"] if r["section"] == "metg"]
    assert {(r["executor"], r["payload"]) for r in metg} == {
        ("threads", "none"), ("processes", "none"), ("processes", "64 KiB"),
        ("processes", "1 MiB")}
    assert all(r["workers"] == 2 for r in metg)


def test_geomean_ratio_exact_values_and_when_there_is_no_interval():
    r = geomean_ratio([([2.0, 2.0, 2.0], [1.0, 1.0, 1.0]), ([8.0] * 3, [1.0] * 3)])
    assert r.value == pytest.approx(4.0) and (r.low, r.high) == pytest.approx((4.0, 4.0))
    assert r.count == 2
    two = geomean_ratio([([2.0, 2.1], [1.0, 1.1])])
    assert two.low is None and two.note == "no interval: 2 repetitions"
    assert geomean_ratio([([2.0, 2.1, 1.9], [1.0, 1.1, 0.9])]).low == geomean_ratio(
        [([2.0, 2.1, 1.9], [1.0, 1.1, 0.9])]).low, "the same files give the same interval"
    assert ratio_words(Ratio(None, note="not run on both")) == "not run on both"


# --- comparability ---------------------------------------------------------------------------

def test_a_tasks_64_run_does_not_make_cpu_look_four_times_slower(cli):
    """The committed reference runs: the whole suite at --tasks 16, the executor-speed run at
    --tasks 64 (and --api_latency_ms 10)."""
    status, out, err = cli("machines", TASKS_16, TASKS_64)
    assert status == 0, err
    warning = next(x for x in out.splitlines() if x.startswith("**Warning:**"))
    assert "--tasks 16 vs 64" in warning and "--api_latency_ms 20 vs 10" in warning
    assert "cpu (--tasks 16 vs 64 (16 vs 64 tasks per iteration))" in warning
    assert _row(out, "cpu")[2] == "not comparable"
    assert _row(out, "`cpu/serial`")[-1] == "n/c", "not 3.96"
    assert "not comparable" not in _row(out, "roundtrip")[2], \
        "roundtrip does not read --tasks: its tasks per iteration did not change"
    assert _row(out, "roundtrip")[1] != "0"


def test_a_flag_a_family_owns_leaves_only_that_family_out(cli, tmp_path, quiet_run):
    other = _machine(quiet_run, parbench_cpu_n="400000",
                     scale=2, match=lambda n: n.startswith("cpu/"))
    status, out, err = cli("machines", write_json(tmp_path, "a.json", quiet_run),
                           write_json(tmp_path, "b.json", other), "--format", "json")
    assert status == 0, err
    result = json.loads(out)
    assert list(result["differences"][0]["not_compared"]) == ["cpu"]
    ratios = {r["family"]: r for r in result["summary"] if r["section"] == "time_ratio"}
    assert ratios["cpu"]["comparable"] is False
    assert ratios["overhead"]["comparable"] is True


def test_worker_lists_and_the_build_are_warned_about_but_compared(cli, tmp_path, quiet_run):
    other = _machine(quiet_run, parbench_workers="1,2,4", parbench_build_type="Debug")
    status, out, err = cli("machines", write_json(tmp_path, "a.json", quiet_run),
                           write_json(tmp_path, "b.json", other))
    assert status == 0, err
    warning = next(x for x in out.splitlines() if x.startswith("**Warning:**"))
    assert "--workers 1,2 vs 1,2,4" in warning and "build type Release vs Debug" in warning
    assert "compares the builds as much as the machines" in warning
    assert "not comparable" not in out


def test_strict_refuses_runs_whose_settings_differ(cli):
    status, out, err = cli("machines", TASKS_16, TASKS_64, "--strict")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert TASKS_64 in err and "--tasks 16 vs 64" in err and "(--strict)" in err


def test_strict_accepts_runs_of_the_same_workload(cli, tmp_path, quiet_run):
    a, b, c = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0"),
                     _machine(quiet_run, quota=1.5))
    status, out, err = cli("machines", a, b, c, "--strict")
    assert status == 0, err
    assert "**Warning:**" not in out


# --- formats and the figure ------------------------------------------------------------------

def test_csv_and_json_hold_the_summary_numbers(cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, scale=2), quiet_run)
    status, out, err = cli("machines", *paths, "--format", "csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["section"] for r in rows} == {"time_ratio", "speedup"}
    cpu = next(r for r in rows if r["section"] == "time_ratio" and r["family"] == "cpu"
               and r["value"] and float(r["value"]) > 1.5)
    assert float(cpu["low"]) <= float(cpu["value"]) <= float(cpu["high"])
    result = json.loads(cli("machines", *paths, "--format", "json")[1])
    assert {"reference", "machines", "differences", "warnings", "in_words", "summary"} <= set(
        result)
    assert len(result["summary"]) == len(rows)


def test_html_is_one_page_with_the_summary_and_the_figure_inlined(cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0"),
                   _machine(quiet_run, quota=1.5))
    out_file = tmp_path / "m.html"
    status, _, err = cli("machines", *paths, "--format", "html", "--out", str(out_file))
    assert status == 0, err
    page = out_file.read_text(encoding="utf-8")
    assert page.index("<h2>Summary</h2>") < page.index("<h2>Machines</h2>")
    assert "src=\"data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page, "opens without the network"
    assert "vm, quota 1.5 of 2 CPUs" in page
    busy = write_json(tmp_path, "busy.json", planted(load_fixture("run.json"), 0.3, noise=0.5))
    status, page, err = cli("machines", paths[0], busy, "--format", "html")
    assert status == 0, err
    assert f"<p class='warning'>{busy}: The noise probe measured a parallel efficiency of " \
        "0.50 before the run" in page


def test_the_figure_has_executors_by_machines(cli, tmp_path, quiet_run):
    paths = _three(tmp_path, quiet_run, _machine(quiet_run, usable=1, affinity="0"),
                   _machine(quiet_run, quota=1.5))
    status, _, err = cli("machines", *paths, "--out-plot", str(tmp_path / "fig" / "m"))
    assert status == 0, err
    assert "wrote " in err
    assert (tmp_path / "fig" / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "fig" / "m.svg").read_text(encoding="utf-8")
    for text in ("vm, CPU 0 of 2 (1 w)", "vm, quota 1.5 of 2 CPUs (2 w)", "threads",
                 "processes", "cpu: speedup at workers = usable CPUs"):
        assert text in svg, text


def test_a_gzipped_run_reads_as_the_run(cli, tmp_path, quiet_run):
    plain = write_json(tmp_path, "a.json", quiet_run)
    packed = tmp_path / "b.json.gz"
    packed.write_bytes(gzip.compress(json.dumps(quiet_run).encode()))
    status, out, err = cli("machines", plain, str(packed))
    assert status == 0, err
    assert "about the same (1.00×" in _row(out, "cpu")[2]
    damaged = tmp_path / "c.json.gz"
    damaged.write_bytes(packed.read_bytes()[:200])
    status, out, err = cli("machines", plain, str(damaged))
    assert status == 2 and err.count("\n") == 1 and "damaged gzip" in err


# --- Google Benchmark JSON that parbench did not write ---------------------------------------

def test_foreign_runs_get_labels_a_summary_and_a_planted_slowdown(cli, gbench_json):
    base = gbench_json("--benchmark_repetitions=3", "--benchmark_filter=BM_(Work|Copy)")
    same = gbench_json("--benchmark_repetitions=3", "--benchmark_filter=BM_(Work|Copy)",
                       tag="again")
    slow = gbench_json("--benchmark_repetitions=3", "--benchmark_filter=BM_(Work|Copy)",
                       scale=100)
    status, out, err = cli("machines", base, same, slow)
    assert status == 0, err
    labels = _row(out, "")[1:]
    assert len(set(labels)) == 3 and not any(x == "run0.json" for x in labels)
    work = _row(out, "BM_Work")
    assert work[1] == "2", "threads:1 and threads:2"
    assert "slower" in work[3] and float(work[3].split("×")[0]) > 10, "100 times the work"
    assert "**Speedup" not in out and "**METG" not in out
    assert "**Warning:**" not in out


# --- granularity: curves by machine ----------------------------------------------------------

def test_granularity_labels_and_colours_curves_by_machine(cli, tmp_path, monkeypatch):
    data = planted(load_fixture("granularity.json"))
    paths = _three(tmp_path, data, _machine(data, usable=1, affinity="0"),
                   _machine(data, quota=1.5, scale=1.5))
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, base, formats: drawn.append(fig) or [base])
    status, out, err = cli("granularity", *paths, "--out-plot", str(tmp_path / "g"))
    assert status == 0, err
    assert "| `vm, CPU 0 of 2` | threads | 2 |" in out
    assert "`run.json`" not in out
    assert f"**vm, quota 1.5 of 2 CPUs** (`{paths[2]}`): On this machine" in out
    lines = [x for x in drawn[0].axes[0].get_lines() if not x.get_label().startswith("_")
             and ": " in x.get_label()]
    by_machine: dict = {}
    for line in lines:
        machine, executor = line.get_label().split(" (")[0].split(": ")
        by_machine.setdefault(machine, set()).add(line.get_color())
    assert set(by_machine) == {"vm, 2 CPUs", "vm, CPU 0 of 2", "vm, quota 1.5 of 2 CPUs"}
    assert all(len(colours) == 1 for colours in by_machine.values()), by_machine
    assert len({c for colours in by_machine.values() for c in colours}) == 3


def test_granularity_keeps_distinct_file_names_and_takes_labels(cli, tmp_path):
    data = planted(load_fixture("granularity.json"))
    a = write_json(tmp_path, "bench.json", data)
    b = write_json(tmp_path, "other.json", _machine(data, usable=1, affinity="0"))
    status, out, err = cli("granularity", a, b)
    assert status == 0, err
    assert "| `other.json` | threads |" in out
    status, out, err = cli("granularity", a, "--label", f"one CPU={b}")
    assert status == 0, err
    assert "| `one CPU` | threads |" in out and f"**one CPU** (`{b}`): " in out
