"""The tools follow the run's manifest: executor names, their order, the baseline, which axes
apply to which executor, counter directions and references. No executor name is hard-coded
where the manifest says it; foreign JSON (no manifest) is read as before."""

import copy
import csv
import io
import json
import re

import pytest
from conftest import (MANIFEST_KEY, load_fixture, manifest_of, rename_executor,
                      without_manifest, write_json)

from parbench_tools.gbench import load_run
from parbench_tools.speedup import speedup_tables


def _rows(markdown: str, executor: str) -> list:
    return [line for line in markdown.splitlines() if line.startswith(f"| {executor} |")]


def _svg_text(path) -> str:
    return path.read_text(encoding="utf-8")


def _add_toy(data: dict) -> dict:
    """run.json with a new executor 'toy' (second in table order) that ran cpu at 1 and 2
    workers: its benchmarks are copies of the threads ones, renamed."""
    data = copy.deepcopy(data)
    manifest = manifest_of(data)
    manifest["executors"].insert(1, {"name": "toy", "summary": "a toy executor",
                                     "traits": {"single_worker": False}})
    for fam in manifest["families"]:
        if fam["name"] == "cpu":
            fam["executors"].insert(1, "toy")
    data["context"][MANIFEST_KEY] = json.dumps(manifest)
    toys = []
    for b in data["benchmarks"]:
        if b.get("run_name", "").startswith("cpu/threads/"):
            toy = copy.deepcopy(b)
            for key in ("name", "run_name"):
                toy[key] = toy[key].replace("cpu/threads/", "cpu/toy/")
            toy["real_time"] *= 2  # a slower executor: speedups differ from the threads ones
            toys.append(toy)
    data["benchmarks"] += toys
    return data


@pytest.mark.parametrize("variant", ["renamed", "new"])
def test_an_executor_named_by_the_manifest_gets_rows_in_speedup_plot_and_report(
        cli, tmp_path, variant):
    if variant == "renamed":  # "threads" is called "pool" in every name and in the manifest
        data, name, gone = rename_executor(load_fixture("run.json"), "threads", "pool"), "pool", \
            "threads"
    else:  # a new executor "toy" the tools have never heard of
        data, name, gone = _add_toy(load_fixture("run.json")), "toy", None
    run = write_json(tmp_path, "run.json", data)

    status, out, err = cli("speedup", run)
    assert status == 0, err
    rows = _rows(out.split("### cpu\n")[1].split("###")[0], name)
    assert len(rows) == 1 and "×" in rows[0], out
    if gone:
        assert not _rows(out, gone)
    status, out, _ = cli("speedup", run, "--format", "csv")
    executors = {r["executor"] for r in csv.DictReader(io.StringIO(out))}
    assert name in executors and (gone is None or gone not in executors)
    if variant == "new":  # table rows follow the manifest's order: toy before threads
        section = cli("speedup", run)[1].split("### cpu\n")[1].split("###")[0]
        order = [line.split(" | ")[0].lstrip("| ") for line in section.splitlines()
                 if line.startswith("| ") and "---" not in line][1:]
        cpu = next(f for f in manifest_of(data)["families"] if f["name"] == "cpu")
        assert order == ["toy"] + [e for e in cpu["executors"] if e not in ("toy", "serial")]
        assert order[:3] == ["toy", "threads", "processes"]

    status, _, err = cli("plot", run, "--out", str(tmp_path / "speedup"))
    assert status == 0, err
    svg = _svg_text(tmp_path / "speedup.svg")
    assert re.search(rf">\s*{name}\s*<", svg), f"no '{name}' line in the plot's legend"

    status, _, err = cli("report", run, "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<th>{name}</th>" in page
    if gone:
        assert f"<th>{gone}</th>" not in page


def test_the_baseline_is_the_manifests(cli, tmp_path):
    data = rename_executor(load_fixture("run.json"), "serial", "one_by_one")
    status, out, err = cli("speedup", write_json(tmp_path, "run.json", data))
    assert status == 0, err
    assert "one_by_one: " in out and "per iteration (median" in out
    assert "serial" not in out


def test_without_a_manifest_only_the_suites_names_are_executors(cli, tmp_path):
    # Foreign JSON: "pool" is not an executor, so its benchmarks are in no speedup table.
    data = without_manifest(rename_executor(load_fixture("run.json"), "threads", "pool"))
    status, out, err = cli("speedup", write_json(tmp_path, "run.json", data))
    assert status == 0, err
    assert not _rows(out, "pool") and not _rows(out, "threads") and _rows(out, "processes")


def test_an_axis_of_one_executor_takes_the_baseline_without_it(tmp_path):
    # transport applies to the process executor only (here renamed 'procs'): its shm case's
    # baseline is the serial run of the same size.
    data = rename_executor(load_fixture("run.json"), "processes", "procs")
    run = load_run(write_json(tmp_path, "run.json", data))
    tables = {t.label: t for t in speedup_tables(run)}
    shm = tables["transfer size:64KiB transport:shm"]
    assert shm.error is None and shm.executors == ("procs",)
    assert shm.baseline_s == run.benchmarks["transfer/serial/size:64KiB"].median


def test_counter_directions_and_units_come_from_the_manifest(cli, tmp_path):
    data = load_fixture("run.json")
    manifest = manifest_of(data)
    for fam in manifest["families"]:
        if fam["name"] == "io":  # pretend io's throughput were smaller-is-better
            fam["counters"] = {"bytes_per_second": {"unit": "B/s", "bigger_is_better": False}}
    data["context"][MANIFEST_KEY] = json.dumps(manifest)
    run = write_json(tmp_path, "run.json", data)

    def names(fmt):
        return {e["name"]: e for e in json.loads(cli("export", run, "--format", fmt)[1])}

    bigger, smaller = names("github-bigger"), names("github-smaller")
    io_name = "io/threads/workers:2/mode:durable/payload:local bytes_per_second"
    assert io_name in smaller and io_name not in bigger and smaller[io_name]["unit"] == "B/s"
    assert bigger["transfer/serial/size:4KiB bytes_per_second"]["unit"] == "B/s"
    assert bigger["cpu/serial tasks_per_second"]["unit"] == "1/s"  # the run-wide counter
    assert smaller["overhead/threads/workers:2 ns_per_task"]["unit"] == "ns"
    # Without a manifest: the known throughputs only, in the units the tools always used.
    plain = write_json(tmp_path, "plain.json", without_manifest(data))
    bigger = {e["name"]: e for e in json.loads(cli("export", plain, "--format",
                                                   "github-bigger")[1])}
    assert bigger[io_name]["unit"] == "bytes/s"
    assert not any("ns_per_task" in n for n in bigger)


@pytest.mark.parametrize("compare_to", ["processes", ["processes"]])
def test_goals_find_the_raw_pipe_reference_through_the_manifest(cli, tmp_path, compare_to):
    data = load_fixture("executors.json")
    manifest = manifest_of(data)
    for fam in manifest["families"]:
        for ref in fam["references"]:
            ref["name"] = "pipe_floor"
            ref["compare_to"] = compare_to  # the contract's one name, or bench's list
    data["context"][MANIFEST_KEY] = json.dumps(manifest)
    for b in data["benchmarks"]:
        for key in ("name", "run_name"):
            b[key] = b[key].replace("roundtrip/raw_pipe", "roundtrip/pipe_floor")
    _, out, _ = cli("goals", write_json(tmp_path, "run.json", data))
    row = next(line for line in out.splitlines() if "single-task round trip" in line)
    assert "roundtrip/pipe_floor" in row


def test_timelines_read_executor_names_with_the_runs_manifest(cli, tmp_path):
    run = rename_executor(load_fixture("run.json"), "threads", "pool")
    trace = load_fixture("run.trace.json")
    for e in trace["traceEvents"]:
        if e.get("name") == "process_name":
            e["args"]["name"] = e["args"]["name"].replace("/threads/", "/pool/")
    trace_path = write_json(tmp_path, "run.trace.json", trace)
    write_json(tmp_path, "run.json", run)  # next to the trace: its manifest is used
    status, out, err = cli("timeline", trace_path, "--out-dir", str(tmp_path / "a"),
                           "--formats", "svg")
    assert status == 0, err
    svg = (tmp_path / "a" / "timeline_cpu_w2.svg").read_text(encoding="utf-8")
    assert re.search(r">\s*pool\s*<", svg) and re.search(r">\s*processes\s*<", svg)


MALFORMED = {
    "not JSON": ("{schema: 1", "is not JSON"),
    "a number": (7, "must be an object"),
    "schema 2": ({"schema": 2}, "these tools read schema 1"),
    "no executors": ({"schema": 1, "baseline": "serial"}, "executors must be a list"),
    "baseline unknown": ({"schema": 1, "baseline": "x", "executors": [{"name": "serial"}]},
                         "'x' is not one of the executors"),
    "executor twice": ({"schema": 1, "baseline": "a",
                        "executors": [{"name": "a"}, {"name": "a"}]}, "lists a name twice"),
    "axis of an unknown executor": (
        {"schema": 1, "baseline": "a", "executors": [{"name": "a"}],
         "families": [{"name": "f", "axes": [{"name": "x", "values": ["1"], "executors": ["b"]}]}]},
        "names 'b', which is not an executor"),
    "counter direction not a bool": (
        {"schema": 1, "baseline": "a", "executors": [{"name": "a"}],
         "counters": {"c": {"unit": "s", "bigger_is_better": "yes"}}},
        "bigger_is_better must be true or false"),
    "executor name with a slash": ({"schema": 1, "baseline": "a/b",
                                    "executors": [{"name": "a/b"}]}, "without '/'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["speedup", "compare", "export"])
def test_a_malformed_manifest_is_one_line_and_status_2(cli, tmp_path, case, command):
    manifest, expect = MALFORMED[case]
    data = without_manifest(load_fixture("reps6.json"))
    data["context"][MANIFEST_KEY] = manifest if isinstance(manifest, str) else json.dumps(manifest)
    if case == "a number":
        data["context"][MANIFEST_KEY] = manifest
    path = write_json(tmp_path, "bad.json", data)
    args = {"speedup": ["speedup", path], "compare": ["compare", path, path],
            "export": ["export", path, "--format", "bmf"]}[command]
    status, out, err = cli(*args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert path in err and MANIFEST_KEY in err and expect in err, err
