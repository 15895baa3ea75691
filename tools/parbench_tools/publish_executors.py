"""The executors page's data: per machine, build and branch, per family and group (a family and
its axis values), each executor's speedup and efficiency at each worker count and its METG per
payload, as series over revisions (the stored executor series, with their change points), the
latest values, and the worker count from which threads overtake processes as a series over
revisions with its own change points."""

from __future__ import annotations

import math

from . import changepoint as cpd
from . import changes as ch
from .publish_data import Data, num, series_id

CROSSOVER = ("threads", "processes")  # the pair the crossover is asked about (issue 23)


def parse_name(metric: str, name: str) -> tuple[str, str, int, str | None] | None:
    """(group, executor, workers, payload) of an executor series' name: 'GROUP EXECUTOR
    workers:W' (speedup, efficiency) or 'FAMILY EXECUTOR workers:W payload:P' (METG)."""
    parts = name.split(" ")
    payload = None
    if metric == "metg":
        if len(parts) < 4 or not parts[-1].startswith("payload:"):
            return None
        payload = parts.pop()[len("payload:"):]
    if len(parts) < 3 or not parts[-1].startswith("workers:") or \
            not parts[-1][len("workers:"):].isdigit():
        return None
    return " ".join(parts[:-2]), parts[-2], int(parts[-1][len("workers:"):]), payload


def _latest(report: ch.SeriesReport) -> list | None:
    """[value, run id, disturbed] of the series' last run."""
    if not report.points:
        return None
    p = report.points[-1]
    return [num(p.value, 4), p.run.id, int(not p.clean)]


def crossover(speedups: dict[str, dict[int, ch.SeriesReport]]) -> list[list]:
    """Per run (history order) the smallest worker count from which threads' speedup is above
    processes' at every larger count both measured; None when processes stay ahead at the
    largest. Disturbed values are left out."""
    a, b = (speedups.get(name, {}) for name in CROSSOVER)
    by_run: dict[int, dict[int, list]] = {}
    order: dict[int, tuple] = {}
    for side, series in enumerate((a, b)):
        for workers, report in series.items():
            for p in report.points:
                if p.clean:
                    by_run.setdefault(p.run.id, {}).setdefault(workers, [None, None])[side] = \
                        p.value
                    order[p.run.id] = p.run.order_key
    out = []
    for run_id in sorted(by_run, key=order.get):
        both = sorted((w, x, y) for w, (x, y) in by_run[run_id].items()
                      if x is not None and y is not None)
        if not both:
            continue
        at = None
        for w, x, y in reversed(both):
            if x <= y:
                break
            at = w
        out.append([run_id, at, both[-1][0]])
    return out


def crossover_changes(points: list[list], min_change_pct: float = ch.DEFAULT_MIN_CHANGE,
                      max_p: float = cpd.MAX_P) -> dict:
    """The crossover as a trend: `points` (crossover()'s rows) and the change points of the
    worker count over the runs that have one (changepoint.detect on its log, as every other
    series; runs where processes stay ahead at the largest count are drawn apart and left
    out of it, and said). Each change point names its last good and first bad run."""
    runs = [(run_id, at) for run_id, at, _ in points if at is not None]
    found = cpd.detect([math.log(at) for _, at in runs], max_p=max_p,
                       min_change=min_change_pct / 100)
    out = []
    for c in found:
        out.append({"last_good": runs[c.index - 1][0], "first_bad": runs[c.index][0],
                    "before": num(math.exp(c.mean_before), 4),
                    "after": num(math.exp(c.mean_after), 4),
                    "change_pct": num((c.ratio - 1) * 100, 4), "p_value": num(c.p_value, 3),
                    "n_before": c.n_before, "n_after": c.n_after, "confirmed": c.confirmed})
    note = None
    if len(runs) < cpd.MIN_POINTS:
        note = f"{len(runs)} run(s) with a crossover: change points need {cpd.MIN_POINTS}"
    return {"points": points, "change_points": out, "note": note}


def _group_entry(groups: dict, report: ch.SeriesReport, parsed) -> None:
    group, executor, workers, payload = parsed
    k = report.key
    family = group.split(" ")[0]
    place = groups.setdefault((k.machine, k.build, k.branch), {}).setdefault(
        family, {"family": family, "groups": {}, "metg": []})
    if k.metric == "metg":
        place["metg"].append({"executor": executor, "workers": workers, "payload": payload,
                              "id": series_id(k), "latest": _latest(report),
                              "change_points": len(report.found)})
        return
    entry = place["groups"].setdefault(group, {"group": group, "series": {}, "reports": {}})
    cell = entry["series"].setdefault(executor, {}).setdefault(str(workers), {})
    cell[k.metric] = {"id": series_id(k), "latest": _latest(report),
                      "change_points": len(report.found)}
    if k.metric == "speedup":
        entry["reports"].setdefault(executor, {})[workers] = report


def executors(data: Data) -> list[dict]:
    """One entry per machine, build and branch: its families, each with its groups (speedup
    and efficiency series per executor and worker count, the crossover per run) and its METG
    series."""
    groups: dict[tuple, dict] = {}
    hosts: dict[tuple, set] = {}
    for report in data.reports:
        parsed = parse_name(report.key.metric, report.key.name) \
            if report.key.metric in ("speedup", "efficiency", "metg") else None
        if parsed is None:
            continue
        _group_entry(groups, report, parsed)
        hosts.setdefault((report.key.machine, report.key.build, report.key.branch), set()) \
            .update(p.run.host_name for p in report.points if p.run.host_name)
    out = []
    for (machine, build, branch), families in groups.items():
        fams = []
        for fam in families.values():
            for entry in fam["groups"].values():
                reports = entry.pop("reports")
                if all(name in reports for name in CROSSOVER):
                    entry["crossover"] = crossover_changes(
                        crossover(reports), data.options.min_change_pct, data.options.max_p)
            fam["groups"] = sorted(fam["groups"].values(), key=lambda g: g["group"])
            fam["metg"].sort(key=lambda m: (m["payload"] or "", m["executor"], m["workers"]))
            fams.append(fam)
        out.append({"machine": machine, "build": build, "branch": branch,
                    "hosts": sorted(hosts[(machine, build, branch)]),
                    "families": sorted(fams, key=lambda f: f["family"])})
    return out
