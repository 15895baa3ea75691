"""Figures: Gantt timelines (one bar per task, one lane per worker) and speedup curves.
matplotlib is imported here only, when a figure is drawn."""

from __future__ import annotations

import os
import re

from .gbench import Run, cores, group_label
from .manifest import FALLBACK, Manifest
from .speedup import format_seconds, speedup_tables
from .trace import Timeline
from .trust import MARK, MAX_INTERFERENCE, disturbed, interference

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _save(fig, base: str, formats) -> list[str]:
    """Writes base.FORMAT for each format; SVG text stays text (searchable, selectable)."""
    import matplotlib
    written = []
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        for fmt in formats:
            fig.savefig(f"{base}.{fmt}", dpi=90)
            written.append(f"{base}.{fmt}")
    return written


def lane_title(tl: Timeline, baseline: Timeline | None, run: Run | None,
               max_interference: float = MAX_INTERFERENCE) -> str:
    """What one executor's lanes show: 'threads: last of 5 iterations (last repetition), this
    one 1.97× serial's, median 1.98×; interference 3%', ⚠ first when it ran disturbed."""
    which = (f"last of {tl.iterations} iteration{'s' if tl.iterations != 1 else ''}"
             if tl.iterations else "its last iteration") + " (last repetition)"
    parts = [f"{tl.name.executor}: {which}"]
    if tl.tasks_total and tl.tasks_total > len(tl.tasks):
        parts[0] += f", first {len(tl.tasks)} of {tl.tasks_total} tasks"
    if baseline is not None and baseline is not tl and tl.wall_ms > 0:
        parts.append(f"this one {baseline.wall_ms / tl.wall_ms:.3g}× "
                     f"{baseline.name.executor}'s")
    bench = run.benchmarks.get(tl.name.full) if run is not None else None
    mark = ""
    if bench is not None and baseline is not None and baseline is not tl:
        base = run.benchmarks.get(baseline.name.full)
        if base is not None and base.measured and bench.measured and bench.median > 0:
            parts.append(f"median {base.median / bench.median:.3g}×")
    if bench is not None and (i := interference(bench)) is not None:
        parts.append(f"interference {i:.0%}")
        mark = f"{MARK} " if disturbed(bench, max_interference) else ""
    return mark + ", ".join(parts)


def timeline_figures(timelines: list[Timeline], out_dir: str, formats=("png", "svg"),
                     manifest: Manifest = FALLBACK, run: Run | None = None,
                     max_interference: float = MAX_INTERFERENCE) -> list[str]:
    """One figure per group and worker count, the baseline executor first and the others in
    the manifest's order, stacked on one time axis, each executor's lanes titled with which
    iteration they show, its speedup and (with `run`) its interference. Returns the files
    written."""
    plt = _pyplot()
    by_group: dict = {}
    for tl in timelines:
        if tl.name.executor is not None:
            by_group.setdefault(tl.name.group, []).append(tl)
    written = []
    os.makedirs(out_dir, exist_ok=True)
    base_name = manifest.baseline
    for group, tls in by_group.items():
        baseline = next((t for t in tls if t.name.executor == base_name), None)
        others = sorted((t for t in tls if t.name.executor != base_name),
                        key=lambda t: manifest.order(t.name.executor))
        counts = sorted({t.name.workers for t in others}) or [1]
        for workers in counts:
            rows = ([baseline] if baseline else []) + [t for t in others
                                                       if t.name.workers == workers]
            if not rows:
                continue
            lanes = [max(r.workers, 1) for r in rows]
            height = 1.0 + 0.45 * sum(lanes) + 0.5 * len(rows)
            fig, axes = plt.subplots(len(rows), 1, sharex=True, squeeze=False,
                                     figsize=(10, height), gridspec_kw={"height_ratios": lanes})
            end = max(max((t.wall_ms for t in rows), default=0),
                      max((k.start_ms + k.dur_ms for r in rows for k in r.tasks), default=0))
            for ax, tl in zip(axes[:, 0], rows):
                _draw_lanes(ax, tl, end)
                title = lane_title(tl, baseline, run, max_interference)
                ax.set_title(title, fontsize=8, loc="left",
                             color="red" if title.startswith(MARK) else "black")
            axes[-1, 0].set_xlabel("time since the iteration started (ms)")
            fig.suptitle(f"{group_label(group)} — {workers} worker{'s' if workers > 1 else ''}"
                         " (one bar per task, gaps are idle time)", fontsize=10)
            fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / height))  # keep the title clear
            base = os.path.join(out_dir, f"timeline_{_slug(group_label(group))}_w{workers}")
            written += _save(fig, base, formats)
            plt.close(fig)
    return written


def _draw_lanes(ax, tl: Timeline, end_ms: float) -> None:
    import matplotlib
    lanes = max(tl.workers, 1)
    colors = matplotlib.colormaps["tab20"]
    label_tasks = len(tl.tasks) <= 64
    for slot in range(lanes):
        bars = [(k.start_ms, k.dur_ms) for k in tl.tasks if k.slot == slot]
        facecolors = [colors(k.task % 20) for k in tl.tasks if k.slot == slot]
        ax.broken_barh(bars, (slot - 0.4, 0.8), facecolors=facecolors, edgecolor="black",
                       linewidth=0.3)
        if label_tasks:
            for k in tl.tasks:
                if k.slot == slot and k.dur_ms > end_ms / 60:
                    ax.text(k.start_ms + k.dur_ms / 2, slot, str(k.task), ha="center",
                            va="center", fontsize=7)
    ax.axvline(tl.wall_ms, color="red", linestyle="--", linewidth=1)
    ax.text(tl.wall_ms, lanes - 0.5, f" wall {format_seconds(tl.wall_ms / 1e3)}", color="red",
            fontsize=8, va="bottom")
    ax.set_ylim(-0.6, lanes - 0.4 + 0.5)
    ax.set_yticks(range(lanes))
    ax.set_yticklabels([tl.lane_label(s) for s in range(lanes)], fontsize=7)
    ax.invert_yaxis()
    ax.set_ylabel(tl.name.executor, rotation=0, ha="right", va="center", fontsize=9)
    ax.set_xlim(0, end_ms * 1.12 if end_ms > 0 else 1)  # room for the wall label


def _disturbed_marker(ax, xs, ys, limit: float, labelled: list) -> None:
    """Red rings around the points of benchmarks that ran disturbed (one legend entry)."""
    label = None
    if not labelled:
        label = f"{MARK} disturbed (> {limit:.0%} interference)"
        labelled.append(True)
    ax.scatter(xs, ys, s=140, facecolors="none", edgecolors="red", linewidths=1.5, zorder=5,
               label=label)


def ideal_line(workers: list[int], cpus: int | None) -> tuple[list[int], list[int]]:
    """The ideal speedup at 1, at the measured worker counts and at the usable CPUs: the
    worker count, capped at the usable CPUs (more workers than CPUs cannot compute faster).
    Drawn through the same counts as the measurements, it reads right at each of them on a
    log axis (a straight segment from 1 to 8 would read 3.3 at 2)."""
    xs = sorted({1, *workers} | ({cpus} if cpus and cpus < max(workers, default=1) else set()))
    return xs, [min(x, cpus) if cpus else x for x in xs]


def plotted_tables(run: Run, max_interference: float = MAX_INTERFERENCE) -> list:
    """The speedup tables worth a panel: a baseline, and an executor measured at two or more
    worker counts (no single-point panels); not a cost family (its speedups read as 'near
    zero' while it is a cost) nor a task-duration sweep (drawn by granularity_figure)."""
    tables = []
    for t in speedup_tables(run, max_interference):
        if t.baseline_s is None or t.cost is not None or t.sweep:
            continue
        counts = [len([c for c in t.cells if c.executor == e and c.speedup is not None])
                  for e in t.executors]
        if max(counts, default=0) >= 2:
            tables.append(t)
    return tables


def speedup_figure(run: Run, out_base: str, formats=("png", "svg"),
                   max_interference: float = MAX_INTERFERENCE) -> list[str]:
    """Speedup against worker count, one panel per group of a speedup family, one line per
    executor (the manifest's order), the ideal line (capped at the usable CPUs) and the usable
    CPUs marked, the y axis scaled to the data; disturbed points ringed in red."""
    plt = _pyplot()
    tables = plotted_tables(run, max_interference)
    if not tables:
        return []
    ncols = 3 if len(tables) > 4 else max(1, len(tables))
    nrows = (len(tables) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    ncpus = cores(run)
    for ax, t in zip(axes.flat, tables):
        top = max(t.workers)
        ax.plot(*ideal_line(t.workers, ncpus), linestyle=":", color="gray",
                label=f"ideal (capped at {ncpus} CPUs)" if ncpus and ncpus < top else "ideal")
        ax.axhline(1, color="black", linewidth=0.5)
        if ncpus:
            ax.axvline(ncpus, color="red", linestyle="--", linewidth=0.8,
                       label=f"{ncpus} usable CPU{'s' if ncpus != 1 else ''}")
        labelled: list = []
        for i, executor in enumerate(t.executors):
            cells = [c for c in t.cells if c.executor == executor and c.speedup is not None]
            if cells:
                ax.plot([c.workers for c in cells], [c.speedup for c in cells],
                        marker=_MARKERS[i % len(_MARKERS)], label=executor)
                hit = [c for c in cells if c.flagged]
                if hit:
                    _disturbed_marker(ax, [c.workers for c in hit], [c.speedup for c in hit],
                                      max_interference, labelled)
        ax.set_xscale("log", base=2)
        ax.set_xticks(t.workers)
        ax.set_xticklabels([str(w) for w in t.workers])
        ax.minorticks_off()
        speedups = [c.speedup for c in t.cells if c.speedup is not None]
        ax.set_ylim(0, max(speedups + [min(top, ncpus or top), 1.0]) * 1.15)
        title = t.label + (f" ({MARK} disturbed baseline)" if t.baseline_disturbed else "")
        ax.set_title(title, fontsize=9, color="red" if t.baseline_disturbed else "black")
        ax.set_xlabel("workers", fontsize=8)
        ax.set_ylabel(f"speedup vs {t.baseline}", fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(tables):]:
        ax.axis("off")
    fig.tight_layout()
    written = _save(fig, out_base, formats)
    plt.close(fig)
    return written


def granularity_figure(curves, out_base: str, formats=("png", "svg"),
                       max_interference: float = MAX_INTERFERENCE,
                       labels: dict[str, str] | None = None) -> list[str]:
    """Efficiency against task duration (log x), one curve per (executor, workers, payload)
    and file, the 0.5 line, each METG starred on it, disturbed points ringed in red. With
    several files: one colour per file (machine), named by `labels` (by file, else the file
    name), one marker per executor."""
    from matplotlib.ticker import FuncFormatter
    from .granularity import LEVEL, format_ns
    plt = _pyplot()
    drawn = [c for c in curves if c.xy()]
    if not drawn:
        return []
    fig, ax = plt.subplots(figsize=(9, 5.5))
    sources = list(dict.fromkeys(c.source for c in drawn))
    names = list(dict.fromkeys(c.executor for c in drawn))
    several_workers = len({c.workers for c in drawn}) > 1
    executors = list(dict.fromkeys((c.source, c.executor) for c in drawn))
    payloads = list(dict.fromkeys(c.payload for c in drawn if not c.plain))
    styles = ("--", "-.", ":", (0, (5, 1)))
    labelled: list = []
    top = 1.0
    for c in drawn:
        pts = c.xy()  # under the curve's efficiency definition
        label = c.executor
        if len(sources) > 1:
            label = f"{(labels or {}).get(c.source) or os.path.basename(c.source)}: {label}"
        if several_workers:
            label += f" ×{c.workers}"
        if not c.plain:
            label += f", {c.payload}"
        if c.dispatch:
            label += f", {c.dispatch}"
        m = c.analysis
        label += f" (METG {format_ns(m.value_ns)})" if m.status == "crossed" else \
            f" ({m.status})"
        index = executors.index((c.source, c.executor))
        if len(sources) > 1:  # colour by machine (file), marker by executor
            color, marker = sources.index(c.source), names.index(c.executor)
        else:
            color = marker = index
        style = "-" if c.plain else styles[payloads.index(c.payload) % len(styles)]
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle=style,
                        marker=_MARKERS[marker % len(_MARKERS)], markersize=4, label=label,
                        color=f"C{color % 10}")
        top = max(top, max(p[1] for p in pts))
        if m.status == "crossed":
            ax.plot([m.value_ns], [LEVEL], marker="*", markersize=14, color=line.get_color(),
                    markeredgecolor="black", zorder=6)
        hit = [p for p in pts if p[2]]
        if hit:
            _disturbed_marker(ax, [p[0] for p in hit], [p[1] for p in hit], max_interference,
                              labelled)
    ax.axhline(LEVEL, color="black", linestyle="--", linewidth=0.8, label="50% efficiency")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_ns(x)))
    ax.set_ylim(0, min(top * 1.08, 2.0))
    taskbench = drawn[0].definition == "taskbench"
    ax.set_xlabel("task granularity: wall time × CPUs / tasks" if taskbench else
                  "task duration (measured by the baseline)")
    ax.set_ylabel("parallel efficiency, " + ("Task Bench's: useful work / (wall × CPUs)"
                                             if taskbench else "parbench's: against serial"))
    ax.set_title("When does it pay off? Efficiency against task duration; "
                 "★ METG(50%)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if len(sources) > 1:  # one curve per machine and executor: the legend goes beside
        fig.set_size_inches(9 + 3.5, max(5.5, 0.17 * len(drawn) + 1))
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    written = _save(fig, out_base, formats)
    plt.close(fig)
    return written


def series_figure(report, base: str, formats=("png", "svg")) -> list[str]:
    """One stored series over its runs (history order): the clean runs' medians joined, the
    disturbed runs drawn as red ⚠ marks (left out of the series), each change point as a
    vertical line between its last good and first bad run with the levels before and after.
    `report` is a changes.SeriesReport."""
    import math
    plt = _pyplot()
    key, points = report.key, report.points
    seconds = key.metric in ("real_time", "cpu_time", "metg")
    scale, unit = (1.0, "") if not seconds else _time_scale(
        [p.value for p in points if p.value])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x_of = {id(p): i for i, p in enumerate(points)}
    clean = [p for p in points if p.clean]
    ax.plot([x_of[id(p)] for p in clean], [p.value / scale for p in clean], "o-", color="C0",
            markersize=4, label="clean runs (median)")
    loud = [p for p in points if not p.clean and p.value]
    if loud:
        ax.plot([x_of[id(p)] for p in loud], [p.value / scale for p in loud], "x", color="red",
                label=f"{MARK} disturbed (left out)")
    for f in report.found:
        x = (x_of[id(f.last_good)] + x_of[id(f.first_bad)]) / 2
        ax.axvline(x, color="C3" if f.regression else "C2", linestyle="--")
        ax.annotate(f"{f.change_pct:+.1f}%\n{f.status}", (x, ax.get_ylim()[1]),
                    textcoords="offset points", xytext=(3, -24), fontsize=8)
        for lo, hi, level in ((0, x, f.change.mean_before),
                              (x, len(points) - 1, f.change.mean_after)):
            ax.hlines(math.exp(level) / scale, lo, hi, colors="grey", linestyles=":")
    ax.set_xticks(range(len(points)))
    ax.set_xticklabels([p.run.label[:7] for p in points], rotation=60, fontsize=7)
    ax.set_ylabel(f"{key.metric}" + (f" ({unit})" if unit else ""))
    ax.set_title(f"{key.label} — branch {key.branch}, machine {key.machine[:8]}, "
                 f"build {key.build[:8]}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    written = _save(fig, base, formats)
    plt.close(fig)
    return written


def _time_scale(values: list[float]) -> tuple[float, str]:
    """The unit that format_seconds would pick for the median of `values`."""
    ordered = sorted(values)
    text = format_seconds(ordered[len(ordered) // 2]).split()[1]
    return {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[text], text
