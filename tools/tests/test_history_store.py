"""history add / import: what the store keeps of a run, on SQLite and on a real PostgreSQL
server (the `db` fixture runs each test on both): every repetition with its interference, the
disturbed flag, the fingerprints (the host name is not part of the machine's), the executor
series, foreign Google Benchmark JSON, data.js, idempotent re-ingest, migrations, bad input."""

import copy
import json
import os

import pytest
import sqlalchemy as sa
from conftest import fixture, load_fixture, planted, write_json

from parbench_tools.gbench import load_run
from parbench_tools.store import SCHEMA_VERSION, _migrate, open_store, schema_version


def _rows(db, query):
    with open_store(db) as store:
        with store.engine.connect() as conn:
            return [r._mapping for r in conn.execute(query(store.tables))]


def _count(db, table):
    with open_store(db) as store, store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(store.tables[table])).scalar()


def _add(cli, db, *args):
    status, out, err = cli("history", "add", "--db", db, *args)
    assert status == 0, err
    return out


def test_every_repetition_is_stored_with_its_interference(cli, db):
    run = load_run(fixture("run.json"))
    out = _add(cli, db, fixture("run.json"), "--branch", "main", "--tag", "ci=local",
               "--ci-url", "https://ci.example/1", "--order", "7")
    assert "1 run(s) added" in out
    stored = _rows(db, lambda t: sa.select(t["runs"]))[0]
    assert (stored["revision"], stored["dirty"]) == ("ede99af439a2", True)
    assert stored["branch"] == "main"
    assert stored["commit_order"] == 7 and stored["ci_url"] == "https://ci.example/1"
    assert json.loads(stored["tags"]) == {"ci": "local"}
    assert stored["start_time"] == "2026-11-25T20:11:25Z" and stored["host_name"] == "vm"
    assert json.loads(stored["context"])["parbench_cpu_n"] == "200000"
    assert json.loads(stored["manifest"])["baseline"] == "serial"
    expected = sum(len(b.samples) for b in run.benchmarks.values())
    assert _count(db, "samples") == expected
    name = "cpu/threads/workers:2"
    b = run.benchmarks[name]
    samples = _rows(db, lambda t: sa.select(t["samples"]).join(
        t["results"], sa.and_(t["results"].c.run_id == t["samples"].c.run_id,
                              t["results"].c.idx == t["samples"].c.idx))
        .where(t["results"].c.benchmark == name).order_by(t["samples"].c.repetition))
    assert [s["real_time"] for s in samples] == pytest.approx(b.samples)
    assert [s["interference_cpu_frac"] for s in samples] == pytest.approx(
        b.counters["interference_cpu_frac"])
    assert [s["steal_frac"] for s in samples] == pytest.approx(b.counters["steal_frac"])
    result = _rows(db, lambda t: sa.select(t["results"]).where(t["results"].c.benchmark == name))
    assert result[0]["disturbed"] is True and result[0]["executor"] == "threads"
    assert result[0]["workers"] == 2 and result[0]["aggregate"] is None


def test_the_executor_series_are_derived(cli, db):
    _add(cli, db, fixture("run.json"), fixture("granularity.json"))
    derived = {(r["kind"], r["name"]): r for r in _rows(db, lambda t: sa.select(t["derived"]))}
    speedup = derived[("speedup", "cpu threads workers:2")]
    efficiency = derived[("efficiency", "cpu threads workers:2")]
    assert efficiency["value"] == pytest.approx(speedup["value"] / 2)
    assert any(kind == "metg" for kind, _ in derived)


def test_a_re_ingested_file_adds_nothing(cli, db, tmp_path):
    _add(cli, db, fixture("run.json"), fixture("reps6.json"))
    before = {t: _count(db, t) for t in ("runs", "results", "samples", "derived", "machines")}
    # The same content, written again with other whitespace and key order, and again by import.
    again = tmp_path / "again.json"
    again.write_text(json.dumps(load_fixture("run.json"), indent=4, sort_keys=True))
    out = _add(cli, db, fixture("run.json"), str(again))
    assert "0 run(s) added, 2 already in the store" in out
    status, out, err = cli("history", "import", "--db", db, str(tmp_path))
    assert status == 0, err
    assert {t: _count(db, t) for t in before} == before


def test_the_host_name_is_a_label_not_part_of_the_machine(cli, db, tmp_path):
    data = load_fixture("reps6.json")
    other = copy.deepcopy(data)
    other["context"]["host_name"] = "another-name"
    bigger = copy.deepcopy(data)
    bigger["context"]["parbench_cpu_model"] = "Another CPU"
    _add(cli, db, write_json(tmp_path, "a.json", data), write_json(tmp_path, "b.json", other),
         write_json(tmp_path, "c.json", bigger))
    machines = _rows(db, lambda t: sa.select(t["machines"]))
    assert len(machines) == 2
    assert all("host" not in json.loads(m["fields"]) for m in machines)
    hosts = sorted(r["host_name"] for r in _rows(db, lambda t: sa.select(t["runs"])))
    assert hosts == ["another-name", "vm", "vm"]


def test_foreign_repetitions_are_samples_and_aggregates_are_never_times(cli, db, gbench_json):
    reps = gbench_json("--benchmark_repetitions=3", "--benchmark_filter=BM_Work")
    only = gbench_json("--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                       "--benchmark_filter=BM_Work")
    _add(cli, db, reps, only)
    results = _rows(db, lambda t: sa.select(t["results"], t["runs"].c.source).join(t["runs"]))
    by_file = {}
    for r in results:
        by_file.setdefault(r["source"], {})[r["benchmark"]] = r
    assert set(by_file[reps]) == set(by_file[only]) == {"BM_Work/threads:1", "BM_Work/threads:2"}
    assert all(r["aggregate"] is None and r["repetitions"] == 3 for r in by_file[reps].values())
    assert all(r["aggregate"] == "median" for r in by_file[only].values())
    with open(only, encoding="utf-8") as f:
        rows = json.load(f)["benchmarks"]
    median = {b["run_name"].replace("/real_time", ""): b["real_time"] * 1e-9 for b in rows
              if b.get("aggregate_name") == "median"}
    for name, r in by_file[only].items():
        assert r["real_median"] == pytest.approx(median[name], rel=1e-9)
    samples = _rows(db, lambda t: sa.select(t["samples"].c.run_id).distinct())
    assert len(samples) == 1, "the aggregates-only file has no samples"
    runs = _rows(db, lambda t: sa.select(t["runs"].c.foreign_file))
    assert all(r["foreign_file"] for r in runs)


def _data_js(tmp_path, cli) -> str:
    entries = []
    for i, factor in enumerate((1.0, 1.0, 1.5)):
        data = load_fixture("reps6.json")
        for b in data["benchmarks"]:
            b["real_time"] *= factor
        path = write_json(tmp_path, f"r{i}.json", data)
        for fmt in ("github-smaller", "github-bigger"):
            status, out, err = cli("export", path, "--format", fmt)
            assert status == 0, err
            entries.append((fmt, i, json.loads(out)))
    data = {"lastUpdate": 1, "repoUrl": "https://github.com/x/y", "entries": {}}
    for fmt, i, benches in entries:
        suite = "parbench times" if fmt == "github-smaller" else "parbench speedups"
        data["entries"].setdefault(suite, []).append({
            "commit": {"id": f"{i:040x}", "timestamp": f"2026-01-0{i + 1}T00:00:00Z",
                       "url": f"https://github.com/x/y/commit/{i}"},
            "date": 1767225600000 + i * 86400000, "tool": "customSmallerIsBetter",
            "benches": benches})
    path = tmp_path / "data.js"
    path.write_text("window.BENCHMARK_DATA = " + json.dumps(data))
    return str(path)


def test_data_js_seeds_a_store(cli, db, tmp_path):
    path = _data_js(tmp_path, cli)
    status, out, err = cli("history", "import", "--db", db, path)
    assert status == 0, err
    assert "6 run(s) added" in out
    runs = _rows(db, lambda t: sa.select(t["runs"]))
    assert sorted({r["revision"] for r in runs}) == [f"{i:040x}" for i in range(3)]
    times = _rows(db, lambda t: sa.select(t["results"].c.real_median, t["results"].c.aggregate)
                  .where(t["results"].c.benchmark == "cpu/threads/workers:2"))
    assert len(times) == 3 and all(r["aggregate"] == "value" for r in times)
    speedups = _rows(db, lambda t: sa.select(t["derived"]).where(t["derived"].c.kind == "speedup"))
    assert speedups and all(not r["name"].endswith(" speedup") for r in speedups)
    status, out, err = cli("history", "import", "--db", db, path)
    assert "0 run(s) added, 6 already in the store" in out


def test_an_older_schema_is_migrated(tmp_path):
    db = str(tmp_path / "old.sqlite")
    store = open_store(db, migrate=False)
    _migrate(store, target=1)
    assert schema_version(store) == 1
    store.close()
    with open_store(db) as store:
        assert schema_version(store) == SCHEMA_VERSION
        assert sa.inspect(store.engine).has_table("change_points")


@pytest.mark.parametrize("make,message", [
    (lambda tmp: str(tmp), "is a directory, not a database file"),
    (lambda tmp: "mysql://u@localhost/x", "the store runs on SQLite or PostgreSQL"),
])
def test_a_bad_store_is_one_line(cli, tmp_path, make, message):
    status, _, err = cli("history", "add", "--db", make(tmp_path), fixture("reps6.json"))
    assert status == 2 and message in err and err.count("\n") == 1


def test_a_store_from_newer_tools_is_refused(cli, tmp_path):
    db = str(tmp_path / "new.sqlite")
    with open_store(db) as store, store.engine.begin() as conn:
        conn.execute(store.tables["parbench_schema"].update().values(version=99))
    status, _, err = cli("history", "runs", "--db", db)
    assert status == 2 and "schema version 99" in err and err.count("\n") == 1


def test_an_unreachable_server_is_one_line(cli, tmp_path):
    url = f"postgresql://nobody@/x?host={tmp_path}&port=1"
    status, _, err = cli("history", "runs", "--db", url)
    assert status == 2 and "cannot open the store" in err and err.count("\n") == 1


def test_bad_files_are_one_line_and_leave_the_store_as_it_was(cli, db, tmp_path):
    _add(cli, db, fixture("reps6.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{\"benchmarks\": [")
    status, _, err = cli("history", "add", "--db", db, str(bad))
    assert status == 2 and "bad.json" in err and err.count("\n") == 1
    status, _, err = cli("history", "import", "--db", db, str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err
    assert _count(db, "runs") == 1


@pytest.mark.parametrize("command", ["add", "import"])
def test_a_failed_first_add_leaves_no_store_behind(cli, tmp_path, command):
    db = tmp_path / "runs.sqlite"
    foreign = tmp_path / "foreign.json"
    foreign.write_text("{\"rows\": []}")
    for bad in (str(tmp_path / "missing.json"), str(foreign)):
        status, _, err = cli("history", command, "--db", str(db), fixture("reps6.json"), bad)
        assert status == 2 and os.path.basename(bad) in err and err.count("\n") == 1
        assert sorted(os.listdir(tmp_path)) == ["foreign.json"]


def test_disturbed_benchmarks_are_flagged_at_the_stores_limit(cli, db, tmp_path):
    quiet = planted(load_fixture("reps6.json"), 0.0)
    loud = planted(quiet, 0.5, match=lambda n: "workers:2" in n)
    _add(cli, db, write_json(tmp_path, "quiet.json", quiet),
         write_json(tmp_path, "loud.json", loud))
    rows = _rows(db, lambda t: sa.select(t["results"].c.benchmark, t["results"].c.disturbed,
                                         t["runs"].c.source).join(t["runs"]))
    flagged = {(r["source"].split("/")[-1], r["benchmark"]) for r in rows if r["disturbed"]}
    assert flagged and all(src == "loud.json" and "workers:2" in name for src, name in flagged)


def test_a_newer_bench_recording_more_of_the_same_machine_continues_its_series(cli, db,
                                                                               tmp_path):
    old = load_fixture("reps6.json")  # bench before SMT, memory and kernel were recorded
    newer = copy.deepcopy(old)
    newer["context"].update(parbench_smt="0", parbench_memory_bytes="25276194816",
                            parbench_kernel="6.1.0", date="2026-12-01T00:00:00+00:00")
    upgraded = copy.deepcopy(newer)
    upgraded["context"].update(parbench_kernel="6.9.0", date="2026-12-02T00:00:00+00:00")
    _add(cli, db, write_json(tmp_path, "old.json", old), write_json(tmp_path, "new.json", newer),
         write_json(tmp_path, "upgraded.json", upgraded))
    machines = _rows(db, lambda t: sa.select(t["machines"]).order_by(t["machines"].c.id))
    assert len(machines) == 2, "the same machine, then another kernel"
    assert json.loads(machines[0]["fields"])["kernel"] == "6.1.0", "completed by the newer run"
    runs = _rows(db, lambda t: sa.select(t["runs"].c.machine_id).order_by(t["runs"].c.id))
    assert [r["machine_id"] for r in runs] == [machines[0]["id"], machines[0]["id"],
                                               machines[1]["id"]]


def test_an_archive_of_runs_is_imported_with_the_commit_order_they_carry(cli, db, tmp_path):
    import tarfile
    runs = []
    for i, order in enumerate((12, 7)):
        data = load_fixture("reps6.json")
        data["context"].update(parbench_git_revision=f"{i:012x}", parbench_commit_order=str(order),
                               parbench_commit_time=f"2026-01-0{i + 1}T00:00:00+00:00")
        runs.append(write_json(tmp_path, f"r{i}.json", data))
    archive = tmp_path / "runs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in runs:
            tar.add(path, arcname=os.path.basename(path))
    status, out, err = cli("history", "import", "--db", db, str(archive))
    assert status == 0 and "2 run(s) added" in out, err
    stored = _rows(db, lambda t: sa.select(t["runs"]).order_by(t["runs"].c.commit_order))
    order = [(r["revision"], r["commit_order"]) for r in stored]
    assert order == [(f"{1:012x}", 7), (f"{0:012x}", 12)]
    assert stored[0]["commit_time"] == "2026-01-02T00:00:00Z"
    assert stored[0]["source"].endswith("runs.tar.gz:r1.json")
    status, out, _ = cli("history", "import", "--db", db, *runs)
    assert "0 run(s) added, 2 already in the store" in out, "the same runs as files"
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not an archive")
    status, _, err = cli("history", "import", "--db", db, str(bad))
    assert status == 2 and "not a readable tar archive" in err and err.count("\n") == 1
