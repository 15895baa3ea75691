"""METG, the minimum effective task granularity (Task Bench, Slaughter et al., SC'20): from
which task duration does an executor reach 50% parallel efficiency? Read from a family that
sweeps task durations (bench's `granularity`, the anchors' Python sweep): the manifest says
which family that is (it declares the counter task_ns_nominal), which executor is the baseline
and which axes apply to whom. Pure functions over runs; the CLI and the report do the I/O."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from .gbench import Benchmark, Run, cores
from .speedup import NOMINAL_COUNTER, baseline_of, efficiency_cpus, format_seconds
from .trust import MARK, MAX_INTERFERENCE, disturbed

MEASURED_COUNTER = "task_ns"  # the mean duration the workers measured for one task
RATE_COUNTER = "tasks_per_second"  # tasks per iteration / time per iteration
PER_MESSAGE_COUNTER = "tasks_per_message"  # how an executor that sends messages batched them
DISPATCH_AXIS = "dispatch"  # per_task | adaptive, for executors that send tasks in messages
LEVEL = 0.5  # METG(50%)

# The two efficiency definitions (granularity --efficiency), the first the default.
DEFINITIONS = ("parbench", "taskbench")
DEFAULT_DEFINITION = "parbench"
DEFINITION_NAMES = {"parbench": "parbench's", "taskbench": "Task Bench's"}
DEFINITION_TEXT = {
    "parbench": "baseline time / (min(workers, usable CPUs) × executor time) for the same "
                "tasks, against the task duration the baseline measured (task_ns)",
    "taskbench": "useful work / (wall time × CPUs), useful work = tasks × task_ns, against "
                 "the task granularity wall time × CPUs / tasks (Slaughter et al., SC'20): the "
                 "baseline's own cost per task does not count, and at 50% the granularity is "
                 "twice the task duration",
}

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$")
_NS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}


def duration_ns(text: str) -> float | None:
    """'100ns', '1us', '10ms' -> nanoseconds; None when `text` is not a duration."""
    m = _DURATION.match(text)
    return float(m.group(1)) * _NS[m.group(2)] if m else None


def format_ns(ns: float) -> str:
    return format_seconds(ns * 1e-9)


def format_payload(value: str) -> str:
    """'64KiB' -> '64 KiB'; '' (the axis left out of the name) -> 'none'."""
    if not value:
        return "none"
    return re.sub(r"^(\d+(?:\.\d+)?)([KMGT]i?B)$", r"\1 \2", value)


# --- METG on one curve (pure) ----------------------------------------------------------------

@dataclass(frozen=True)
class Metg:
    """What one efficiency curve says about METG."""

    status: str  # "crossed", "below the sweep", "not reached", "no data"
    value_ns: float | None  # the METG when crossed
    ranges: tuple[tuple[float | None, float | None], ...]  # below LEVEL: (from, to); None:
    # from below the shortest task / to beyond the longest one
    shortest_ns: float | None = None
    longest_ns: float | None = None
    last_efficiency: float | None = None
    first_efficiency: float | None = None  # at the shortest task
    # The least and the most x measured, when they are not the shortest and the longest task's
    # (Task Bench's granularity need not grow with the task duration).
    lowest_ns: float | None = None
    highest_ns: float | None = None

    @property
    def low_end(self) -> float | None:
        return self.lowest_ns if self.lowest_ns is not None else self.shortest_ns

    @property
    def high_end(self) -> float | None:
        return self.highest_ns if self.highest_ns is not None else self.longest_ns


def _crossing(a: tuple[float, float], b: tuple[float, float], level: float) -> float:
    """The duration between points a and b (duration, efficiency) where the straight line in
    (log duration, efficiency) reaches `level`."""
    (xa, ea), (xb, eb) = a, b
    if ea == eb:
        return math.sqrt(xa * xb)
    t = (level - ea) / (eb - ea)
    return math.exp(math.log(xa) + t * (math.log(xb) - math.log(xa)))


def metg(points: list[tuple[float, float]], level: float = LEVEL) -> Metg:
    """METG of a curve: `points` are (task duration in ns, efficiency) in sweep order.

    Every range where the efficiency is below `level` is found (a curve may dip and recover);
    its ends are interpolated linearly in log(duration) between the neighbouring points. METG is
    the end of the last such range, after which the efficiency stays >= level up to the longest
    task; "below the sweep" when it never drops below `level`, "not reached" when the last
    range runs to the longest task."""
    pts = [(x, e) for x, e in points if x > 0 and math.isfinite(e)]
    if not pts:
        return Metg("no data", None, ())
    ranges: list[tuple[float | None, float | None]] = []
    start: float | None = None
    below = False
    for i, (x, e) in enumerate(pts):
        if e < level and not below:
            start = None if i == 0 else _crossing(pts[i - 1], pts[i], level)
            below = True
        elif e >= level and below:
            ranges.append((start, _crossing(pts[i - 1], pts[i], level)))
            below = False
    if below:
        ranges.append((start, None))
    ends = (pts[0][0], pts[-1][0], pts[-1][1], pts[0][1])
    if not ranges:
        return Metg("below the sweep", None, (), *ends)
    if ranges[-1][1] is None:
        return Metg("not reached", None, tuple(ranges), *ends)
    return Metg("crossed", ranges[-1][1], tuple(ranges), *ends)


def ranges_text(m: Metg) -> str:
    """'< 1.2 µs; 18 µs–40 µs; > 3 ms', 'none', or 'the whole sweep'."""
    parts = []
    for low, high in m.ranges:
        if low is None and high is None:
            parts.append(f"the whole sweep ({format_ns(m.low_end)}–{format_ns(m.high_end)})")
        elif low is None:
            parts.append(f"< {format_ns(high)}")
        elif high is None:
            parts.append(f"> {format_ns(low)}")
        else:
            parts.append(f"{format_ns(low)}–{format_ns(high)}")
    return "; ".join(parts) or "none"


def metg_text(m: Metg) -> str:
    if m.status == "crossed":
        return format_ns(m.value_ns)
    if m.status == "below the sweep":
        return f"below the sweep (≤ {format_ns(m.low_end)})"
    if m.status == "not reached":
        return f"not reached (> {format_ns(m.high_end)})"
    return "no data"


# --- curves from a run -----------------------------------------------------------------------

@dataclass
class Point:
    """One task duration of one curve."""

    name: str  # the executor's benchmark
    nominal_ns: float
    task_ns: float | None = None  # the duration on the x axis: the baseline's measured one
    efficiency: float | None = None  # parbench's
    flagged: bool = False  # the benchmark or its baseline ran disturbed
    error: str | None = None
    granularity_ns: float | None = None  # Task Bench's x: wall × CPUs / tasks
    taskbench_efficiency: float | None = None  # Task Bench's: task_ns / granularity_ns
    tasks_per_message: float | None = None  # the executor's own counter, when it has one

    def xy(self, definition: str = DEFAULT_DEFINITION) -> tuple[float, float] | None:
        """(x, efficiency) under a definition; None without them (or with an error)."""
        if self.error is not None:
            return None
        if definition == "taskbench":
            pair = (self.granularity_ns, self.taskbench_efficiency)
        else:
            pair = (self.task_ns, self.efficiency)
        return pair if None not in pair else None


@dataclass
class Curve:
    """One executor at one worker count and one value of the other axes (payload), in one
    file."""

    source: str  # the file
    family: str
    executor: str
    workers: int
    extras: tuple[tuple[str, str], ...]  # the other axes (payload), "" when left out
    baseline: str
    points: list[Point] = field(default_factory=list)
    order: tuple = ()  # the executor's place in the manifest, then its axis values'
    definition: str = DEFAULT_DEFINITION  # the efficiency `analysis` and the plot use
    dispatch_plain: str = ""  # what dispatch "" (left out of the name) means in this run
    starts_processes: bool = False  # the executor's trait: its workers are processes

    @property
    def payloads(self) -> tuple[tuple[str, str], ...]:
        """The other axes but dispatch."""
        return tuple((k, v) for k, v in self.extras if k != DISPATCH_AXIS)

    @property
    def payload(self) -> str:
        extras = self.payloads
        return ", ".join(format_payload(v) if len(extras) == 1 else f"{k}:{v or 'none'}"
                         for k, v in extras) or "none"

    @property
    def dispatch(self) -> str:
        """The dispatch mode ('' left out of the name: the manifest's plain value, bench's
        adaptive); '' for an executor without the axis."""
        extras = dict(self.extras)
        if DISPATCH_AXIS not in extras:
            return ""
        return extras[DISPATCH_AXIS] or self.dispatch_plain

    @property
    def plain(self) -> bool:
        """No payload (every other axis but dispatch left out of the name)."""
        return all(v == "" for _, v in self.payloads)

    @property
    def analysis(self) -> Metg:
        """METG under the curve's definition."""
        return self.metg(self.definition)

    def metg(self, definition: str) -> Metg:
        """METG under `definition`, in its x: the task duration (parbench's) or the task
        granularity (Task Bench's)."""
        if definition != "taskbench":
            return metg([xy for p in self.points if (xy := p.xy("parbench")) is not None])
        # Found on the task duration (sweep order), as parbench's; then in granularity. Every
        # crossing has efficiency 0.5 = duration / granularity, so there the granularity is
        # the duration / 0.5; the open ends are the measured granularities of the end points.
        pts = [p for p in self.points if p.xy("taskbench") is not None and p.task_ns]
        m = metg([(p.task_ns, p.taskbench_efficiency) for p in pts])
        if m.status == "no data":
            return m
        valid = [p for p in pts if p.task_ns > 0 and math.isfinite(p.taskbench_efficiency)]
        scale = 1 / LEVEL
        return Metg(m.status, m.value_ns * scale if m.value_ns is not None else None,
                    tuple((low * scale if low is not None else None,
                           high * scale if high is not None else None)
                          for low, high in m.ranges),
                    valid[0].granularity_ns, valid[-1].granularity_ns, m.last_efficiency,
                    m.first_efficiency, min(p.granularity_ns for p in valid),
                    max(p.granularity_ns for p in valid))

    def xy(self) -> list[tuple[float, float, bool]]:
        """(x, efficiency, flagged) of each point under the curve's definition."""
        return [(*xy, p.flagged) for p in self.points
                if (xy := p.xy(self.definition)) is not None]

    @property
    def tasks_per_message(self) -> float | None:
        """At the shortest task: how many tasks the executor sent in one message."""
        return next((p.tasks_per_message for p in self.points
                     if p.tasks_per_message is not None), None)

    @property
    def flagged(self) -> list[Point]:
        return [p for p in self.points if p.flagged]

    @property
    def errors(self) -> list[Point]:
        return [p for p in self.points if p.error is not None]


def sweep_families(run: Run) -> list[str]:
    """The families that sweep task durations: the manifest's families that declare
    task_ns_nominal, and (files without a manifest) those whose benchmarks report it."""
    names = [f.name for f in run.manifest.families.values() if NOMINAL_COUNTER in f.counters]
    for b in run.executor_benchmarks():
        if NOMINAL_COUNTER in b.counters and b.name.workload not in names:
            names.append(b.name.workload)
    return [n for n in names if any(b.name.workload == n for b in run.executor_benchmarks())]


def _duration_axis(run: Run, family: str, b: Benchmark) -> str | None:
    """The axis that sweeps the task duration: the manifest's axis whose values are all
    durations, else the first of the name's axes whose value is one."""
    fam = run.manifest.family(family)
    if fam is not None:
        for axis in fam.axes:
            values = [v for v in axis.values if v]
            if values and all(duration_ns(v) is not None for v in values):
                return axis.name
    return next((k for k, v in b.name.args if duration_ns(v) is not None), None)


def _extras(run: Run, family: str, b: Benchmark, axis: str) -> tuple[tuple[str, str], ...]:
    """The name's other axes, and (from the manifest) those of them it leaves out, as ''."""
    args = dict(b.name.args)
    fam = run.manifest.family(family)
    if fam is None:
        return tuple((k, v) for k, v in b.name.args if k != axis)
    return tuple((a.name, args.get(a.name, "")) for a in fam.axes
                 if a.name != axis and a.applies_to(b.name.executor))


def _starts_processes(run: Run, b: Benchmark) -> bool:
    executor = run.manifest.executor(b.name.executor)
    return bool(executor and executor.traits.get("starts_processes"))


def _plain(run: Run, family: str, axis: str) -> str:
    """What the axis' value "" stands for, from the manifest ('' when it does not say)."""
    fam = run.manifest.family(family)
    found = next((a for a in fam.axes if a.name == axis), None) if fam else None
    return found.plain if found else ""


def _nominal(b: Benchmark, axis: str | None) -> float | None:
    value = dict(b.name.args).get(axis) if axis else None
    ns = duration_ns(value) if value else None
    return ns if ns is not None else b.counter(NOMINAL_COUNTER)


def curves(run: Run, max_interference: float = MAX_INTERFERENCE,
           definition: str = DEFAULT_DEFINITION) -> list[Curve]:
    """Every (executor, workers, payload, dispatch) curve of the run's duration sweeps, points
    in sweep order, each under both definitions (DEFINITION_TEXT): parbench's efficiency =
    baseline time / (CPUs × executor time) for the same tasks, with CPUs = min(workers, usable
    CPUs), i.e. the workers in the usual sweep at workers <= CPUs, x = the baseline's measured
    task duration (task_ns), else the nominal one; Task Bench's = task_ns × tasks / (CPUs ×
    executor time), x = executor time × CPUs / tasks. `definition` is the one each curve's
    `analysis` uses."""
    manifest = run.manifest
    out: dict[tuple, Curve] = {}
    for family in sweep_families(run):
        for b in run.executor_benchmarks():
            if b.name.workload != family or b.name.executor == manifest.baseline:
                continue
            axis = _duration_axis(run, family, b)
            nominal = _nominal(b, axis)
            if nominal is None:
                continue
            extras = _extras(run, family, b, axis)
            key = (family, b.name.executor, b.name.workers, extras, b.name.gbench)
            curve = out.setdefault(key, Curve(run.path, family, b.name.executor, b.name.workers,
                                              extras, manifest.baseline,
                                              order=_order(run, family, b, extras),
                                              definition=definition,
                                              dispatch_plain=_plain(run, family, DISPATCH_AXIS),
                                              starts_processes=_starts_processes(run, b)))
            curve.points.append(_point(run, b, nominal, max_interference))
    for curve in out.values():
        curve.points.sort(key=lambda p: p.nominal_ns)
    return sorted(out.values(), key=lambda c: (c.family, c.order[0], c.workers, c.order[1:]))


def _order(run: Run, family: str, b: Benchmark, extras: tuple[tuple[str, str], ...]) -> tuple:
    """Sort key: the executor's place in the manifest, then each axis value's place in its
    axis (the manifest's order: none, 64KiB, 1MiB), else the value itself."""
    fam = run.manifest.family(family)
    axes = {a.name: a.values for a in fam.axes} if fam else {}
    places = []
    for key, value in extras:
        values = axes.get(key, ())
        places.append((values.index(value), "") if value in values else (len(values), value))
    return (run.manifest.order(b.name.executor), *places)


def _point(run: Run, b: Benchmark, nominal: float, max_interference: float) -> Point:
    base = baseline_of(run, b)
    point = Point(b.name.full, nominal)
    point.flagged = disturbed(b, max_interference) or disturbed(base, max_interference)
    if base is None:
        point.error = f"no {run.manifest.baseline} baseline"
    elif base.error is not None or b.error is not None:
        point.error = f"error: {base.error or b.error}"
    elif not base.median or not b.median:
        point.error = "no time"
    else:
        measured = base.counter(MEASURED_COUNTER)
        point.task_ns = measured if measured and measured > 0 else nominal
        cpus = efficiency_cpus(run, b.name.workers, b.name.executor)
        point.efficiency = base.median / (cpus * b.median)
        rate = b.counter(RATE_COUNTER)
        if rate and rate > 0 and math.isfinite(rate):
            point.granularity_ns = cpus * 1e9 / rate
            point.taskbench_efficiency = point.task_ns / point.granularity_ns
    point.tasks_per_message = b.counter(PER_MESSAGE_COUNTER)
    return point


# --- the table and the verdict ---------------------------------------------------------------

COLUMNS = ["run", "family", "executor", "workers", "payload", "dispatch", "tasks_per_message",
           "efficiency", "metg", "metg_ns", "status", "below_50", "longest_efficiency",
           "metg_parbench_ns", "metg_taskbench_ns", "points", "flagged_points", "errors"]


def to_rows(all_curves: list[Curve]) -> list[dict]:
    """One row per curve: the METG under the curves' definition (`efficiency`), in its x, and
    the METG under each definition in ns (parbench's a task duration, Task Bench's a
    granularity)."""
    rows = []
    for c in all_curves:
        m = c.analysis
        rows.append({
            "run": c.source, "family": c.family, "executor": c.executor, "workers": c.workers,
            "payload": c.payload, "dispatch": c.dispatch or None,
            "tasks_per_message": c.tasks_per_message, "efficiency": c.definition,
            "metg": metg_text(m), "metg_ns": m.value_ns, "status": m.status,
            "below_50": ranges_text(m), "longest_efficiency": m.last_efficiency,
            "metg_parbench_ns": c.metg("parbench").value_ns,
            "metg_taskbench_ns": c.metg("taskbench").value_ns, "points": len(c.points),
            "flagged_points": len(c.flagged),
            "errors": "; ".join(f"{p.name}: {p.error}" for p in c.errors) or None})
    return rows


def to_json(all_curves: list[Curve]) -> list[dict]:
    """The rows, each with its ranges in ns (in the definition's x) and its points."""
    out = []
    for c, row in zip(all_curves, to_rows(all_curves)):
        m = c.analysis
        row = dict(row, below_50_ns=[list(r) for r in m.ranges],
                   points=[{"name": p.name, "nominal_ns": p.nominal_ns, "task_ns": p.task_ns,
                            "efficiency": p.efficiency, "granularity_ns": p.granularity_ns,
                            "taskbench_efficiency": p.taskbench_efficiency,
                            "tasks_per_message": p.tasks_per_message, "flagged": p.flagged,
                            "error": p.error}
                           for p in c.points])
        out.append(row)
    return out


def _per_message_text(c: Curve) -> str:
    """'1', '2.91', '333', '1,538': tasks per message at the shortest task; '—' without."""
    value = c.tasks_per_message
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def definition_note(definition: str) -> str:
    """The lines under the table that say which efficiency the ranges and the verdict use."""
    flag = {d: "the default" if d == DEFAULT_DEFINITION else f"--efficiency {d}"
            for d in DEFINITIONS}
    return (f"Efficiency, parbench's ({flag['parbench']}) = {DEFINITION_TEXT['parbench']}. "
            f"Task Bench's ({flag['taskbench']}) = {DEFINITION_TEXT['taskbench']}. Both METG "
            "columns are shown; the ranges below 50%, the efficiency at the longest task and "
            f"the verdict use {DEFINITION_NAMES[definition]}. METG is where the efficiency last "
            "rises through 0.5, interpolated in log(task duration).")


def to_markdown(all_curves: list[Curve], max_interference: float = MAX_INTERFERENCE,
                labels: dict[str, str] | None = None) -> str:
    """One table: executor, workers, payload, dispatch (when any curve has it), METG under
    both definitions, ranges below 50% and efficiency at the longest task under the curves'
    definition (and the run's label by file, else its file name, when several; the disturbed
    points, when any)."""
    several = len({c.source for c in all_curves}) > 1
    families = len({c.family for c in all_curves}) > 1
    dispatch = any(c.dispatch or c.tasks_per_message is not None for c in all_curves)
    trust = any(c.flagged or c.errors for c in all_curves)
    definition = all_curves[0].definition if all_curves else DEFAULT_DEFINITION
    x = "task duration" if definition == "parbench" else "granularity"
    at = "task duration" if definition == "parbench" else "its granularity"
    head = (["run"] if several else []) + (["family"] if families else []) + [
        "executor", "workers", "payload"] + (["dispatch", "tasks per message"] if dispatch
                                             else []) + [
        "METG, parbench's (task duration)", "METG, Task Bench's (granularity)",
        f"below 50% efficiency ({x})", f"efficiency at the longest task ({at})"] + (
        ["trust"] if trust else [])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in all_curves:
        m = c.analysis
        run = (labels or {}).get(c.source) or os.path.basename(c.source)
        cells = ([f"`{run}`"] if several else []) + (
            [c.family] if families else []) + [c.executor, str(c.workers), c.payload] + (
            [c.dispatch or "—", _per_message_text(c)] if dispatch else []) + [
            metg_text(c.metg("parbench")), metg_text(c.metg("taskbench")), ranges_text(m),
            f"{m.last_efficiency:.2f} ({format_ns(m.longest_ns)})"
            if m.last_efficiency is not None else "—"]
        if trust:
            notes = []
            if c.flagged:
                notes.append(f"{MARK} {len(c.flagged)} of {len(c.points)} points disturbed")
            if c.errors:
                notes.append(f"{len(c.errors)} without a time ({c.errors[0].error})")
            cells.append("; ".join(notes))
        out.append("| " + " | ".join(cells) + " |")
    text = "\n".join(out) + "\n"
    text += "\n" + definition_note(definition) + "\n"
    if dispatch:
        text += ("\nDispatch: per_task sends one task per message, adaptive several when tasks "
                 "are short (the executor's rule); tasks per message is the executor's "
                 "tasks_per_message counter at the shortest task; — where the executor sends no "
                 "messages or did not report it.\n")
    if trust and any(c.flagged for c in all_curves):
        text += (f"\n{MARK} disturbed points: while the benchmark or its baseline ran, other "
                 f"processes took more than {max_interference:.0%} of the usable CPUs "
                 "(interference_cpu_frac + steal_frac, median over the repetitions).\n")
    return text + like_with_like(all_curves, labels)


def pairs(all_curves: list[Curve]) -> list[list[Curve]]:
    """Process pools of different files that dispatch the same way: the curves without a
    payload of executors whose workers are processes (the manifest's starts_processes), by
    dispatch mode and worker count, where at least two files have one. Curves without a
    dispatch mode (runs from before the axis) are never paired: how they batch is unknown."""
    groups: dict[tuple[str, int], list[Curve]] = {}
    for c in all_curves:
        if c.starts_processes and c.plain and c.dispatch:
            groups.setdefault((c.dispatch, c.workers), []).append(c)
    return [cs for cs in groups.values() if len({c.source for c in cs}) > 1]


def like_with_like(all_curves: list[Curve], labels: dict[str, str] | None = None) -> str:
    """'Like with like': for each dispatch mode, the METG of each file's process pool and, when
    two crossed, their ratio (under the curves' definition); '' when nothing pairs."""
    found = pairs(all_curves)
    if not found:
        return ""
    name = DEFINITION_NAMES[found[0][0].definition]
    out = [f"\nLike with like: process pools that send tasks the same way (the same dispatch "
           f"mode, tasks per message at the shortest task), METG under {name} efficiency:\n",
           "| dispatch | workers | METG of each | ratio |", "|---|---|---|---|"]
    for cs in found:
        each = "; ".join(
            f"{c.executor} (`{(labels or {}).get(c.source) or os.path.basename(c.source)}`, "
            f"{_per_message_text(c)} per message): {metg_text(c.analysis)}" for c in cs)
        crossed = sorted((c for c in cs if c.analysis.status == "crossed"),
                         key=lambda c: c.analysis.value_ns)
        ratio = "—"
        if len(crossed) == 2:
            low, high = crossed
            ratio = (f"{high.executor} / {low.executor} = "
                     f"{high.analysis.value_ns / low.analysis.value_ns:,.3g}")
        out.append(f"| {cs[0].dispatch} | {cs[0].workers} | {each} | {ratio} |")
    return "\n".join(out) + "\n"


def _pick_workers(curves_: list[Curve], cpus: int | None) -> int:
    counts = sorted({c.workers for c in curves_})
    if cpus in counts:
        return cpus
    fitting = [w for w in counts if cpus is None or w <= cpus]
    return fitting[-1] if fitting else counts[0]


def _cpus_text(run: Run) -> tuple[str, int | None]:
    """'2 CPUs' or '1 of its 2 CPUs usable' (parbench_usable_cpus, else parbench_cores), and
    the usable count."""
    usable = _int(run.context.get("parbench_usable_cpus")) or _int(
        run.context.get("parbench_cores")) or cores(run)
    machine = _int(run.context.get("parbench_cores")) or _int(run.context.get("num_cpus"))
    if usable is None:
        return "", None
    if machine and machine != usable:
        return f"{usable} of its {machine} CPUs usable", usable
    return f"{usable} CPU{'s' if usable != 1 else ''}", usable


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


@dataclass(frozen=True)
class _Words:
    """How a verdict words one definition: what reaching 0.5 is called, the x's noun, what
    happened below 0.5."""

    pay: str  # "pay off"
    never: str  # "never pay off"
    x_of: str  # "tasks of"
    every: str  # "every task duration measured"
    up_to: str  # "every task up to"
    those: str  # "tasks"
    short: str  # "ran faster serially"


def _words(definition: str, divisor: int) -> _Words:
    """parbench's 50% at up to 2 CPUs is a speedup of 1: below it the loop was faster."""
    if definition == "taskbench":
        return _Words("reach 50% efficiency (Task Bench's)", "never reach 50% efficiency "
                      "(Task Bench's)", "a granularity of", "every granularity measured",
                      "every point up to a granularity of", "granularities", "stayed below 50%")
    every = "every task duration measured"
    if divisor <= 2:
        return _Words("pay off", "never pay off", "tasks of", every, "every task up to", "tasks",
                      "ran faster serially")
    return _Words("reach half of the ideal speedup", "never reach half of the ideal speedup",
                  "tasks of", every, "every task up to", "tasks", "stayed below half of it")


def _windows(m: Metg) -> list[str]:
    """The stretches before METG where the efficiency was >= 50% (a curve that dips)."""
    out = []
    previous_end: float | None = None
    for i, (low, high) in enumerate(m.ranges):
        if i == 0 and low is not None:
            out.append(f"below {format_ns(low)}")
        elif i > 0:
            out.append(f"between {format_ns(previous_end)} and {format_ns(low)}")
        previous_end = high
    return out


def _join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _range_words(low: float | None, high: float | None, m: Metg) -> str:
    if low is None and high is None:
        return f"every one from {format_ns(m.low_end)} to {format_ns(m.high_end)}"
    if low is None:
        return f"below {format_ns(high)}"
    if high is None:
        return f"from {format_ns(low)} on"
    return f"between {format_ns(low)} and {format_ns(high)}"


def _claim(m: Metg, w: _Words) -> tuple[str, str]:
    """What one curve says, in plain words, without its subject: ('pay off from tasks of
    210 ns', ', and shorter ones ran faster serially'): the claim, and what the rest of the
    sweep did with its connector. Every statement is about what was measured."""
    if m.status == "below the sweep":
        return (f"{w.pay} at {w.every}, down to the shortest, {format_ns(m.shortest_ns)}, "
                f"where the efficiency was {m.first_efficiency:.2f}"), ""
    if m.status == "crossed":
        head = f"{w.pay} from {w.x_of} {format_ns(m.value_ns)}"
        if m.ranges == ((None, m.value_ns),):
            return head, f", and shorter ones {w.short}"
        below = _join([_range_words(low, high, m) for low, high in m.ranges])
        return head + f" and also {_join(_windows(m))}", f", while {w.those} {below} {w.short}"
    if m.status == "not reached":
        windows = _windows(m)
        if not windows:
            return w.never, (f": {w.up_to} {format_ns(m.high_end)} {w.short}, efficiency "
                             f"{m.last_efficiency:.2f} at the longest")
        below = _join([_range_words(low, high, m) for low, high in m.ranges])
        return f"{w.pay} only {_join(windows)}", f", while {w.those} {below} {w.short}"
    return "no data", ""


def _payload_claims(payloads: list[Curve], plain: Curve | None) -> list[str]:
    """'from 1.4 ms when each task ships 1 MiB', 'also when each task ships 64 KiB' (below the
    sweep like the plain curve), 'only below 316 ns when each task ships 1 MiB', and one
    'never when each task ships 64 KiB or 1 MiB' ('nor when ...', first, after an executor
    that never pays off without a payload either)."""
    plain_status = plain.analysis.status if plain is not None else None
    out, never, everywhere = [], [], []
    for c in payloads:
        m = c.analysis
        if m.status == "crossed":
            out.append(f"from {format_ns(m.value_ns)} when each task ships {c.payload}")
        elif m.status == "below the sweep":
            everywhere.append(c.payload)
        elif m.status == "not reached" and _windows(m):
            out.append(f"only {_join(_windows(m))} when each task ships {c.payload}")
        elif m.status == "not reached":
            never.append(c.payload)
        else:
            out.append(f"no data when each task ships {c.payload}")
    if everywhere:
        out.append(("also" if plain_status == "below the sweep" else "at every point measured")
                   + f" when each task ships {' or '.join(everywhere)}")
    if never:
        if plain_status == "not reached" and plain is not None and not _windows(plain.analysis):
            out.insert(0, f"nor when each task ships {' or '.join(never)}")
        else:
            out.append(f"never when each task ships {' or '.join(never)}")
    return out


def _subject(c: Curve) -> str:
    return c.executor + (f" ({c.dispatch} dispatch)" if c.dispatch else "")


def _family_claims(mine: list[Curve], w: _Words) -> list[str]:
    """One clause per executor and dispatch mode: its plain curve's claim, its payloads'."""
    claims = []
    for subject in dict.fromkeys(_subject(c) for c in mine):
        own = [c for c in mine if _subject(c) == subject]
        plain = next((c for c in own if c.plain), None)
        payloads = [c for c in own if not c.plain]
        head, tail = _claim(plain.analysis, w) if plain is not None else ("", "")
        text = f"{subject} {head}".rstrip() + tail
        if payloads:  # last: it qualifies the whole clause
            text += f" ({', '.join(_payload_claims(payloads, plain))})"
        claims.append(text)
    return claims


def verdict(run: Run, run_curves: list[Curve]) -> str | None:
    """One sentence per family for the machine, from the METG of each executor (and dispatch
    mode) at workers = usable CPUs, under the curves' definition: 'On this machine (2 CPUs):
    threads pay off at every task duration measured, down to the shortest, 121 ns, where the
    efficiency was 0.62; processes (adaptive dispatch) pay off from tasks of 210 ns, and
    shorter ones ran faster serially (from 465 µs when each task ships 1 MiB).'"""
    if not run_curves:
        return None
    cpus, usable = _cpus_text(run)
    families = list(dict.fromkeys(c.family for c in run_curves))
    sentences = []
    for family in families:
        mine = [c for c in run_curves if c.family == family]
        workers = _pick_workers(mine, usable)
        mine = [c for c in mine if c.workers == workers]
        details = [cpus] if cpus else []
        if workers != usable:
            details.append(f"{workers} worker{'s' if workers != 1 else ''}")
        where = "On this machine" + (f" ({', '.join(details)})" if details else "")
        if len(families) > 1:
            where += f", {family}"
        # Below 50% of min(workers, CPUs) is a speedup below 1 only up to 2 CPUs' worth.
        w = _words(mine[0].definition, min(workers, usable) if usable else workers)
        sentence = f"{where}: {'; '.join(_family_claims(mine, w))}."
        flagged = sum(len(c.flagged) for c in mine)
        if flagged:
            points = sum(len(c.points) for c in mine)
            sentence += (f" {MARK} {flagged} of these {points} measurements ran while other "
                         "processes held part of the CPUs: read it with care.")
        sentences.append(sentence)
    return " ".join(sentences)
