"""history gate and compare --db, on SQLite and PostgreSQL: pass and fail against the runs
since the last change point, inconclusive (exit 3, never a pass) for a disturbed run, too few
runs, a new machine or build, an aggregates-only file; --since against a pinned revision; the
baseline's runs named."""

import json

import numpy as np
import pytest
from conftest import synthetic_run

A, B = "synthetic/a", "synthetic/b"


def _history(cli, db, tmp_path, n, level_a=None, seed=1, context=None):
    """n runs of A (level_a(i), default 100 ns) and B (1 µs), 3% noise, orders 0..n-1."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        a = (level_a(i) if level_a else 100e-9) * rng.lognormal(0, 0.03)
        path = synthetic_run(tmp_path / f"h{i}.json", i, {A: a, B: 1e-6 * rng.lognormal(0, 0.03)},
                             context=context)
        status, _, err = cli("history", "add", "--db", db, path, "--order", str(i))
        assert status == 0, err


def _new(tmp_path, a=100e-9, index=500, **kwargs):
    return synthetic_run(tmp_path / f"new{index}.json", index, {A: a, B: 1e-6}, **kwargs)


def _gate(cli, db, path, *args):
    status, out, err = cli("history", "gate", "--db", db, path, "--format", "json", *args)
    assert status in (0, 1, 3), err
    result = json.loads(out)
    return status, {b["name"]: b for b in result["benchmarks"]}, result


def test_a_quiet_run_passes_and_the_baseline_is_named(cli, db, tmp_path):
    _history(cli, db, tmp_path, 40)
    status, rows, result = _gate(cli, db, _new(tmp_path))
    assert status == 0 and result["gate"]["result"] == "pass"
    revisions = [r["revision"] for r in rows[A]["baseline_runs"]]
    assert revisions == [f"{i:012x}" for i in range(10, 40)], "the last 30 clean runs"
    status, out, _ = cli("history", "gate", "--db", db, _new(tmp_path))
    assert status == 0 and "**pass**" in out and "`00000000000a` … `000000000027`" in out
    assert "New run: revision 0000000001f4" in out and "noise probe 1.000000" in out


def test_a_30_percent_slowdown_fails(cli, db, tmp_path):
    _history(cli, db, tmp_path, 20)
    status, rows, _ = _gate(cli, db, _new(tmp_path, a=130e-9))
    assert status == 1
    assert rows[A]["gate"] == "fail" and rows[A]["beyond_interval"]
    assert rows[A]["change_pct"] > 20 and rows[A]["p_value"] < 0.05
    assert rows[B]["gate"] == "pass"
    status, out, err = cli("compare", "--db", db, "--new", _new(tmp_path, a=130e-9))
    assert status == 1 and "**FAIL**" in out, err


def test_a_slowdown_under_the_threshold_passes(cli, db, tmp_path):
    _history(cli, db, tmp_path, 20)
    status, rows, _ = _gate(cli, db, _new(tmp_path, a=130e-9), "--threshold", "40")
    assert status == 0 and rows[A]["beyond_interval"] and rows[A]["gate"] == "pass"


def test_a_disturbed_50_percent_run_is_inconclusive(cli, db, tmp_path):
    _history(cli, db, tmp_path, 20)
    path = _new(tmp_path, a=150e-9, interference={A: 0.5, B: 0.5})
    status, rows, _ = _gate(cli, db, path)
    assert status == 3
    assert rows[A]["gate"] == "inconclusive" and "disturbed" in rows[A]["reason"]


def test_too_few_runs_are_inconclusive(cli, db, tmp_path):
    _history(cli, db, tmp_path, 4)
    status, rows, _ = _gate(cli, db, _new(tmp_path))
    assert status == 3
    assert "4 clean run(s) in the baseline: needs 5" in rows[A]["reason"]


def test_the_baseline_starts_at_the_last_change_point(cli, db, tmp_path):
    _history(cli, db, tmp_path, 30, level_a=lambda i: 100e-9 if i < 15 else 130e-9)
    status, rows, _ = _gate(cli, db, _new(tmp_path, a=130e-9))
    assert status == 0, "the new level is the baseline since the change"
    assert rows[A]["baseline_since"] == f"{15:012x}"
    assert [r["revision"] for r in rows[A]["baseline_runs"]][0] == f"{15:012x}"
    status, rows, _ = _gate(cli, db, _new(tmp_path, a=130e-9), "--window", "10")
    assert len(rows[A]["baseline_runs"]) == 10
    status, rows, _ = _gate(cli, db, _new(tmp_path, a=130e-9), "--min-runs", "16")
    assert status == 3 and "since the change point at 00000000000f" in rows[A]["reason"]


def test_since_a_pinned_revision_five_small_steps_add_up(cli, db, tmp_path):
    # 10 runs at 100 ns, then five steps of +2% every 6 runs: no step is a change point (each
    # under the 5% minimum), but together they are +10%.
    _history(cli, db, tmp_path, 40, level_a=lambda i: 100e-9 * 1.02 ** max(0, (i - 4) // 6))
    new = _new(tmp_path, a=100e-9 * 1.02 ** 5)
    status, rows, _ = _gate(cli, db, new)
    assert status == 0, "against the recent runs it is a small change"
    status, rows, _ = _gate(cli, db, new, "--since", f"{9:012x}")
    assert status == 1 and rows[A]["gate"] == "fail"
    assert rows[A]["change_pct"] > 8
    assert [r["revision"] for r in rows[A]["baseline_runs"]] == [f"{i:012x}" for i in range(10)]
    status, _, err = cli("history", "gate", "--db", db, new, "--since", "0000")
    assert status == 2 and "matches 40 revisions" in err


def test_a_new_machine_or_build_is_inconclusive_and_strict_refuses(cli, db, tmp_path):
    _history(cli, db, tmp_path, 10)
    other = _new(tmp_path, context={"parbench_cpu_model": "Another CPU",
                                    "parbench_build_type": "Debug"})
    status, rows, result = _gate(cli, db, other)
    assert status == 3 and rows[A]["gate"] == "inconclusive"
    problems = " ".join(result["problems"])
    assert "new machine fingerprint" in problems and "new build fingerprint" in problems
    assert "machine cpu_model: AMD EPYC vs Another CPU" in problems
    assert "build build_type: Release vs Debug" in problems
    status, _, err = cli("history", "gate", "--db", db, other, "--strict")
    assert status == 2 and "not comparable" in err and err.count("\n") == 1


def test_an_aggregates_only_foreign_file_never_passes(cli, db, gbench_json):
    for tag in range(6):
        path = gbench_json("--benchmark_repetitions=5", "--benchmark_filter=BM_Work",
                           tag=str(tag))
        status, _, err = cli("history", "add", "--db", db, path, "--order", str(tag))
        assert status == 0, err
    only = gbench_json("--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                       "--benchmark_filter=BM_Work")
    status, rows, _ = _gate(cli, db, only)
    assert status == 3
    assert all("aggregates only" in r["reason"] for r in rows.values())
    # And an aggregates-only history cannot pass a run with repetitions either.
    status, _, err = cli("history", "add", "--db", db, only, "--branch", "agg")
    assert status == 0, err
    for tag in range(6):
        path = gbench_json("--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                           "--benchmark_filter=BM_Work", tag=f"agg{tag}")
        cli("history", "add", "--db", db, path, "--branch", "agg")
    reps = gbench_json("--benchmark_repetitions=5", "--benchmark_filter=BM_Work", tag="new")
    status, rows, _ = _gate(cli, db, reps, "--branch", "agg")
    assert status == 3
    assert all("baseline runs have no repetitions" in r["reason"] for r in rows.values())


def test_the_run_itself_is_not_its_own_baseline(cli, db, tmp_path):
    _history(cli, db, tmp_path, 10)
    new = _new(tmp_path, a=130e-9)
    cli("history", "add", "--db", db, new, "--order", "10")
    status, rows, result = _gate(cli, db, new)
    assert status == 1 and result["history_runs"] == 10


def test_compare_db_takes_no_base(cli, db, tmp_path):
    _history(cli, db, tmp_path, 5)
    status, _, err = cli("compare", _new(tmp_path), "--db", db, "--new", _new(tmp_path))
    assert status == 2 and "give no base run" in err


def test_new_workload_parameters_are_inconclusive_and_strict_refuses(cli, db, tmp_path):
    _history(cli, db, tmp_path, 10, context={"parbench_tasks": "4"})
    other = _new(tmp_path, context={"parbench_tasks": "8", "parbench_new_flag": "1"})
    status, rows, _ = _gate(cli, db, other)
    assert status == 3
    assert rows[A]["reason"] == "new workload parameters: no stored run has them (tasks: 4 vs 8)"
    status, _, err = cli("history", "gate", "--db", db, other, "--strict")
    assert status == 2 and "tasks: 4 vs 8" in err and err.count("\n") == 1
    same = _new(tmp_path, index=501, context={"parbench_tasks": "4", "parbench_new_flag": "1"})
    status, rows, _ = _gate(cli, db, same)
    assert status == 0, "a flag only the new run records is not a difference"


def test_many_unchanged_benchmarks_do_not_fail_by_chance(cli, db, tmp_path):
    names = [f"synthetic/b{k}" for k in range(100)]
    rng = np.random.default_rng(77)
    for i in range(21):
        levels = {n: 1e-6 * rng.lognormal(0, 0.03) for n in names}
        path = synthetic_run(tmp_path / f"m{i}.json", i, levels)
        if i < 20:
            cli("history", "add", "--db", db, path, "--order", str(i))
    status, rows, result = _gate(cli, db, path)
    assert status == 0, [r for r in rows.values() if r["gate"] != "pass"]
    assert result["benchmark_level"] == pytest.approx(1 - 0.01 / 100)


def test_a_newer_bench_on_the_same_machine_is_not_a_new_machine(cli, db, tmp_path):
    _history(cli, db, tmp_path, 10)
    newer = _new(tmp_path, context={"parbench_smt": "0", "parbench_kernel": "6.1.0"})
    status, _, result = _gate(cli, db, newer)
    assert status == 0 and result["problems"] == []
    other = _new(tmp_path, index=502, context={"parbench_smt": "1"})
    cli("history", "add", "--db", db, newer, "--order", "10")
    status, _, result = _gate(cli, db, other)
    assert status == 3 and "new machine fingerprint" in " ".join(result["problems"])
