"""A run of bench under mpirun (fixtures/mpi.json, mpi.trace.json): the tools take the mpi
executor from the manifest, show every rank's machine and name lanes by host and rank."""

import json
import re

from conftest import fixture

from parbench_tools.gbench import load_run
from parbench_tools.machines import host_line, mpi_hosts
from parbench_tools.trace import load_trace


def test_speedup_has_rows_for_the_mpi_executor(cli):
    status, out, err = cli("speedup", fixture("mpi.json"))
    assert "| mpi |" in out, out
    assert "### cpu" in out


def test_machines_shows_every_rank_of_one_mpi_run(cli):
    status, out, err = cli("machines", fixture("mpi.json"))
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| MPI ranks"))
    for rank in (0, 1, 2):
        assert f"r{rank} vm: AMD EPYC, 2 usable CPUs" in row, row


def test_machines_still_needs_two_runs_without_mpi(cli):
    status, out, err = cli("machines", fixture("run.json"))
    assert status == 2
    assert "at least two files" in err


def test_timeline_lanes_name_host_and_rank():
    timelines = load_trace(fixture("mpi.trace.json"), load_run(fixture("mpi.json")).manifest)
    mpi = [t for t in timelines if t.name.executor == "mpi" and t.workers == 2]
    assert mpi, [t.name for t in timelines]
    for tl in mpi:
        assert tl.hosts == ["vm"]
        for slot in {t.slot for t in tl.tasks}:  # a lane without tasks has no rank to name
            assert tl.lane_label(slot) == f"w{slot} vm r{slot + 1}"
    serial = next(t for t in timelines if t.name.executor == "serial")
    assert serial.lane_label(0) == "w0"


def test_timeline_draws_the_mpi_lanes(cli, tmp_path):
    status, out, err = cli("timeline", fixture("mpi.trace.json"), "--out-dir", str(tmp_path),
                           "--formats", "svg")
    assert status == 0, err
    svg = (tmp_path / "timeline_cpu_w2.svg").read_text()
    assert re.search(r"w0 vm r1", svg), "lane label in the figure"


def test_machines_shows_a_run_across_hosts_as_its_hosts(cli):
    status, out, err = cli("machines", fixture("hosts.json"))
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| MPI hosts"))
    assert "pb-host0: ranks 0,1, CPUs 0, eth0 10.231.0.1, clock offset 0.0" in row, row
    assert "pb-host1: ranks 2, CPUs 1, eth0 10.231.0.2, clock offset" in row, row
    ranks = next(line for line in out.splitlines() if line.startswith("| MPI ranks"))
    assert "r2 pb-host1: AMD EPYC, 1 usable CPUs, CPUs 1, eth0 10.231.0.2, clock aligned" in ranks


def test_mpi_hosts_of_a_run_without_interfaces_or_mpi():
    # A run of an older bench (no cpus or interfaces recorded) still lists its hosts.
    hosts = mpi_hosts(load_run(fixture("mpi.json")).context)
    assert [h["host"] for h in hosts] == ["vm"]
    assert hosts[0]["ranks"] == [0, 1, 2] and hosts[0]["interfaces"] == []
    assert "no interface recorded" in host_line(hosts[0])
    assert mpi_hosts(load_run(fixture("run.json")).context) == []


def test_timeline_of_a_run_across_hosts_has_one_lane_group_per_host_and_one_timeline():
    with open(fixture("hosts.trace.json")) as f:
        groups = {e["args"]["name"] for e in json.load(f)["traceEvents"]
                  if e["name"] == "process_name"}
    assert "cpu/mpi/workers:2 @ pb-host1" in groups, groups
    timelines = load_trace(fixture("hosts.trace.json"), load_run(fixture("hosts.json")).manifest)
    mpi = [t for t in timelines if t.name.executor == "mpi"]
    assert len(mpi) == 1, [t.name for t in timelines]  # the groups make one benchmark's timeline
    tl = mpi[0]
    assert tl.hosts == ["pb-host0", "pb-host1"]
    assert {tl.lane_label(s) for s in {t.slot for t in tl.tasks}} == {"w0 pb-host0 r1",
                                                                      "w1 pb-host1 r2"}
    assert {t.host for t in tl.tasks} == {0, 1}
