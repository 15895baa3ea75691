"""A run of bench under mpirun (fixtures/mpi.json, mpi.trace.json): the tools take the mpi
executor from the manifest, show every rank's machine and name lanes by host and rank."""

import re

from conftest import fixture

from parbench_tools.gbench import load_run
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
