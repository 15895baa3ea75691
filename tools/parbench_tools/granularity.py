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
LEVEL = 0.5  # METG(50%)

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
    shortest, longest, last = pts[0][0], pts[-1][0], pts[-1][1]
    if not ranges:
        return Metg("below the sweep", None, (), shortest, longest, last)
    if ranges[-1][1] is None:
        return Metg("not reached", None, tuple(ranges), shortest, longest, last)
    return Metg("crossed", ranges[-1][1], tuple(ranges), shortest, longest, last)


def ranges_text(m: Metg) -> str:
    """'< 1.2 µs; 18 µs–40 µs; > 3 ms', 'none', or 'the whole sweep'."""
    parts = []
    for low, high in m.ranges:
        if low is None and high is None:
            parts.append(f"the whole sweep ({format_ns(m.shortest_ns)}–{format_ns(m.longest_ns)})")
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
        return f"below the sweep (≤ {format_ns(m.shortest_ns)})"
    if m.status == "not reached":
        return f"not reached (> {format_ns(m.longest_ns)})"
    return "no data"


# --- curves from a run -----------------------------------------------------------------------

@dataclass
class Point:
    """One task duration of one curve."""

    name: str  # the executor's benchmark
    nominal_ns: float
    task_ns: float | None = None  # the duration on the x axis: the baseline's measured one
    efficiency: float | None = None
    flagged: bool = False  # the benchmark or its baseline ran disturbed
    error: str | None = None


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

    @property
    def payload(self) -> str:
        return ", ".join(format_payload(v) if len(self.extras) == 1 else f"{k}:{v or 'none'}"
                         for k, v in self.extras) or "none"

    @property
    def plain(self) -> bool:
        """No payload (every other axis left out of the name)."""
        return all(v == "" for _, v in self.extras)

    @property
    def analysis(self) -> Metg:
        return metg([(p.task_ns, p.efficiency) for p in self.points
                     if p.error is None and p.task_ns is not None and p.efficiency is not None])

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


def _nominal(b: Benchmark, axis: str | None) -> float | None:
    value = dict(b.name.args).get(axis) if axis else None
    ns = duration_ns(value) if value else None
    return ns if ns is not None else b.counter(NOMINAL_COUNTER)


def curves(run: Run, max_interference: float = MAX_INTERFERENCE) -> list[Curve]:
    """Every (executor, workers, payload) curve of the run's duration sweeps, points in sweep
    order: efficiency = baseline time / (CPUs × executor time) for the same tasks, with CPUs =
    min(workers, usable CPUs), i.e. the workers in the usual sweep at workers <= CPUs; x = the
    baseline's measured task duration (task_ns), else the nominal one."""
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
                                              order=_order(run, family, b, extras)))
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
        point.efficiency = base.median / (efficiency_cpus(run, b.name.workers) * b.median)
    return point


# --- the table and the verdict ---------------------------------------------------------------

COLUMNS = ["run", "family", "executor", "workers", "payload", "metg", "metg_ns", "status",
           "below_50", "longest_efficiency", "points", "flagged_points", "errors"]


def to_rows(all_curves: list[Curve]) -> list[dict]:
    rows = []
    for c in all_curves:
        m = c.analysis
        rows.append({
            "run": c.source, "family": c.family, "executor": c.executor, "workers": c.workers,
            "payload": c.payload, "metg": metg_text(m), "metg_ns": m.value_ns,
            "status": m.status, "below_50": ranges_text(m),
            "longest_efficiency": m.last_efficiency, "points": len(c.points),
            "flagged_points": len(c.flagged),
            "errors": "; ".join(f"{p.name}: {p.error}" for p in c.errors) or None})
    return rows


def to_json(all_curves: list[Curve]) -> list[dict]:
    """The rows, each with its ranges in ns and its points."""
    out = []
    for c, row in zip(all_curves, to_rows(all_curves)):
        m = c.analysis
        row = dict(row, below_50_ns=[list(r) for r in m.ranges],
                   points=[{"name": p.name, "nominal_ns": p.nominal_ns, "task_ns": p.task_ns,
                            "efficiency": p.efficiency, "flagged": p.flagged, "error": p.error}
                           for p in c.points])
        out.append(row)
    return out


def to_markdown(all_curves: list[Curve], max_interference: float = MAX_INTERFERENCE,
                labels: dict[str, str] | None = None) -> str:
    """One table: executor, workers, payload, METG, ranges below 50%, efficiency at the longest
    task (and the run's label by file, else its file name, when several; the disturbed points,
    when any)."""
    several = len({c.source for c in all_curves}) > 1
    families = len({c.family for c in all_curves}) > 1
    trust = any(c.flagged or c.errors for c in all_curves)
    head = (["run"] if several else []) + (["family"] if families else []) + [
        "executor", "workers", "payload", "METG (50%)", "below 50% efficiency",
        "efficiency at the longest task"] + (["trust"] if trust else [])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in all_curves:
        m = c.analysis
        run = (labels or {}).get(c.source) or os.path.basename(c.source)
        cells = ([f"`{run}`"] if several else []) + (
            [c.family] if families else []) + [
            c.executor, str(c.workers), c.payload, metg_text(m), ranges_text(m),
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
    text += ("\nEfficiency = baseline time / (min(workers, usable CPUs) × executor time) for the "
             "same tasks, against the task duration the baseline measured (task_ns); METG is "
             "where it last rises through 0.5, interpolated in log(duration).\n")
    if trust and any(c.flagged for c in all_curves):
        text += (f"\n{MARK} disturbed points: while the benchmark or its baseline ran, other "
                 f"processes took more than {max_interference:.0%} of the usable CPUs "
                 "(interference_cpu_frac + steal_frac, median over the repetitions).\n")
    return text


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


def _claim(m: Metg, first: bool) -> str:
    """'pay off from tasks of 1.2 µs' (first executor) or 'from 1.2 µs'."""
    if m.status == "crossed":
        text = ("pay off from tasks of " if first else "from ") + format_ns(m.value_ns)
        windows = _windows(m)
        return text + (f" (and {', '.join(windows)})" if windows else "")
    if m.status == "below the sweep":
        return (("pay off " if first else "") +
                f"at every task duration measured, down to {format_ns(m.shortest_ns)}")
    if m.status == "not reached":
        windows = _windows(m)
        if not windows:
            return (("pay off " if first else "") +
                    f"for no task up to {format_ns(m.longest_ns)}")
        return (("pay off " if first else "") + "only " + ", ".join(windows) +
                f" (below half again from {format_ns(m.ranges[-1][0])} on)")
    return "(no data)"


def _payload_claims(payloads: list[Curve], plain: Curve | None) -> list[str]:
    """'from 1.4 ms when each task ships 1 MiB', 'at every duration when each task ships
    64 KiB', and for those that never reach 50% one 'never when each task ships 64 KiB or
    1 MiB' ('nor when ...' after an executor that never does without a payload either)."""
    out, never = [], []
    for c in payloads:
        m = c.analysis
        if m.status == "crossed":
            out.append(f"from {format_ns(m.value_ns)} when each task ships {c.payload}")
        elif m.status == "below the sweep":
            out.append(f"at every duration when each task ships {c.payload}")
        elif m.status == "not reached" and _windows(m):
            out.append(f"only {', '.join(_windows(m))} when each task ships {c.payload}")
        elif m.status == "not reached":
            never.append(c.payload)
        else:
            out.append(f"no data when each task ships {c.payload}")
    if never:
        plain_never = plain is not None and plain.analysis.status == "not reached"
        out.append(("nor" if plain_never and not out else "never") +
                   f" when each task ships {' or '.join(never)}")
    return out


def verdict(run: Run, run_curves: list[Curve]) -> str | None:
    """One sentence for the machine, from the METG of each executor at workers = usable CPUs:
    'On this machine (2 CPUs): threads pay off from tasks of 300 ns, processes from 900 ns
    (from 1.4 ms when each task ships 1 MiB); shorter tasks are faster serially.'"""
    if not run_curves:
        return None
    family = run_curves[0].family
    mine = [c for c in run_curves if c.family == family]
    workers = _pick_workers(mine, _cpus_text(run)[1])
    mine = [c for c in mine if c.workers == workers]
    claims = []
    for executor in dict.fromkeys(c.executor for c in mine):
        own = [c for c in mine if c.executor == executor]
        plain = next((c for c in own if c.plain), None)
        payloads = [c for c in own if not c.plain]
        if plain is not None:
            text = f"{executor} {_claim(plain.analysis, not claims)}"
        else:
            text = executor
        if payloads:
            more = ", ".join(_payload_claims(payloads, plain))
            # One parenthesis per executor: "(and below 5 µs; from 1.4 ms when ... 1 MiB)".
            text = text[:-1] + f"; {more})" if text.endswith(")") else text + f" ({more})"
        claims.append(text)
    cpus, usable = _cpus_text(run)
    details = [cpus] if cpus else []
    if workers != usable:
        details.append(f"{workers} worker{'s' if workers != 1 else ''}")
    where = "On this machine" + (f" ({', '.join(details)})" if details else "")
    # Below 50% of min(workers, CPUs) is a speedup below 1 only up to 2 CPUs' worth.
    divisor = min(workers, usable) if usable else workers
    shapes = [c.analysis for c in mine if c.plain] or [c.analysis for c in mine]
    if all(m.status == "below the sweep" for m in shapes):
        tail = ""  # nothing measured was too short
    elif all(m.ranges == ((None, None),) for m in shapes):
        tail = ("; every task in the sweep ran faster serially" if divisor <= 2 else
                "; no task in the sweep reached half of the ideal speedup")
    elif all(m.status == "below the sweep" or (m.status == "crossed" and len(m.ranges) == 1
                                               and m.ranges[0][0] is None) for m in shapes):
        tail = ("; shorter tasks are faster serially" if divisor <= 2 else
                "; shorter tasks reach less than half of the ideal speedup")
    else:
        tail = ("; elsewhere the tasks ran faster serially" if divisor <= 2 else
                "; elsewhere they reach less than half of the ideal speedup")
    sentence = f"{where}: {', '.join(claims)}{tail}."
    flagged = sum(len(c.flagged) for c in mine)
    if flagged:
        points = sum(len(c.points) for c in mine)
        sentence += (f" {MARK} {flagged} of these {points} measurements ran while other "
                     "processes held part of the CPUs: read it with care.")
    return sentence
