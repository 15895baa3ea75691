"""history changes and history mark: the change points of every stored series (changepoint.py
on the log of each clean run's median), their marks (expected, false positive, fixed), kept
in the store, and the report."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from . import changepoint as cpd
from .errors import ToolError
from .fingerprint import digest
from .history import (EXECUTOR_KINDS, TIME_METRICS, Point, SeriesKey, load_series,
                      settings_breaks)
from .ingest import now
from .speedup import format_seconds
from .store import Store, dumps

OPEN, EXPECTED, FALSE_POSITIVE, FIXED = "open", "expected", "false-positive", "fixed"
STATUSES = (OPEN, EXPECTED, FALSE_POSITIVE, FIXED)
DEFAULT_MIN_CHANGE = 5.0  # percent, for series no thresholds-file line matches


@dataclass
class Found:
    """One change point of one series."""

    id: str
    key: SeriesKey
    change: cpd.Change
    last_good: Point
    first_bad: Point
    status: str = OPEN
    note: str | None = None

    @property
    def regression(self) -> bool:
        worse = self.change.ratio < 1 if self.key.bigger_is_better else self.change.ratio > 1
        return worse

    @property
    def change_pct(self) -> float:
        return (self.change.ratio - 1) * 100

    @property
    def open_regression(self) -> bool:
        return self.regression and self.change.confirmed and self.status == OPEN


@dataclass
class SeriesReport:
    key: SeriesKey
    points: list[Point]
    min_change_pct: float | None  # None: 'off' in the thresholds file, not analysed
    found: list[Found] = field(default_factory=list)
    note: str | None = None  # why nothing could be found ("7 clean runs: needs 10")
    parameters: dict[int, list[str]] = field(default_factory=dict)  # clean index: what changed

    @property
    def clean(self) -> list[Point]:
        return [p for p in self.points if p.clean]


def change_id(key: SeriesKey, first_bad: Point) -> str:
    """A change point's identity: its series and the first run of the new level."""
    return digest({"series": key.as_json(), "first_bad": first_bad.digest})


def _level(key: SeriesKey, value: float) -> str:
    if key.metric in ("real_time", "cpu_time", "metg"):
        return format_seconds(value)
    return f"{value:.3g}" + ("×" if key.metric == "speedup" else "")


def analyse(key: SeriesKey, points: list[Point], min_change_pct: float | None,
            marks: dict[str, tuple[str, str | None]], max_p: float = cpd.MAX_P) -> SeriesReport:
    """The change points of one series. Disturbed runs are left out; a change point marked
    expected restarts the series there (the runs before it are another level, not noise)."""
    report = SeriesReport(key, points, min_change_pct)
    if min_change_pct is None:
        report.note = "left out ('off' in the thresholds file)"
        return report
    clean = report.clean
    logs = [math.log(p.value) for p in clean]
    marked = any(status == EXPECTED for status, _ in marks.values())  # else no id to hash
    expected = {i for i, p in enumerate(clean) if marked and i > 0
                and marks.get(change_id(key, p), ("",))[0] == EXPECTED}
    report.parameters = settings_breaks(key, clean)
    bounds = [0] + sorted(expected | set(report.parameters)) + [len(clean)]
    for a, b in zip(bounds, bounds[1:]):
        for c in cpd.detect(logs[a:b], max_p=max_p, min_change=min_change_pct / 100):
            report.found.append(_found(key, clean, cpd.Change(
                a + c.index, c.p_value, c.mean_before, c.mean_after, c.n_before, c.n_after),
                marks))
    for n, i in enumerate(bounds[1:-1], 1):  # the expected change points, between their
        # neighbouring restarts (a change of parameters is no change point)
        if i in expected:
            c = cpd.change_between(logs, i, bounds[n - 1], bounds[n + 1])
            report.found.append(_found(key, clean, c, marks))
    report.found.sort(key=lambda f: f.change.index)
    if len(clean) < cpd.MIN_POINTS:
        report.note = f"{len(clean)} clean run(s): change points need {cpd.MIN_POINTS}"
    return report


def _found(key: SeriesKey, clean: list[Point], c: cpd.Change, marks: dict) -> Found:
    found = Found(change_id(key, clean[c.index]), key, c, clean[c.index - 1], clean[c.index])
    found.status, found.note = marks.get(found.id, (OPEN, None))
    return found


def load_marks(store: Store) -> dict[str, tuple[str, str | None]]:
    import sqlalchemy as sa
    t = store.tables["change_points"]
    with store.engine.connect() as conn:
        return {r.id: (r.status, r.note) for r in conn.execute(
            sa.select(t.c.id, t.c.status, t.c.note))}


def expected_runs(store: Store) -> dict[str, set[int]]:
    """The first runs of the change points marked expected, by series (its digest)."""
    import sqlalchemy as sa
    t = store.tables["change_points"]
    out: dict[str, set[int]] = {}
    with store.engine.connect() as conn:
        for series, run_id in conn.execute(sa.select(t.c.series, t.c.first_bad_run)
                                           .where(t.c.status == EXPECTED)):
            out.setdefault(digest(json.loads(series)), set()).add(run_id)
    return out


def _detail(f: Found) -> dict:
    c = f.change
    return {"before": math.exp(c.mean_before), "after": math.exp(c.mean_after),
            "change_pct": f.change_pct, "p_value": None if math.isnan(c.p_value) else c.p_value,
            "runs_before": c.n_before, "runs_after": c.n_after, "confirmed": c.confirmed,
            "regression": f.regression}


def save(store: Store, reports: list[SeriesReport]) -> None:
    """Keeps the found change points in the store (their marks stay); an open one of an
    analysed series that is no longer found is removed."""
    import sqlalchemy as sa
    t = store.tables["change_points"]
    analysed = {r.key.digest for r in reports if r.min_change_pct is not None}
    with store.engine.begin() as conn:
        existing = {r.id: r for r in conn.execute(sa.select(t.c.id, t.c.series, t.c.status))}
        found_ids = set()
        for r in reports:
            for f in r.found:
                found_ids.add(f.id)
                row = {"series": dumps(f.key.as_json()), "first_bad_run": f.first_bad.run.id,
                       "last_good_run": f.last_good.run.id, "first_bad": f.first_bad.run.label,
                       "last_good": f.last_good.run.label, "detail": dumps(_detail(f)),
                       "detected_at": now()}
                if f.id in existing:
                    conn.execute(t.update().where(t.c.id == f.id).values(**row))
                else:
                    conn.execute(t.insert().values(id=f.id, status=OPEN, **row))
        gone = [cid for cid, row in existing.items() if cid not in found_ids
                and row.status == OPEN and digest(json.loads(row.series)) in analysed]
        if gone:
            conn.execute(t.delete().where(t.c.id.in_(gone)))


def mark(store: Store, cid: str, status: str, note: str | None) -> dict:
    """Sets a stored change point's status; a ToolError when no change point has that id (or
    an unambiguous prefix of it)."""
    import sqlalchemy as sa
    t = store.tables["change_points"]
    with store.engine.begin() as conn:
        rows = conn.execute(sa.select(t).where(t.c.id.like(cid + "%"))).all()
        if len(rows) != 1:
            what = "no change point" if not rows else f"{len(rows)} change points"
            raise ToolError(cid, f"matches {what} in {store.db} (run `history changes` first; "
                                 "ids are in its output)")
        row = rows[0]
        conn.execute(t.update().where(t.c.id == row.id).values(status=status, note=note,
                                                               marked_at=now()))
    return dict(row._mapping, status=status, note=note)


@dataclass
class Options:
    metrics: tuple[str, ...] = ("real_time",) + EXECUTOR_KINDS
    branch: str | None = None
    pattern: re.Pattern | None = None
    thresholds: object = None  # name -> percent or None ('off'); None: the default for all
    min_change_pct: float = DEFAULT_MIN_CHANGE
    max_p: float = cpd.MAX_P


def find_changes(store: Store, options: Options) -> list[SeriesReport]:
    """Every series' change points, found, marked and kept in the store."""
    marks = load_marks(store)
    series = load_series(store, options.metrics, options.branch)
    reports = []
    for key in sorted(series, key=lambda k: (k.branch, k.machine, k.build,
                                             k.metric not in TIME_METRICS, k.metric, k.name)):
        if options.pattern is not None and not options.pattern.search(key.label):
            continue
        threshold = (options.thresholds(key.label) if options.thresholds is not None
                     else options.min_change_pct)
        reports.append(analyse(key, series[key], threshold, marks, options.max_p))
    save(store, reports)
    return reports


# --- the report ------------------------------------------------------------------------------

def _where(report: SeriesReport) -> str:
    """'vm (machine 3e96057a, build 9100f4cb, branch main)'."""
    k = report.key
    hosts = sorted({p.run.host_name for p in report.points if p.run.host_name})
    return (f"{', '.join(hosts) or 'unknown host'} (machine {k.machine[:8]}, build "
            f"{k.build[:8]}, branch {k.branch})")


def _status(f: Found) -> str:
    c = f.change
    state = "confirmed" if c.confirmed else f"unconfirmed ({c.past} run(s) past it)"
    kind = "regression" if f.regression else "improvement"
    mark = f.status + (f": {f.note}" if f.note else "")
    return f"{kind}, {state}, {mark}"


def _row(f: Found) -> str:
    c = f.change
    p = "—" if math.isnan(c.p_value) else f"{c.p_value:.2g}"
    return (f"| `{f.id[:10]}` | `{f.key.name}` {f.key.metric} | `{f.last_good.run.label}` → "
            f"`{f.first_bad.run.label}` | {_level(f.key, math.exp(c.mean_before))} → "
            f"{_level(f.key, math.exp(c.mean_after))} | {f.change_pct:+.1f}% | {p} | "
            f"{c.n_before} / {c.n_after} | {_status(f)} |")


def to_markdown(reports: list[SeriesReport], options: Options) -> str:
    found = [f for r in reports for f in r.found]
    open_regressions = [f for f in found if f.open_regression]
    analysed = [r for r in reports if r.min_change_pct is not None]
    disturbed = sum(len(r.points) - len(r.clean) for r in analysed)
    out = [f"## Change points: {len(found)} in {len(analysed)} series, "
           f"{len(open_regressions)} open regression(s)", "",
           f"E-divisive (energy distance, sliding windows of {cpd.WINDOW}) with Student's "
           f"t-test at p ≤ {options.max_p:g}, on the log of each clean run's median; a change "
           f"smaller than the series' minimum (default {options.min_change_pct:g}%) is not "
           f"one; no change point in fewer than {cpd.MIN_POINTS} clean runs; confirmed after "
           f"{cpd.CONFIRM_AFTER} runs past it. {disturbed} disturbed value(s) left out.", ""]
    if found:
        out += ["| id | series | last good → first bad | before → after | change | p | "
                "runs before / after | status |", "|---|---|---|---|---|---|---|---|"]
        by_where: dict[str, list[Found]] = {}
        for r in reports:
            if r.found:
                by_where.setdefault(_where(r), []).extend(r.found)
        for where, rows in by_where.items():
            out.append(f"| | **{where}** | | | | | | |")
            out += [_row(f) for f in rows]
        out.append("")
    restarted = [(r, i, what) for r in analysed for i, what in sorted(r.parameters.items())]
    if restarted:
        out.append(f"{len(restarted)} restart(s) where a series' workload parameters changed "
                   "(no change point): " + "; ".join(
                       f"`{r.key.label}` at `{r.clean[i].run.label}` ({', '.join(what)})"
                       for r, i, what in restarted[:10]) + ("; ..." if len(restarted) > 10
                                                            else "") + ".")
    short = [r for r in analysed if r.note]
    if short:
        out.append(f"{len(short)} series too short to judge: " + "; ".join(
            f"`{r.key.label}` ({r.note})" for r in short[:10])
            + ("; ..." if len(short) > 10 else "") + ".")
    out.append("Mark one with `parbench-tools history mark ID expected|false-positive|fixed`; "
               "an open confirmed regression makes the exit status 1.")
    return "\n".join(out) + "\n"


def _point_json(p: Point) -> dict:
    return {"run": p.run.id, "revision": p.run.label, "value": p.value,
            "disturbed": p.disturbed, "start_time": p.run.start_time}


def to_json(reports: list[SeriesReport], options: Options, points: bool = False) -> dict:
    series = []
    for r in reports:
        entry = {**r.key.as_json(), "label": r.key.label, "min_change_pct": r.min_change_pct,
                 "runs": len(r.points), "clean_runs": len(r.clean), "note": r.note,
                 "disturbed_runs": [_point_json(p) for p in r.points if not p.clean],
                 "parameter_changes": [{"run": r.clean[i].run.id,
                                        "revision": r.clean[i].run.label, "changed": what}
                                       for i, what in sorted(r.parameters.items())],
                 "change_points": [
                     {"id": f.id, "last_good": f.last_good.run.label,
                      "first_bad": f.first_bad.run.label, "last_good_run": f.last_good.run.id,
                      "first_bad_run": f.first_bad.run.id, "status": f.status, "note": f.note,
                      **_detail(f)} for f in r.found]}
        if points:
            entry["points"] = [_point_json(p) for p in r.points]
        series.append(entry)
    return {"method": {"window": cpd.WINDOW, "max_p": options.max_p,
                       "min_points": cpd.MIN_POINTS, "confirm_after": cpd.CONFIRM_AFTER,
                       "default_min_change_pct": options.min_change_pct},
            "open_regressions": sum(f.open_regression for r in reports for f in r.found),
            "series": series}
