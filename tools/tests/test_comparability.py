"""compare, machines and the gate check that two sides can be compared: workload parameters
(of the families compared, and the general ones), build, and for compare the machine. A
mismatch is a warning naming what differs, a refusal with --strict; runs of several revisions
pool into one side; each side's header names its revision, host, date and noise probe."""

import copy
import json

from conftest import load_fixture, planted, write_json


def _pair(tmp_path, **changes):
    base = planted(load_fixture("reps6.json"))
    new = copy.deepcopy(base)
    new["context"].update(changes)
    return write_json(tmp_path, "base.json", base), write_json(tmp_path, "new.json", new)


def test_other_workload_parameters_are_a_warning_and_strict_refuses(cli, tmp_path):
    base, new = _pair(tmp_path, parbench_cpu_n="3000000", parbench_tasks="8")
    status, out, err = cli("compare", base, new)
    assert status == 0
    assert "**Warning: the two sides are not comparable** (2 difference(s)" in out
    assert "workload parameter cpu_n: 200000 vs 3000000" in out
    assert "workload parameter tasks: 4 vs 8" in out
    assert err.count("parbench-tools: warning: not comparable") == 2
    status, out, err = cli("compare", base, new, "--strict", "--threshold", "10")
    assert status == 2 and "not comparable" in err and "cpu_n" in err and err.count("\n") == 1


def test_another_machine_or_build_is_named(cli, tmp_path):
    base, new = _pair(tmp_path, parbench_cpu_model="Another CPU", parbench_build_type="Debug")
    status, out, _ = cli("compare", base, new, "--format", "json")
    differs = json.loads(out)["not_comparable"]
    assert "machine cpu_model: AMD EPYC vs Another CPU" in differs
    assert "build build_type: Release vs Debug" in differs


def test_parameters_of_families_not_compared_are_not_a_difference(cli, tmp_path):
    base, new = _pair(tmp_path, parbench_overhead_tasks="5", parbench_io_bytes="1")
    status, out, err = cli("compare", base, new)
    assert status == 0 and "not comparable" not in out and "warning" not in err


def test_machines_warn_about_what_ran_not_about_the_machine(cli, tmp_path):
    base, new = _pair(tmp_path, parbench_cpu_model="Another CPU")
    status, out, err = cli("machines", base, new)
    assert status == 0 and "**Warning:**" not in out and not err
    base, new = _pair(tmp_path, parbench_build_type="Debug")
    status, out, err = cli("machines", base, new)
    assert status == 0 and "**Warning:**" in out and "Release vs Debug" in out
    status, _, err = cli("machines", base, new, "--strict")
    assert status == 2 and "is not the same workload and build" in err and err.count("\n") == 1


def test_base_pools_runs_of_several_revisions_and_headers_name_each_side(cli, tmp_path):
    a = planted(load_fixture("reps6.json"))
    b = copy.deepcopy(a)
    b["context"].update(parbench_git_revision="0123456789ab", date="2026-12-01T00:00:00+00:00",
                        host_name="other")
    pa, pb = write_json(tmp_path, "a.json", a), write_json(tmp_path, "b.json", b)
    status, out, err = cli("compare", "--base", pa, pb, "--new", pa, "--format", "json")
    assert status == 0, err
    result = json.loads(out)
    assert all(r["base_repetitions"] == 2 * r["new_repetitions"] for r in result["benchmarks"])
    assert result["base_side"].startswith("2 runs: revision ede99af439a2-dirty, 0123456789ab, "
                                          "host vm, other")
    status, out, _ = cli("compare", pa, pb)
    assert "Base: revision ede99af439a2-dirty, host vm, 2026-11-25T20:11:34+00:00, noise probe " \
           "1.000000 / 1.000000 after." in out
    assert "New: revision 0123456789ab, host other, 2026-12-01T00:00:00+00:00" in out
