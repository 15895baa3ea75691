"""compare: a planted 30% slowdown is found significant; identical runs are not a change."""

import json

from conftest import fixture, load_fixture


def _planted(tmp_path, factor: float, name: str = "cpu/threads/workers:2") -> str:
    data = load_fixture("reps6.json")
    for b in data["benchmarks"]:
        if b.get("run_name") == name + "/real_time" and b.get("run_type") == "iteration":
            b["real_time"] *= factor
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_planted_30_percent_slowdown_is_significant_and_fails_the_gate(cli, tmp_path):
    status, out, err = cli("compare", fixture("reps6.json"), _planted(tmp_path, 1.3),
                           "--threshold", "10")
    assert status == 1, err
    line = next(x for x in out.splitlines() if x.startswith("| `cpu/threads/workers:2`"))
    assert "+30.0%" in line and "| slower |" in line
    assert "FAIL" in out


def test_identical_runs_are_not_called_a_change(cli):
    status, out, err = cli("compare", fixture("reps6.json"), fixture("reps6.json"),
                           "--threshold", "5")
    assert status == 0, err
    assert "| slower |" not in out and "| faster |" not in out
    assert "no significant change" in out
    assert "**1.000**" in out, "geometric mean of identical runs"


def test_a_speedup_is_faster_and_passes_the_gate(cli, tmp_path):
    status, out, _ = cli("compare", fixture("reps6.json"), _planted(tmp_path, 0.7),
                         "--threshold", "5")
    assert status == 0
    assert "| faster |" in out


def test_benchmarks_on_one_side_only_are_listed(cli):
    status, out, _ = cli("compare", fixture("reps6.json"), fixture("run.json"))
    assert status == 0
    assert "Only in base" not in out or "cpu/" not in out.split("Only in base")[1].split("\n")[0]
    assert "Only in new" in out and "`overhead/serial`" in out


def test_single_repetitions_are_not_tested(cli):
    status, out, _ = cli("compare", fixture("no_serial.json"), fixture("no_serial.json"))
    assert status == 0
    assert "not tested" in out


def test_runs_without_a_common_benchmark_are_mismatched(cli):
    status, out, err = cli("compare", fixture("errored.json"), fixture("no_serial.json"))
    assert status == 2
    assert "mismatched" in err and err.count("\n") == 1
