"""Shared helpers: run the CLI's main() in-process and capture what it prints; variants of the
fixtures (no manifest, a renamed executor, planted interference and noise); a real Google
Benchmark program, built and run."""

import copy
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from parbench_tools.cli import main

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
GBENCH_SOURCE = os.path.join(os.path.dirname(__file__), "gbench_program", "prog.cc")
MANIFEST_KEY = "parbench_manifest"


def fixture(name: str) -> str:
    return os.path.join(FIXTURES, name)


def load_fixture(name: str) -> dict:
    with open(fixture(name), encoding="utf-8") as f:
        return json.load(f)


def write_json(tmp_path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit status, stdout, stderr)."""

    def run(*args):
        try:
            status = main(list(args))
        except SystemExit as e:  # argparse's --help and usage errors
            status = e.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


# --- manifests and planted variants ----------------------------------------------------------
# Every fixture was written by the real bench and carries the manifest it wrote; tests derive
# variants from copies (a renamed executor, no manifest, planted interference).

def manifest_of(data: dict) -> dict:
    return json.loads(data["context"][MANIFEST_KEY])


def without_manifest(data: dict) -> dict:
    """A copy of a run as foreign Google Benchmark JSON: no manifest."""
    data = copy.deepcopy(data)
    data["context"].pop(MANIFEST_KEY, None)
    return data


def rename_executor(data: dict, old: str, new: str) -> dict:
    """A copy of a run (with a manifest) in which executor `old` is called `new` in every
    benchmark name and everywhere in the manifest."""
    data = copy.deepcopy(data)
    manifest = manifest_of(data)

    def swap(name):
        return new if name == old else name

    for e in manifest["executors"]:
        e["name"] = swap(e["name"])
    manifest["baseline"] = swap(manifest["baseline"])
    for fam in manifest["families"]:
        fam["executors"] = [swap(e) for e in fam.get("executors", [])]
        for axis in fam.get("axes", []):
            if "executors" in axis:
                axis["executors"] = [swap(e) for e in axis["executors"]]
        for ref in fam.get("references", []):
            if isinstance(ref.get("compare_to"), list):  # what bench writes
                ref["compare_to"] = [swap(e) for e in ref["compare_to"]]
            elif ref.get("compare_to"):
                ref["compare_to"] = swap(ref["compare_to"])
    data["context"][MANIFEST_KEY] = json.dumps(manifest)
    for b in data["benchmarks"]:
        for key in ("name", "run_name"):
            if key in b:
                parts = b[key].split("/")
                if len(parts) > 1:
                    parts[1] = swap(parts[1])
                b[key] = "/".join(parts)
    return data


INTERFERENCE = ("interference_cpu_frac", "steal_frac")


def planted(data: dict, interference: float = 0.0, match=None, noise: float | None = 1.0) -> dict:
    """A copy of a run in which every repetition (of the benchmarks whose run_name `match`
    accepts; all without it) reads `interference` as interference_cpu_frac and 0 steal, and
    (noise not None) both noise probes read `noise`: a real run made quiet, or disturbed
    exactly where a test wants it."""
    data = copy.deepcopy(data)
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if all(key in b for key in INTERFERENCE) and (match is None or match(name)):
            b["interference_cpu_frac"], b["steal_frac"] = interference, 0.0
    if noise is not None:
        for key in ("parbench_noise_efficiency", "parbench_noise_efficiency_end"):
            data["context"][key] = f"{noise:.6f}"
    return data


def quiet_fixture(tmp_path, name: str) -> str:
    """The fixture made quiet (no interference, both noise probes 1.0), written to tmp_path."""
    return write_json(tmp_path, f"quiet-{name}", planted(load_fixture(name)))


# --- a real Google Benchmark program --------------------------------------------------------

@pytest.fixture(scope="session")
def gbench_program(tmp_path_factory) -> str:
    """tests/gbench_program/prog.cc built against Debian's libbenchmark; skipped (with the
    reason) only when g++ or libbenchmark is missing."""
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed: the Google Benchmark test program cannot be built")
    exe = tmp_path_factory.mktemp("gbench_program") / "prog"
    result = subprocess.run([gxx, "-O1", "-std=c++17", GBENCH_SOURCE, "-lbenchmark", "-lpthread",
                             "-o", str(exe)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        missing = ("benchmark/benchmark.h" in result.stderr
                   or "cannot find -lbenchmark" in result.stderr)
        if missing:
            pytest.skip("libbenchmark is not installed (apt-get install libbenchmark-dev): the "
                        "Google Benchmark test program cannot be built")
        pytest.fail(f"the Google Benchmark test program does not build:\n{result.stderr[-3000:]}")
    return str(exe)


@pytest.fixture(scope="session")
def gbench_json(gbench_program, tmp_path_factory):
    """gbench_json(*flags, scale=1, tag="") -> the JSON file the real program wrote when run
    with those flags (and PROG_SCALE=scale, to plant a slowdown). Cached per arguments: a
    different `tag` gives another, independent run."""
    directory = tmp_path_factory.mktemp("gbench_runs")
    cache: dict = {}

    def run(*flags, scale=1, tag=""):
        key = (flags, scale, tag)
        if key not in cache:
            out = directory / f"run{len(cache)}.json"
            env = dict(os.environ, PROG_SCALE=str(scale))
            result = subprocess.run(
                [gbench_program, "--benchmark_min_time=0.01", *flags, f"--benchmark_out={out}",
                 "--benchmark_out_format=json"],
                env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr
            cache[key] = str(out)
        return cache[key]

    return run


# --- the run store on both databases ---------------------------------------------------------

def _postgres_bin() -> str | None:
    """The folder of PostgreSQL's server programs (Debian: /usr/lib/postgresql/V/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class PostgresServer:
    """A private PostgreSQL server in a temporary folder, on a Unix socket only (no TCP port
    to collide with), trust authentication. PostgreSQL refuses to run as root: as root the
    server runs as an unprivileged user (postgres, else nobody) that owns the folder."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="parbench-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = 5432
        self.user, self.uid, self.gid = None, None, None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid
                break
            os.chown(self.dir, self.uid, self.gid)
        self.started = False
        self.count = 0

    def _run(self, *args):
        kwargs = {}
        if self.uid is not None:  # as root: drop to the server's own user for its programs
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
        result = subprocess.run([os.path.join(self.bindir, args[0]), *args[1:]],
                                capture_output=True, text=True, timeout=120, cwd=self.dir,
                                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, **kwargs)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr or result.stdout}")

    def start(self) -> None:
        self._run("initdb", "-D", self.data, "-U", "parbench", "--auth=trust", "--no-locale",
                  "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o",
                  f"-k {self.dir} -c listen_addresses='' -p {self.port} -c fsync=off", "start")
        self.started = True

    def url(self, database: str) -> str:
        return f"postgresql://parbench@/{database}?host={self.dir}&port={self.port}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import sqlalchemy as sa
        self.count += 1
        name = f"t{self.count}"
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT",
                                  future=True)
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server, started on first use and always stopped and removed;
    skipped (with the reason) only when PostgreSQL's server programs are not installed."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs are not installed (apt-get install "
                    "postgresql): the store's PostgreSQL tests cannot run")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A fresh, empty store's --db: a SQLite file, and a database on the private PostgreSQL
    server (each test runs on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return request.getfixturevalue("postgres_server").new_database()


# --- synthetic runs for the store's tests -----------------------------------------------------

def synthetic_run(path, index: int, levels: dict, reps: int = 5, interference=None,
                  rng=None, rep_noise: float = 0.01, context: dict | None = None) -> str:
    """Writes a Google Benchmark file of run `index` (revision: index in 12 hex digits, started
    index minutes after a fixed time): each benchmark NAME of `levels` at that level (seconds)
    over `reps` repetitions (lognormal, rep_noise), each repetition's interference_cpu_frac
    `interference[NAME]` (default 0). The machine and build are reps6.json's."""
    import numpy as np
    rng = rng or np.random.default_rng(index)
    base = load_fixture("reps6.json")["context"]
    ctx = {k: v for k, v in base.items() if k != MANIFEST_KEY}
    ctx.update(date=f"2026-01-01T{index // 60:02d}:{index % 60:02d}:00+00:00",
               parbench_git_revision=f"{index:012x}" + "f" * 28,
               parbench_noise_efficiency="1.000000", parbench_noise_efficiency_end="1.000000",
               **(context or {}))
    rows = []
    for name, level in levels.items():
        frac = (interference or {}).get(name, 0.0)
        for r in range(reps):
            t = level * float(rng.lognormal(0, rep_noise)) if rep_noise else level
            rows.append({"name": name, "run_name": name, "run_type": "iteration",
                         "repetitions": reps, "repetition_index": r, "threads": 1,
                         "iterations": 100, "real_time": t * 1e9, "cpu_time": t * 1e9,
                         "time_unit": "ns", "interference_cpu_frac": frac, "steal_frac": 0.0})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"context": ctx, "benchmarks": rows}, f)
    return str(path)
