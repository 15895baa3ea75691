"""The data of the published site (publish.py writes it): the runs, every series with its points,
intervals and change points (as `history changes` finds and keeps them), the overview's row
per series (latest value, change against its baseline and a pinned revision, a sparkline, a
status), the change points for the regressions page and its feeds, and each run's page. Pure
functions over what the store holds; the pages' HTML and JavaScript are package data
(site/)."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field

from . import changepoint as cpd
from . import changes as ch
from .errors import ToolError
from .gate import MIN_RUNS, WINDOW
from .history import TIME_METRICS, UNITS, RunInfo, load_runs
from .stats import CONFIDENCE, median_interval, median_ranks, ratio_level
from .store import Store

SPARK_POINTS = 30  # the sparkline: the last 30 clean runs
DIGITS = 7  # significant digits kept of the values in the site's data (its size) ...
DRAWN = 5  # ... of what is only drawn (a trend's repetitions and intervals) ...
TESTED = 8  # ... and of the repetitions the compare page's U test ranks
# The overview's statuses, regressions first (its order).
REGRESSED, IMPROVED, DISTURBED, TOO_FEW, STABLE = (
    "regressed", "improved", "disturbed", "too few runs", "stable")
STATUS_ORDER = (REGRESSED, IMPROVED, DISTURBED, TOO_FEW, STABLE)


@dataclass
class Options:
    branch: str | None = None
    pin: str | None = None  # a revision (or a unique prefix of one) to compare against
    thresholds: object = None  # name -> percent or None ('off'): compare's thresholds file
    min_change_pct: float = ch.DEFAULT_MIN_CHANGE
    max_p: float = cpd.MAX_P
    title: str = "parbench"
    site_url: str | None = None  # where the site is served (absolute links in the feeds)


@dataclass
class Data:
    """What the store holds, read once: runs in history order, each run's machine and build
    fingerprints, every series' report, every benchmark's repetitions."""

    options: Options
    runs: list[RunInfo]
    fingerprints: dict[int, tuple[str, str]]
    machines: dict[str, dict]  # fingerprint -> fields
    builds: dict[str, dict]
    reports: list[ch.SeriesReport]
    repetitions: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    pin: str | None = None  # the full pinned revision


def num(x: float | None, digits: int = DIGITS) -> float | None:
    """`x` to `digits` significant digits (None for None, NaN and infinities)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def series_id(key) -> str:
    return key.digest


def _fingerprints(store: Store) -> tuple[dict, dict, dict]:
    import sqlalchemy as sa
    t = store.tables
    runs = t["runs"]
    with store.engine.connect() as conn:
        pairs = {r.id: (r.m, r.b) for r in conn.execute(
            sa.select(runs.c.id, t["machines"].c.fingerprint.label("m"),
                      t["builds"].c.fingerprint.label("b"))
            .join(t["machines"]).join(t["builds"]))}
        machines = {r.fingerprint: json.loads(r.fields) for r in conn.execute(
            sa.select(t["machines"].c.fingerprint, t["machines"].c.fields))}
        builds = {r.fingerprint: json.loads(r.fields) for r in conn.execute(
            sa.select(t["builds"].c.fingerprint, t["builds"].c.fields))}
    return pairs, machines, builds


def _repetitions(store: Store, metric: str = "real_time") -> dict[tuple[int, str], list[float]]:
    """(run id, benchmark) -> its repetitions' times (one query)."""
    import sqlalchemy as sa
    t = store.tables
    s, r = t["samples"], t["results"]
    value = s.c.real_time if metric == "real_time" else s.c.cpu_time
    query = (sa.select(s.c.run_id, r.c.benchmark, value)
             .join(r, sa.and_(r.c.run_id == s.c.run_id, r.c.idx == s.c.idx))
             .order_by(s.c.run_id, s.c.idx, s.c.repetition))
    out: dict[tuple[int, str], list[float]] = {}
    with store.engine.connect() as conn:
        for run_id, name, v in conn.execute(query):
            if v is not None:
                out.setdefault((run_id, name), []).append(v)
    return out


def pinned(runs: list[RunInfo], pin: str) -> str:
    """The stored revision --pin names (in full, or a unique prefix)."""
    found = sorted({r.revision for r in runs if r.revision.startswith(pin)})
    if len(found) != 1:
        what = ("no stored run" if not found
                else f"{len(found)} revisions ({', '.join(x[:12] for x in found[:3])})")
        raise ToolError("--pin", f"'{pin}' matches {what}")
    return found[0]


def load(store: Store, options: Options) -> Data:
    """Reads the store and finds (and keeps) every series' change points, as `history
    changes` does."""
    runs = load_runs(store, options.branch)
    if not runs:
        where = f" on branch {options.branch}" if options.branch else ""
        raise ToolError(store.db, f"holds no run{where}: nothing to publish (add runs with "
                                  "`parbench-tools history add`)")
    pin = pinned(runs, options.pin) if options.pin else None
    metrics = ("real_time",) + tuple(k for k in UNITS if k not in TIME_METRICS)
    reports = ch.find_changes(store, ch.Options(metrics, options.branch, None,
                                                options.thresholds, options.min_change_pct,
                                                options.max_p))
    pairs, machines, builds = _fingerprints(store)
    return Data(options, runs, pairs, machines, builds, reports, _repetitions(store), pin)


# --- runs ------------------------------------------------------------------------------------

def run_json(r: RunInfo, data: Data) -> dict:
    machine, build = data.fingerprints.get(r.id, ("", ""))
    return {"id": r.id, "revision": r.revision, "label": r.label, "branch": r.branch,
            "order": r.commit_order, "commit_time": r.commit_time, "start_time": r.start_time,
            "host": r.host_name, "machine": machine, "build": build,
            "noise": [r.noise_before, r.noise_after], "tags": json.loads(r.tags or "{}")}


# --- series ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _ranks(n: int, confidence: float):
    return median_ranks(n, confidence)


def interval(values: list[float], confidence: float = CONFIDENCE, scale: float = 1.0,
             digits: int = DIGITS) -> list | None:
    """[low, high, coverage] of the median of `values` (stats.median_interval's order
    statistics), else [min, max] and the probability it holds the median; None with fewer
    than 2 values. Low and high times `scale`."""
    n = len(values)
    if n < 2:
        return None
    ordered = sorted(values)
    ranks = _ranks(n, confidence)
    if ranks is None:
        low, high, coverage = 1, n, 1.0 - 2.0 * 0.5 ** n
    else:
        low, high, coverage = ranks
    return [num(ordered[low - 1] * scale, digits), num(ordered[high - 1] * scale, digits),
            num(coverage, 4)]


def _scaled(x: float | None, scale: float, digits: int = DIGITS) -> float | None:
    return None if x is None else num(x * scale, digits)


def _positions(report: ch.SeriesReport) -> list[int]:
    """The position in report.points of each clean point (change points index those)."""
    return [i for i, p in enumerate(report.points) if p.clean]


def change_json(f: ch.Found, positions: list[int]) -> dict:
    """A change point: where (positions in the series' points), what to bisect, the levels on
    each side, the change, its p-value, its status."""
    c = f.change
    return {"id": f.id, "at": positions[c.index], "from": positions[c.index - c.n_before],
            "to": positions[c.index + c.n_after - 1] + 1,
            "last_good_run": f.last_good.run.id, "first_bad_run": f.first_bad.run.id,
            "last_good": f.last_good.run.label, "first_bad": f.first_bad.run.label,
            "before": num(math.exp(c.mean_before)), "after": num(math.exp(c.mean_after)),
            "change_pct": num(f.change_pct, 4),
            "p": None if math.isnan(c.p_value) else num(c.p_value, 3),
            "runs_before": c.n_before, "runs_after": c.n_after, "confirmed": c.confirmed,
            "regression": f.regression, "status": f.status, "note": f.note}


def key_json(report: ch.SeriesReport) -> dict:
    k = report.key
    return {"id": series_id(k), "name": k.name, "metric": k.metric, "label": k.label,
            "family": k.family, "machine": k.machine, "build": k.build, "branch": k.branch,
            "unit": UNITS.get(k.metric, ""), "bigger_is_better": k.bigger_is_better,
            "min_change_pct": report.min_change_pct}


def series_json(report: ch.SeriesReport, data: Data) -> dict:
    """A series' file: every point [run, value, disturbed] and, where it has repetitions, [...,
    interval low, high, coverage, [repetitions]]; its change points and where its workload
    parameters changed. Seconds are written as nanoseconds ("scale": 1e-9): shorter."""
    times = report.key.metric in TIME_METRICS
    scale = 1e9 if UNITS.get(report.key.metric) == "s" else 1.0
    points = []
    for p in report.points:
        point = [p.run.id, _scaled(p.value, scale), int(p.disturbed or p.value is None)]
        reps = data.repetitions.get((p.run.id, report.key.name), []) if times else []
        if reps and p.value is not None:
            point += (interval(reps, scale=scale, digits=DRAWN) or [None, None, None]) + [
                [num(v * scale, DRAWN) for v in reps]]
        points.append(point)
    positions = _positions(report)
    return dict(key_json(report), note=report.note, points=points, scale=1 / scale,
                change_points=[change_json(f, positions) for f in report.found],
                restarts=[{"at": positions[i], "changed": what}
                          for i, what in sorted(report.parameters.items())])


def _level(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _change(latest: float, level: float | None) -> float | None:
    return None if level is None or level <= 0 else num((latest / level - 1) * 100, 4)


def status(report: ch.SeriesReport) -> str:
    """regressed / improved: the series' last change point (one marked false-positive aside)
    is open; disturbed: its latest run was; too few runs: fewer clean runs than change points
    need; else stable."""
    found = [f for f in report.found if f.status != ch.FALSE_POSITIVE]
    if found and found[-1].status == ch.OPEN:
        return REGRESSED if found[-1].regression else IMPROVED
    if report.points and not report.points[-1].clean:
        return DISTURBED
    if len(report.clean) < cpd.MIN_POINTS:
        return TOO_FEW
    return STABLE


def overview_row(report: ch.SeriesReport, data: Data) -> dict:
    """The overview's row: the latest clean value, its change against the baseline (the clean
    runs before it since the last change point, at most the gate's window, at least its
    minimum) and against the pinned revision, the sparkline, the status."""
    clean = report.clean
    row = dict(key_json(report), runs=len(report.points), clean=len(clean),
               hosts=sorted({p.run.host_name for p in report.points if p.run.host_name}),
               status=status(report), change_points=len(report.found),
               latest=None, latest_run=None, base=None, base_runs=0, pin=None,
               spark=[num(p.value, 4) for p in clean[-SPARK_POINTS:]])
    if report.points:
        row["last_run"] = report.points[-1].run.id
    if not clean:
        return row
    latest = clean[-1]
    row["latest"], row["latest_run"] = num(latest.value), latest.run.id
    start = max([f.change.index for f in report.found if f.status != ch.FALSE_POSITIVE
                 and f.change.index < len(clean) - 1] + [0])
    base = clean[start:-1][-WINDOW:]
    row["base_runs"] = len(base)
    if len(base) >= MIN_RUNS:
        row["base"] = _change(latest.value, _level([p.value for p in base]))
    if data.pin:
        at = [p.value for p in clean if p.run.revision == data.pin]
        row["pin"] = _change(latest.value, _level(at))
    return row


def overview(data: Data) -> list[dict]:
    """Every series' row, regressions first, then by the size of the change."""
    rows = [overview_row(r, data) for r in data.reports]
    rows.sort(key=lambda r: (STATUS_ORDER.index(r["status"]), -abs(r["base"] or 0),
                             r["machine"], r["metric"] not in TIME_METRICS, r["name"]))
    return rows


# --- a run's page ----------------------------------------------------------------------------

RUN_COLUMNS = ["name", "median", "reps", "ci", "ci_change", "interference", "disturbed", "error",
               "aggregate"]


def run_page(r: RunInfo, results: list, data: Data, context: dict) -> dict:
    """A run's file: its context (the manifest aside), machine and build fields, noise probes,
    and per benchmark (a row of RUN_COLUMNS; times in nanoseconds, "scale": 1e-9): the median,
    the repetitions, the median's interval, the interval at the level a change's interval
    needs (compare's), interference, disturbed, error, aggregate."""
    machine, build = data.fingerprints.get(r.id, ("", ""))
    level = ratio_level(CONFIDENCE)
    rows = []
    for row in results:
        reps = data.repetitions.get((r.id, row.benchmark), [])
        exact = median_interval(reps, level) if reps else None
        cells = [row.benchmark, _scaled(row.real_median, 1e9, 9),
                 [num(v * 1e9, TESTED) for v in reps], interval(reps, scale=1e9, digits=DRAWN),
                 [num(exact.low * 1e9, 9), num(exact.high * 1e9, 9), num(exact.coverage, 4)]
                 if exact else None, num(row.interference, 3), int(bool(row.disturbed)),
                 row.error, row.aggregate]
        while cells[-1] is None:  # the columns left out at the end are null
            cells.pop()
        rows.append(cells)
    manifest = context.pop("parbench_manifest", None)
    return dict(run_json(r, data), context=context, has_manifest=manifest is not None,
                machine_fields=data.machines.get(machine, {}),
                build_fields=data.builds.get(build, {}), scale=1e-9, columns=RUN_COLUMNS,
                benchmarks=rows)


def run_pages(store: Store, data: Data):
    """Each run's file, one run at a time (a generator: the contexts can be large)."""
    import sqlalchemy as sa
    t = store.tables
    runs_t, results = t["runs"], t["results"]
    by_run: dict[int, list] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(results.c.run_id, results.c.benchmark,
                                          results.c.real_median, results.c.cpu_median,
                                          results.c.interference, results.c.disturbed,
                                          results.c.error, results.c.aggregate)
                                .order_by(results.c.run_id, results.c.idx)):
            by_run.setdefault(row.run_id, []).append(row)
        contexts = dict(conn.execute(sa.select(runs_t.c.id, runs_t.c.context)).all())
    for r in data.runs:
        yield r.id, run_page(r, by_run.get(r.id, []), data, json.loads(contexts[r.id]))
