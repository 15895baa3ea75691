"""Reading the run store: runs in history order, series of one benchmark (or executor series)
per machine, build, workload parameters and branch."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from .fingerprint import changed
from .store import Store


@dataclass(frozen=True)
class RunInfo:
    """A stored run, as the series and the reports need it."""

    id: int
    revision: str
    dirty: bool
    branch: str
    commit_order: int | None
    commit_time: str | None
    start_time: str | None
    host_name: str | None
    machine_id: int
    build_id: int
    settings_fp: str
    source: str
    noise_before: float | None
    noise_after: float | None
    tags: str = "{}"
    settings: str = "{}"  # JSON: the run's workload parameters
    manifest: str | None = None  # JSON text

    def family_settings(self, family: str) -> dict:
        """The workload parameters a benchmark of `family` depends on in this run."""
        return _family_settings(self.settings, self.manifest, family)

    @property
    def order_key(self) -> tuple:
        """History order: the commit's place (git's ancestor count), then its time, then when
        the run started, then when it was stored."""
        return (self.commit_order if self.commit_order is not None else -1,
                self.commit_time or "", self.start_time or "", self.id)

    @property
    def label(self) -> str:
        return self.revision[:12] + ("-dirty" if self.dirty else "")


@functools.lru_cache(maxsize=4096)
def _family_settings(settings: str, manifest: str | None, family: str) -> dict:
    from .fingerprint import family_settings
    families: set[str] = set()
    if manifest:
        try:
            families = {f.get("name") for f in json.loads(manifest).get("families", [])
                        if isinstance(f, dict)}
        except (ValueError, AttributeError):
            families = set()
    return family_settings(json.loads(settings), family, families | {family})


def load_runs(store: Store, branch: str | None = None) -> list[RunInfo]:
    """Every run (of `branch`), in history order."""
    import sqlalchemy as sa
    runs = store.tables["runs"]
    cols = [runs.c[name] for name in RunInfo.__dataclass_fields__]
    query = sa.select(*cols)
    if branch is not None:
        query = query.where(runs.c.branch == branch)
    with store.engine.connect() as conn:
        rows = [RunInfo(**row._mapping) for row in conn.execute(query)]
    return sorted(rows, key=lambda r: r.order_key)


def run_table(store: Store, branch: str | None = None) -> str:
    """The stored runs as Markdown, in history order."""
    import sqlalchemy as sa
    runs = load_runs(store, branch)
    results = store.tables["results"]
    with store.engine.connect() as conn:
        counts = dict(conn.execute(sa.select(results.c.run_id, sa.func.count())
                                   .group_by(results.c.run_id)).all())
        disturbed = dict(conn.execute(sa.select(results.c.run_id, sa.func.count())
                                      .where(results.c.disturbed.is_(True))
                                      .group_by(results.c.run_id)).all())
    out = [f"{len(runs)} run(s) in {store.db}" + (f" on branch {branch}" if branch else ""),
           "", "| run | revision | branch | order | commit time | started | host | "
           "benchmarks | disturbed | tags |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        tags = ", ".join(f"{k}={v}" if v else k for k, v in json.loads(r.tags).items())
        out.append(f"| {r.id} | `{r.label}` | {r.branch} | "
                   f"{r.commit_order if r.commit_order is not None else '—'} | "
                   f"{r.commit_time or '—'} | {r.start_time or '—'} | {r.host_name or '—'} | "
                   f"{counts.get(r.id, 0)} | {disturbed.get(r.id, 0)} | {tags or '—'} |")
    return "\n".join(out) + "\n"


# --- series ----------------------------------------------------------------------------------

TIME_METRICS = ("real_time", "cpu_time")
EXECUTOR_KINDS = ("speedup", "efficiency", "metg")
BIGGER_IS_BETTER = {"speedup": True, "efficiency": True}  # times and METG: smaller is better
UNITS = {"real_time": "s", "cpu_time": "s", "metg": "s", "speedup": "x", "efficiency": ""}


@dataclass(frozen=True)
class SeriesKey:
    """One series: a benchmark's time (or an executor series) on one machine, one build and one
    branch. (A change of its workload parameters restarts the series: changes.py, gate.py.)"""

    machine: str  # fingerprints
    build: str
    branch: str
    name: str  # the benchmark, or the executor series' name ('cpu threads workers:2')
    metric: str  # real_time, cpu_time, speedup, efficiency, metg

    @property
    def label(self) -> str:
        """What thresholds match: the benchmark's name, or 'KIND NAME' for executor series."""
        return self.name if self.metric in TIME_METRICS else f"{self.metric} {self.name}"

    @property
    def bigger_is_better(self) -> bool:
        return BIGGER_IS_BETTER.get(self.metric, False)

    @property
    def family(self) -> str:
        """The family: a benchmark name's first part, an executor series name's first word."""
        return self.name.split("/")[0] if self.metric in TIME_METRICS else self.name.split()[0]

    def as_json(self) -> dict:
        return {"machine": self.machine, "build": self.build, "branch": self.branch,
                "name": self.name, "metric": self.metric}

    @property
    def digest(self) -> str:
        from .fingerprint import digest
        return digest(self.as_json())


@dataclass
class Point:
    """One run's value in a series (None: the benchmark failed in that run)."""

    run: RunInfo
    value: float | None
    disturbed: bool
    digest: str = ""  # the run's content hash
    aggregate: str | None = None  # None: a median of stored repetitions; else no repetitions

    @property
    def clean(self) -> bool:
        return not self.disturbed and self.value is not None and self.value > 0


def _runs_by_id(store: Store, where: list) -> dict[int, tuple[RunInfo, str, str, str]]:
    """The runs `where` selects: (RunInfo, machine fingerprint, build fingerprint, digest)."""
    import sqlalchemy as sa
    t = store.tables
    runs = t["runs"]
    query = sa.select(*[runs.c[name] for name in RunInfo.__dataclass_fields__],
                      runs.c.digest, t["machines"].c.fingerprint.label("machine_fp"),
                      t["builds"].c.fingerprint.label("build_fp")).select_from(
        runs.join(t["machines"], t["machines"].c.id == runs.c.machine_id).join(
            t["builds"], t["builds"].c.id == runs.c.build_id))
    for condition in where:
        query = query.where(condition(runs))
    fields = list(RunInfo.__dataclass_fields__)
    with store.engine.connect() as conn:
        return {m["id"]: (RunInfo(**{f: m[f] for f in fields}), m["machine_fp"], m["build_fp"],
                          m["digest"])
                for m in (row._mapping for row in conn.execute(query))}


def _value_rows(store: Store, metric: str, run_ids: list[int] | None,
                names: list[str] | None):
    """(run id, series name, value, disturbed, aggregate) of one metric: a narrow query, the
    runs' columns are read once (_runs_by_id)."""
    import sqlalchemy as sa
    t = store.tables
    if metric in TIME_METRICS:
        r = t["results"]
        value = r.c.real_median if metric == "real_time" else r.c.cpu_median
        query = sa.select(r.c.run_id, r.c.benchmark, value, r.c.disturbed, r.c.aggregate)
        name_col, run_col = r.c.benchmark, r.c.run_id
    else:
        d = t["derived"]
        query = sa.select(d.c.run_id, d.c.name, d.c.value, d.c.disturbed,
                          sa.literal("derived")).where(d.c.kind == metric)
        name_col, run_col = d.c.name, d.c.run_id
    if run_ids is not None:
        query = query.where(run_col.in_(run_ids))
    if names is not None:
        query = query.where(name_col.in_(names))
    with store.engine.connect() as conn:
        return conn.execute(query).all()


def load_series(store: Store, metrics: tuple[str, ...], branch: str | None = None,
                run_ids: list[int] | None = None,
                names: list[str] | None = None) -> dict[SeriesKey, list[Point]]:
    """Every series of `metrics` (of `branch`, of the runs `run_ids`, of the names `names`),
    each in history order."""
    where = []
    if branch is not None:
        where.append(lambda runs: runs.c.branch == branch)
    if run_ids is not None:
        where.append(lambda runs: runs.c.id.in_(run_ids))
    runs = _runs_by_id(store, where)
    out: dict[SeriesKey, list[Point]] = {}
    for metric in metrics:
        rows = _value_rows(store, metric, run_ids, names)
        for run_id, name, value, disturbed, aggregate in rows:
            found = runs.get(run_id)
            if found is None:  # another branch's run
                continue
            run, machine, build, digest = found
            key = SeriesKey(machine, build, run.branch, name, metric)
            out.setdefault(key, []).append(Point(run, value, bool(disturbed), digest,
                                                 aggregate))
    for points in out.values():
        points.sort(key=lambda p: p.run.order_key)
    return out


def settings_breaks(key: SeriesKey, points: list[Point]) -> dict[int, list[str]]:
    """Where the series' workload parameters change (index of the first point run with the new
    ones: what changed): each such point starts a new series."""
    out = {}
    for i in range(1, len(points)):
        a = points[i - 1].run.family_settings(key.family)
        b = points[i].run.family_settings(key.family)
        what = changed(a, b) if a is not b else []
        if what:
            out[i] = what
    return out
