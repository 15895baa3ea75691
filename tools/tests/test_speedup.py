"""speedup: tables per workload from real bench output (fixtures/*.json were written by the
real bench binary; see README in this folder)."""

import csv
import io
import json

import pytest

from conftest import fixture, load_fixture, manifest_of

from parbench_tools.gbench import load_run, parse_name, rank_cpus
from parbench_tools.speedup import efficiency_cpus, speedup_tables
from parbench_tools.verdict import verdicts


def test_markdown_has_one_table_per_workload_and_argument(cli):
    status, out, err = cli("speedup", fixture("run.json"))
    assert status == 0, err
    for heading in ("### cpu", "### io mode:buffered payload:shipped",
                    "### io mode:durable payload:local", "### dot blas_threads:1", "### overhead"):
        assert heading in out
    assert "| threads |" in out and "| processes |" in out
    assert "| executor | 1 worker | 2 workers |" in out
    assert "cv " in out, "repetitions give a spread"


def test_speedup_is_serial_median_over_executor_median():
    run = load_run(fixture("run.json"))
    cpu = next(t for t in speedup_tables(run) if t.label == "cpu")
    serial = run.benchmarks["cpu/serial"].median
    cell = next(c for c in cpu.cells if c.executor == "threads" and c.workers == 2)
    assert cell.speedup == serial / run.benchmarks["cpu/threads/workers:2"].median
    assert cell.efficiency == cell.speedup / 2
    assert cell.repetitions == 3


def test_csv_and_json_carry_the_same_rows(cli):
    status, out_csv, _ = cli("speedup", fixture("run.json"), "--format", "csv")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out_csv)))
    status, out_json, _ = cli("speedup", fixture("run.json"), "--format", "json")
    assert status == 0
    records = json.loads(out_json)
    assert len(rows) == len(records) > 0
    executors = [e["name"] for e in manifest_of(load_fixture("run.json"))["executors"]]
    assert {r["executor"] for r in records} == set(executors)  # the peers tbb, openmp too
    assert [r["executor"] for r in rows] == [r["executor"] for r in records]


def test_errored_benchmarks_are_shown_as_errors_not_numbers(cli):
    status, out, err = cli("speedup", fixture("errored.json"))
    assert "**error**" in out or "error" in err
    assert "Couldn't connect" in out + err
    assert status == 1  # the serial baseline itself failed


def test_a_missing_serial_baseline_is_a_clear_error_not_a_crash(cli):
    status, out, err = cli("speedup", fixture("no_serial.json"))
    assert status == 1
    assert "no serial baseline" in out
    assert "no serial baseline" in err and "Traceback" not in err


def test_any_time_unit_gives_the_same_speedups(tmp_path):
    data = load_fixture("run.json")
    for b in data["benchmarks"]:
        if b.get("time_unit") == "ms" and "real_time" in b:
            b["real_time"] *= 1000.0
            b["cpu_time"] *= 1000.0
            b["time_unit"] = "us"
    path = tmp_path / "us.json"
    path.write_text(json.dumps(data))
    ms = {t.label: [c.speedup for c in t.cells]
          for t in speedup_tables(load_run(fixture("run.json")))}
    us = {t.label: [c.speedup for c in t.cells] for t in speedup_tables(load_run(str(path)))}
    assert ms.keys() == us.keys()
    for label in ms:
        for a, b in zip(ms[label], us[label]):
            assert (a is None and b is None) or abs(a - b) < 1e-9 * max(1, abs(a))


def test_names_parse_into_workload_executor_workers_and_arguments():
    n = parse_name("io/processes/workers:4/mode:durable/payload:shipped/real_time")
    assert (n.workload, n.executor, n.workers) == ("io", "processes", 4)
    assert n.args == (("mode", "durable"), ("payload", "shipped"))
    assert parse_name("cpu/serial/real_time").workers == 1
    # Google Benchmark's parts that make a distinct benchmark stay in the name; only the
    # time-type part (real_time) goes.
    repeats = parse_name("cpu/threads/workers:2/repeats:5/real_time")
    assert repeats.full == "cpu/threads/workers:2/repeats:5"
    assert (repeats.workers, repeats.args, repeats.gbench) == (2, (), ("repeats:5",))
    assert parse_name("api_server/clients:32/latency_ms:20/real_time").executor is None


def test_the_shm_transport_takes_its_baseline_from_the_pipe_case():
    run = load_run(fixture("run.json"))
    tables = {t.label: t for t in speedup_tables(run)}
    shm = tables["transfer size:64KiB transport:shm"]
    assert shm.error is None
    assert shm.baseline_s == run.benchmarks["transfer/serial/size:64KiB"].median
    assert {c.executor for c in shm.cells} == {"processes"}


def test_times_read_in_the_unit_that_fits():
    from parbench_tools.speedup import format_seconds
    assert format_seconds(0.322) == "322 ms"
    assert format_seconds(0.0009997) == "1 ms"
    assert format_seconds(2.5) == "2.5 s"
    assert format_seconds(8.35e-8) == "83.5 ns"
    assert format_seconds(1.2803) == "1.28 s"  # the timelines' wall label, not "1.28e+03 ms"


def test_mpi_ranks_across_hosts_count_the_cpus_of_every_host_their_workers_ran_on():
    # hosts.json: rank 0 and rank 1 on pb-host0 (CPU 0), rank 2 on pb-host1 (CPU 1); rank 0's
    # own usable CPUs are 1, but its two worker ranks ran on two hosts of one CPU each.
    run = load_run(fixture("hosts.json"))
    assert run.context["parbench_usable_cpus"] == "1"
    assert rank_cpus(run, 1) == 1 and rank_cpus(run, 2) == 2 and rank_cpus(run, 3) is None
    assert efficiency_cpus(run, 2, "mpi") == 2
    assert efficiency_cpus(run, 2, "serial") == 1  # not a remote executor: rank 0's CPUs
    cell = next(t for t in speedup_tables(run) if t.label == "cpu").cell("mpi", 2)
    assert cell.cpus == 2 and cell.efficiency == pytest.approx(cell.speedup / 2)
    assert rank_cpus(load_run(fixture("run.json")), 1) is None  # no MPI in that run
    # Its verdict reads mpi at 2 workers on 2 CPUs, not 2 workers beyond 1 CPU.
    (sentence,) = verdicts(run, speedup_tables(run))
    assert sentence.startswith("cpu: mpi ") and " at 2 workers" in sentence
    assert "more workers than CPUs" not in sentence
