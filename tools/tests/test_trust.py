"""How far the numbers can be trusted: the noise probes before and after a run, and the
interference bench measures on every benchmark, flagged (⚠) by every tool that reads speed.
The fixtures are real runs; a quiet copy has 0 interference planted, a disturbed copy a known
value on the benchmarks a test names."""

import json
import re
import statistics

import pytest
from conftest import fixture, load_fixture, planted, write_json

from parbench_tools.gbench import load_run
from parbench_tools.speedup import speedup_tables
from parbench_tools.trust import MARK, disturbed, interference

BEFORE = "noise probe measured a parallel efficiency of 0.62 before the run"
AFTER = "noise probe measured a parallel efficiency of 0.55 after the run"


def _output(cli, tmp_path, command, run, base=None):
    """What `command` prints (the page, for report) for `run`."""
    args = {
        "speedup": ["speedup", run],
        "goals": ["goals", run],
        "compare": ["compare", base or run, run],
        "report": ["report", run, "--out", str(tmp_path / "r.html")],
        "granularity": ["granularity", run],
    }[command]
    _, out, err = cli(*args)
    assert "Traceback" not in err
    return (tmp_path / "r.html").read_text(encoding="utf-8") if command == "report" else out


FIXTURE_OF = {"speedup": "run.json", "goals": "executors.json", "compare": "reps6.json",
              "report": "run.json", "granularity": "granularity.json"}


@pytest.mark.parametrize("command", sorted(FIXTURE_OF))
def test_a_busy_probe_before_or_after_the_run_is_a_warning_and_a_quiet_one_is_not(
        cli, tmp_path, command):
    data = load_fixture(FIXTURE_OF[command])
    quiet = write_json(tmp_path, "quiet.json", planted(data))
    busy_before = planted(data)
    busy_before["context"]["parbench_noise_efficiency"] = "0.62"
    busy_after = planted(data)
    busy_after["context"]["parbench_noise_efficiency_end"] = "0.55"
    before = _output(cli, tmp_path, command, write_json(tmp_path, "b.json", busy_before), quiet)
    after = _output(cli, tmp_path, command, write_json(tmp_path, "a.json", busy_after), quiet)
    assert BEFORE in before and AFTER not in before
    assert AFTER in after and BEFORE not in after
    clean = _output(cli, tmp_path, command, quiet)
    assert "noise probe measured" not in clean and MARK not in clean


# --- the interference of one benchmark ------------------------------------------------------

def _disturb(name_prefix: str, value: float, data=None) -> dict:
    return planted(data or load_fixture("run.json"), value,
                   match=lambda n: n.startswith(name_prefix))


def test_interference_is_the_median_over_repetitions_of_other_cpu_plus_steal(tmp_path):
    data = planted(load_fixture("reps6.json"))
    reps = [b for b in data["benchmarks"]
            if b["run_name"] == "cpu/threads/workers:2/real_time" and b["run_type"] == "iteration"]
    assert len(reps) == 6
    for i, b in enumerate(reps):  # per repetition: 0.05 + steal 0.01 * i
        b["interference_cpu_frac"], b["steal_frac"] = 0.05, 0.01 * i
    run = load_run(write_json(tmp_path, "r.json", data))
    b = run.benchmarks["cpu/threads/workers:2"]
    assert interference(b) == pytest.approx(statistics.median([0.05 + 0.01 * i
                                                               for i in range(6)]))
    assert not disturbed(b, 0.10) and disturbed(b, 0.07)
    # Two disturbed repetitions of six: the median is not, and the benchmark is not flagged.
    for b in reps:
        b["interference_cpu_frac"], b["steal_frac"] = 0.0, 0.0
    reps[0]["interference_cpu_frac"] = reps[1]["steal_frac"] = 0.9
    run = load_run(write_json(tmp_path, "r.json", data))
    assert not disturbed(run.benchmarks["cpu/threads/workers:2"])
    # Steal alone counts: the hypervisor gave the core to someone else.
    for b in reps:
        b["steal_frac"] = 0.2
    run = load_run(write_json(tmp_path, "r.json", data))
    assert disturbed(run.benchmarks["cpu/threads/workers:2"])


def test_files_without_the_counters_are_never_flagged(tmp_path):
    data = load_fixture("run.json")
    for b in data["benchmarks"]:
        b.pop("interference_cpu_frac", None)
        b.pop("steal_frac", None)
    run = load_run(write_json(tmp_path, "old.json", data))
    assert all(interference(b) is None for b in run.benchmarks.values())
    assert not any(c.flagged for t in speedup_tables(run) for c in t.cells)


# --- the flags in each tool -----------------------------------------------------------------

def _cpu_rows(out: str) -> dict:
    section = out.split("### cpu\n")[1].split("\n### ")[0]
    return {line.split(" | ")[0].lstrip("| "): line for line in section.splitlines()
            if line.startswith("| ") and "---" not in line and not line.startswith("| executor")}


def test_speedup_flags_the_disturbed_cell_and_only_it(cli, tmp_path):
    run = write_json(tmp_path, "d.json", _disturb("cpu/threads/workers:2/", 0.35,
                                                  planted(load_fixture("run.json"))))
    status, out, err = cli("speedup", run)
    assert status == 0, err
    rows = _cpu_rows(out)
    cells = rows["threads"].split(" | ")
    assert cells[2].startswith(MARK) and "interference 35%" in cells[2]  # 2 workers
    assert MARK not in cells[1]  # 1 worker: quiet
    assert all(MARK not in row for name, row in rows.items() if name != "threads")
    assert sum(line.count(MARK) for line in out.splitlines() if line.startswith("| ")) == 1
    assert "1 of " in out and "ran while other processes took more than 10%" in out
    records = json.loads(cli("speedup", run, "--format", "json")[1])
    flagged = {(r["group"], r["executor"], r["workers"]) for r in records if r["flagged"]}
    assert flagged == {("cpu", "threads", 2)}
    assert next(r for r in records if r["flagged"])["interference"] == pytest.approx(0.35)


def test_a_disturbed_baseline_flags_its_whole_table(cli, tmp_path):
    run = write_json(tmp_path, "d.json", _disturb("cpu/serial/", 0.5,
                                                  planted(load_fixture("run.json"))))
    _, out, _ = cli("speedup", run)
    assert f"{MARK} The serial baseline itself ran disturbed (interference 50%)" in out
    rows = _cpu_rows(out)
    assert rows and all(cell.startswith(MARK) for row in rows.values()
                        for cell in row.strip("| ").split(" | ")[1:] if cell)
    overhead = out.split("### overhead\n")[1].split("\n### ")[0]
    assert MARK not in overhead


def test_the_threshold_is_an_option(cli, tmp_path):
    run = write_json(tmp_path, "d.json", _disturb("cpu/threads/workers:2/", 0.35,
                                                  planted(load_fixture("run.json"))))
    assert MARK in cli("speedup", run)[1]
    assert MARK not in cli("speedup", run, "--max-interference", "0.4")[1]
    assert MARK in cli("speedup", run, "--max-interference", "0.3")[1]
    for bad in ("nan", "-0.1", "lots"):
        for command in (["speedup", run], ["goals", run], ["compare", run, run],
                        ["plot", run, "--out", str(tmp_path / "p")], ["granularity", run],
                        ["report", run, "--out", str(tmp_path / "r.html")],
                        ["machines", run, run]):
            status, out, err = cli(*command, "--max-interference", bad)
            assert status == 2 and out == "" and err.count("\n") == 1, (command, err)
            assert "--max-interference" in err


def test_every_real_flag_is_a_benchmark_or_baseline_over_the_threshold(cli):
    # The fixture as bench wrote it, on a shared machine: whatever it measured, the tools flag
    # exactly the cells whose own or baseline's median interference + steal exceeds 0.10.
    data = load_fixture("run.json")
    per_rep: dict = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "iteration" and "interference_cpu_frac" in b:
            name = b["run_name"].removesuffix("/real_time")
            per_rep.setdefault(name, []).append(b["interference_cpu_frac"] + b["steal_frac"])
    hot = {name for name, values in per_rep.items() if statistics.median(values) > 0.10}
    run = load_run(fixture("run.json"))
    for t in speedup_tables(run):
        base = next((b.name.full for b in run.benchmarks.values()
                     if b.name.executor == "serial" and b.name.group == t.group), None)
        for c in t.cells:
            name = next(b.name.full for b in run.benchmarks.values()
                        if b.name.group == t.group and b.name.executor == c.executor
                        and b.name.workers == c.workers)
            assert c.flagged == (name in hot or base in hot), name


def test_report_marks_the_cells_and_the_plot_rings_them(cli, tmp_path):
    run = write_json(tmp_path, "d.json", _disturb("cpu/threads/workers:2/", 0.35,
                                                  planted(load_fixture("run.json"))))
    status, _, err = cli("report", run, "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<td class='flagged'>") == 1
    assert "ran while other processes took more than 10%" in page
    status, _, err = cli("plot", run, "--out", str(tmp_path / "p"))
    assert status == 0, err
    svg = (tmp_path / "p.svg").read_text(encoding="utf-8")
    assert re.search(r">\s*⚠ disturbed \(&gt; 10% interference\)\s*<", svg)
    cli("plot", write_json(tmp_path, "q.json", planted(load_fixture("run.json"))), "--out",
        str(tmp_path / "q"))
    assert "disturbed" not in (tmp_path / "q.svg").read_text(encoding="utf-8")


def test_goals_flag_a_goal_read_from_a_disturbed_benchmark(cli, tmp_path):
    data = _disturb("overhead/threads/", 0.4, planted(load_fixture("executors.json")))
    status, out, _ = cli("goals", write_json(tmp_path, "d.json", data))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert rows["thread pool dispatch, streamed empty tasks"].endswith(f"{MARK} disturbed |")
    assert sum(MARK in row for row in rows.values()) == 1
    assert "`overhead/threads/workers:2` 40%" in out


def test_compare_flags_the_disturbed_side(cli, tmp_path):
    quiet = write_json(tmp_path, "q.json", planted(load_fixture("reps6.json")))
    new = write_json(tmp_path, "n.json", _disturb("cpu/processes/", 0.3,
                                                  planted(load_fixture("reps6.json"))))
    status, out, _ = cli("compare", quiet, new)
    row = next(line for line in out.splitlines() if line.startswith("| `cpu/processes/"))
    base_cell, new_cell = row.split(" | ")[1:3]
    assert MARK not in base_cell and new_cell.startswith(MARK)
    assert "`cpu/processes/workers:2` (new 30%)" in out
    assert sum(line.count(MARK) for line in out.splitlines() if line.startswith("| `")) == 1
    result = json.loads(cli("compare", quiet, new, "--format", "json")[1])
    flags = {b["name"]: (b["base_flagged"], b["new_flagged"]) for b in result["benchmarks"]}
    assert flags.pop("cpu/processes/workers:2") == (False, True)
    assert set(flags.values()) == {(False, False)}
    # A whole run disturbed: a summary, not a list of every name.
    everything = write_json(tmp_path, "e.json", planted(load_fixture("run.json"), 0.3))
    _, out, _ = cli("compare", write_json(tmp_path, "r.json", planted(load_fixture(
        "run.json"))), everything)
    count = sum(1 for line in out.splitlines() if line.startswith("| `"))
    assert f"repetitions): {count} benchmarks, new 30%–30% on {count}" in out


def test_efficiency_is_per_usable_cpu_and_machines_shows_both_counts(cli, tmp_path):
    data = planted(load_fixture("run.json"))
    data["context"]["parbench_usable_cpus"] = "1"  # as under taskset -c 0
    run = load_run(write_json(tmp_path, "one.json", data))
    cpu = next(t for t in speedup_tables(run) if t.label == "cpu")
    cell = cpu.cell("threads", 2)
    assert cell.cpus == 1 and cell.efficiency == pytest.approx(cell.speedup)
    status, out, _ = cli("machines", fixture("run.json"), str(run.path))
    assert status == 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines()}
    assert rows["machine CPUs"].endswith("| 2 | 2 |")
    assert rows["usable CPUs"].endswith("| 2 | 1 |")
    assert "affinity CPUs" in rows and "cgroup CPU quota" in rows
