"""Speedup tables: for each family (and each value of its axes), every executor at every worker
count against the baseline executor's run of the same work (the manifest names the executors,
their order and the baseline; without a manifest: serial, threads, processes)."""

from __future__ import annotations

from dataclasses import dataclass

from .gbench import Benchmark, Run, cores, group_label, rank_cpus
from .manifest import COST_FALLBACK, Cost
from .stats import CONFIDENCE, Interval, best_median_interval, best_ratio_interval, ratio_level
from .stats import repetitions_needed as ci_repetitions_needed
from .trust import MARK, MAX_INTERFERENCE, disturbed, interference, rule

GIB = float(1 << 30)
# A family whose benchmarks report it sweeps task durations (granularity.py reads it by METG).
NOMINAL_COUNTER = "task_ns_nominal"


@dataclass
class Cell:
    """One executor at one worker count."""

    executor: str
    workers: int
    median_s: float | None = None
    speedup: float | None = None
    efficiency: float | None = None  # speedup / the CPUs it could use (min(workers, usable))
    cv: float | None = None
    repetitions: int = 0
    error: str | None = None
    median_ci: Interval | None = None  # the median time's interval (seconds)
    speedup_ci: Interval | None = None  # from the baseline's and this median's intervals
    interval_note: str | None = None  # why an interval is missing ("not enough repetitions")
    interference: float | None = None  # interference_cpu_frac + steal_frac (median)
    flagged: bool = False  # disturbed itself, or its table's baseline was
    cpus: int | None = None  # the divisor of the efficiency
    # A cost family's cell: its cost in its own unit, and how many times the floor's it is.
    cost_text: str | None = None
    floor_ratio: float | None = None
    floor: str | None = None  # what the ratio is against ("serial", "roundtrip/raw_pipe")


@dataclass
class Table:
    """One group (family + axis values)."""

    group: tuple
    label: str
    workers: list[int]
    cells: list[Cell]
    baseline_s: float | None
    error: str | None = None  # why no speedups could be computed (e.g. no baseline)
    baseline: str = "serial"  # the baseline executor's name
    executors: tuple[str, ...] = ()  # the other executors, in table order
    baseline_ci: Interval | None = None
    baseline_note: str | None = None  # why the baseline's interval is missing
    baseline_interference: float | None = None
    baseline_disturbed: bool = False  # flags every cell of the table
    cost: Cost | None = None  # a cost family: cells read in its own unit, against the floor
    sweep: bool = False  # a task-duration sweep (granularity): read by its METG
    baseline_cost_text: str | None = None

    def cell(self, executor: str, workers: int) -> Cell | None:
        return next((c for c in self.cells if c.executor == executor and c.workers == workers),
                    None)

    @property
    def flagged(self) -> list[Cell]:
        return [c for c in self.cells if c.flagged and c.executor != self.baseline]


def baseline_of(run: Run, bench: Benchmark) -> Benchmark | None:
    """The baseline executor's benchmark of the same family whose axis values equal `bench`'s
    on every axis that applies to the baseline executor (manifest rule). Without the family in
    the manifest: the baseline benchmark whose axes are all among `bench`'s, the most of them
    (so transport:shm, which serial never has, takes the pipe case's baseline)."""
    manifest = run.manifest
    name = bench.name
    candidates = [b for b in run.benchmarks.values()
                  if b.name.executor == manifest.baseline and b.name.workload == name.workload
                  and b.name.gbench == name.gbench]
    family = manifest.family(name.workload)
    if family is not None:
        applies = {a.name for a in family.axes if a.applies_to(manifest.baseline)}
        want = {(k, v) for k, v in name.args if k in applies}
        return next((c for c in candidates if set(c.name.args) == want), None)
    args = set(name.args)
    fits = [c for c in candidates if set(c.name.args) <= args]
    return max(fits, key=lambda c: len(c.name.args), default=None)


def not_enough(n: int, what: str = "") -> str:
    """The text printed instead of an interval: 'not enough repetitions (n=1)'."""
    return f"not enough repetitions{what} (n={n})"


def _interval_note(b: Benchmark, n: int, what: str = "") -> str:
    if b.aggregates_only:
        return "no interval: the file holds aggregates only"
    if n < 2:
        return "one repetition: no interval"
    return not_enough(n, what)


def efficiency_cpus(run: Run, workers: int, executor: str | None = None) -> int:
    """The CPUs `workers` workers could use: at most the run's usable CPUs (efficiency is per
    CPU, so 4 workers on 2 usable CPUs are measured against 2). An executor whose workers may
    run on other hosts (trait remote_workers: MPI's ranks) counts the CPUs of the hosts its
    workers ran on instead of rank 0's alone (two hosts of one CPU each: 2)."""
    usable = cores(run)
    spec = run.manifest.executor(executor)
    if spec is not None and spec.traits.get("remote_workers"):
        usable = rank_cpus(run, workers) or usable
    return min(workers, usable) if usable else workers


def speedup_tables(run: Run, max_interference: float = MAX_INTERFERENCE,
                   confidence: float = CONFIDENCE) -> list[Table]:
    """One table per group; each cell with its median's and speedup's intervals at
    `confidence` and flagged when it (or its baseline) ran with interference above
    `max_interference`."""
    manifest = run.manifest
    base_name = manifest.baseline
    groups: dict[tuple, list[Benchmark]] = {}
    for bench in run.executor_benchmarks():
        groups.setdefault(bench.name.group, []).append(bench)
    tables = []
    for group, benches in groups.items():
        others = [b for b in benches if b.name.executor != base_name]
        if not others:
            continue  # nothing to compare with the baseline (cpu_scaling)
        base = baseline_of(run, others[0])
        baseline = None
        error = None
        if base is None:
            error = f"no {base_name} baseline in this run: speedups cannot be computed"
        elif base.error is not None:
            error = f"the {base_name} baseline failed: {base.error}"
        elif base.median is None:
            error = f"the {base_name} baseline has no time ({base.status})"
        elif base.median <= 0:
            error = f"the {base_name} baseline measured 0 s: speedups cannot be computed"
        else:
            baseline = base.median
        base_disturbed = disturbed(base, max_interference)
        cells = []
        for b in sorted(benches, key=lambda b: (manifest.order(b.name.executor), b.name.workers)):
            cell = Cell(b.name.executor, b.name.workers, repetitions=b.repetitions,
                        error=b.error, interference=interference(b))
            cell.flagged = disturbed(b, max_interference) or base_disturbed
            if b.measured:
                _measure(run, cell, b, base if baseline is not None else None, confidence)
            cells.append(cell)
        workers = sorted({c.workers for c in cells if c.executor != base_name})
        executors = tuple(dict.fromkeys(c.executor for c in cells if c.executor != base_name))
        table = Table(group, group_label(group), workers, cells, baseline, error, base_name,
                      executors)
        if base is not None:
            table.baseline_interference = interference(base)
            table.baseline_disturbed = base_disturbed
            if baseline is not None:
                table.baseline_ci = best_median_interval(base.samples, confidence)
                if table.baseline_ci is None:
                    table.baseline_note = _interval_note(base, len(base.samples))
        family = manifest.family(group[0])
        # parbench runs from before the manifest: the suite's cost families by name.
        table.cost = family.cost if family is not None else (
            None if manifest.declared else COST_FALLBACK.get(group[0]))
        table.sweep = any(NOMINAL_COUNTER in b.counters for b in benches)
        if table.cost is not None:
            _add_costs(run, table, benches, base)
        tables.append(table)
    return tables


def _measure(run: Run, cell: Cell, b: Benchmark, base: Benchmark | None,
             confidence: float) -> None:
    """The cell's median, its interval, and with a baseline its speedup, efficiency and
    interval (the widest the repetitions give when too few for `confidence`)."""
    cell.median_s = b.median
    cell.cv = b.cv
    cell.median_ci = best_median_interval(b.samples, confidence)
    if cell.median_ci is None:
        cell.interval_note = _interval_note(b, len(b.samples))
    if base is None or cell.median_s <= 0:
        return
    cell.speedup = base.median / cell.median_s
    cell.cpus = efficiency_cpus(run, b.name.workers, b.name.executor)
    cell.efficiency = cell.speedup / cell.cpus
    cell.speedup_ci = best_ratio_interval(base.samples, b.samples, confidence)
    if cell.speedup_ci is None:
        n = min(len(base.samples), len(b.samples))
        cell.interval_note = _interval_note(base if base.aggregates_only else b, n)


def cost_value(run: Run, cost: Cost, b: Benchmark) -> tuple[float, bool] | None:
    """A benchmark's cost in its family's unit, and whether bigger is better: seconds (a
    counter in ns, us or ms, or the time per iteration) or bytes per second."""
    if not cost.counter:
        return (b.median, False) if b.measured else None
    value = b.counter(cost.counter)
    if value is None:
        return None
    meta = run.manifest.counter(cost.counter, b.name.workload)
    unit = meta.unit if meta is not None else cost.unit
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}.get(unit)
    if scale is not None:
        return value * scale, False
    return value, True  # a rate (B/s)


def cost_text(value: tuple[float, bool], cost: Cost) -> str:
    """'85.3 ns per task', '1.2 GiB/s'."""
    amount, rate = value
    if rate:
        return f"{amount / GIB:.3g} GiB/s"
    return f"{format_seconds(amount)} {cost.per}"


def _floor_of(run: Run, b: Benchmark, base: Benchmark | None) -> Benchmark | None:
    """What `b`'s cost is held against: the family's reference for its executor at the same
    axis values and worker count (roundtrip/raw_pipe for processes), else the baseline."""
    ref = run.manifest.reference(b.name.workload, b.name.executor)
    if ref is not None:
        want = dict(b.name.args) | {"workers": str(b.name.workers)}
        for r in run.benchmarks.values():
            parts = r.name.full.split("/")
            if r.name.executor is None and len(parts) > 1 and parts[0] == b.name.workload \
                    and parts[1] == ref.name and all(want.get(k) == v for k, v in r.name.args
                                                     if k != ref.name) and r.measured:
                return r
    return base


def _add_costs(run: Run, table: Table, benches: list[Benchmark],
               base: Benchmark | None) -> None:
    """Each cell's cost in the family's unit and its ratio to its floor."""
    by_cell = {(b.name.executor, b.name.workers): b for b in benches}
    if base is not None and (value := cost_value(run, table.cost, base)) is not None:
        table.baseline_cost_text = cost_text(value, table.cost)
    for cell in table.cells:
        b = by_cell.get((cell.executor, cell.workers))
        value = cost_value(run, table.cost, b) if b is not None and cell.error is None else None
        if value is None:
            continue
        cell.cost_text = cost_text(value, table.cost)
        floor = _floor_of(run, b, base)
        floor_value = cost_value(run, table.cost, floor) if floor is not None else None
        if floor is not None and floor is not b and floor_value and floor_value[0] > 0:
            ratio = value[0] / floor_value[0]
            cell.floor_ratio = 1 / ratio if value[1] else ratio
            cell.floor = floor.name.executor or floor.name.full


def format_seconds(s: float) -> str:
    """'322 ms', '83.5 ns': three significant digits in the largest unit that keeps it >= 1."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        # Compare the rounded value, so 999.7 µs reads '1 ms', not '1e+03 µs'.
        if float(f"{s / scale:.3g}") >= 1 or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def coverage_text(ci: Interval | None, confidence: float = CONFIDENCE) -> str:
    """' 88%' when the interval holds with less than the asked level (too few repetitions for
    it: the widest the repetitions give), else ''."""
    if ci is None or ci.coverage >= confidence - 1e-9:
        return ""
    return f" {ci.coverage:.0%}"


def seconds_interval(ci: Interval | None, confidence: float = CONFIDENCE) -> str:
    """' [80.1 ms, 81.4 ms]', with ' 94%' after it when it holds with less than `confidence`;
    or ''."""
    if ci is None:
        return ""
    return f" [{format_seconds(ci.low)}, {format_seconds(ci.high)}]{coverage_text(ci, confidence)}"


def speedup_text(cell: Cell, confidence: float = CONFIDENCE, interval: bool = True) -> str:
    """'1.98× [1.96, 2.00]', with the coverage when below `confidence' ('... 88%')."""
    text = f"{cell.speedup:.3g}×"
    if interval and cell.speedup_ci is not None:
        ci = cell.speedup_ci
        text += f" [{ci.low:.3g}, {ci.high:.3g}]{coverage_text(ci, confidence)}"
    return text


def ratio_text(ratio: float) -> str:
    """'27×', '0.66×', '2,560×'."""
    return f"{ratio:,.0f}×" if ratio >= 1000 else f"{ratio:.3g}×"


def _cost_cell(cell: Cell, cost: Cost, mark: str, time: str, notes: list[str]) -> str:
    """A cost family's cell: '85.3 ns per task, 27× serial's cost (84.9 µs [..] per
    iteration)'; a cost read from the time per iteration shows that time once."""
    ratio = (f", {ratio_text(cell.floor_ratio)} {cell.floor}'s cost"
             if cell.floor_ratio is not None else "")
    if not cost.counter:
        return mark + f"{time} {cost.per}{ratio}" + (f" ({', '.join(notes)})" if notes else "")
    return mark + f"{cell.cost_text}{ratio} ({time} per iteration" + \
        "".join(f", {n}" for n in notes) + ")"


def cell_text(cell: Cell | None, confidence: float = CONFIDENCE,
              cost: Cost | None = None) -> str:
    """A table cell: speedup with its interval, efficiency, median time with its interval and
    cv, or why an interval is missing; a cost family's cost and its ratio to the floor instead
    of a speedup; ⚠ and the interference when flagged; or **error**."""
    if cell is None:
        return ""
    if cell.error is not None:
        return "**error**"
    mark = f"{MARK} " if cell.flagged else ""
    if cell.median_s is None:
        return mark + "—"
    time = format_seconds(cell.median_s) + seconds_interval(cell.median_ci, confidence)
    notes = []
    if cell.cv is not None:
        notes.append(f"cv {cell.cv * 100:.1f}%")
    if cell.interval_note:
        notes.append(cell.interval_note)
    if cell.flagged and cell.interference is not None:
        notes.append(f"interference {cell.interference:.0%}")
    if cell.cost_text is not None and cost is not None:
        return _cost_cell(cell, cost, mark, time, notes)
    if cell.speedup is None:
        return mark + time + (f" ({', '.join(notes)})" if notes else "")
    return mark + f"{speedup_text(cell, confidence)} (eff {cell.efficiency:.2f}, {time}" + \
        "".join(f", {n}" for n in notes) + ")"


def legend(confidence: float, max_interference: float, flagged: bool = False) -> str:
    """What the brackets (and, when a cell is flagged, the mark) mean: one paragraph above the
    tables."""
    needed = ci_repetitions_needed(confidence)
    text = (f"[low, high]: {confidence:.0%} intervals from the repetitions (order statistics; "
            f"a median's needs {needed}+ repetitions; a speedup's comes from its two medians' "
            f"{ratio_level(confidence):.1%} intervals, "
            f"{ci_repetitions_needed(ratio_level(confidence))}+ repetitions each). With fewer, "
            "the interval is [min, max] of the repetitions and its lower level follows it (n = "
            "3: 75% for a median, 50% for a speedup; n = 5: 94% and 88%). "
            "Efficiency: speedup / min(workers, usable CPUs). Cost families (overhead, "
            "roundtrip, transfer, startup) show what a unit of work costs, and how many times "
            "the floor's (the reference measured beside it, else the baseline).")
    if flagged:
        text += f" {MARK}: {rule(max_interference)}."
    return text


def any_flagged(tables: list[Table]) -> bool:
    return any(c.flagged for t in tables for c in t.cells)


def baseline_text(t: Table, confidence: float = CONFIDENCE) -> str:
    """'serial: 80.2 ms [80 ms, 80.5 ms] per iteration (median)' and its notes; a cost
    family's cost of the baseline too."""
    per = "per iteration"
    prefix = ""
    if t.cost is not None and t.cost.counter and t.baseline_cost_text:
        prefix = f"{t.baseline_cost_text}, "
    elif t.cost is not None:
        per = t.cost.per
    return f"{t.baseline}: {prefix}{format_seconds(t.baseline_s)}" \
        f"{seconds_interval(t.baseline_ci, confidence)} {per} (median" + \
        (f"; {t.baseline_note}" if t.baseline_note else "") + ")"


def disturbed_baseline_text(t: Table) -> str:
    return (f"{MARK} The {t.baseline} baseline itself ran disturbed (interference "
            f"{t.baseline_interference:.0%}): every speedup in this table is suspect.")


def to_markdown(tables: list[Table], confidence: float = CONFIDENCE,
                max_interference: float = MAX_INTERFERENCE) -> str:
    out = [legend(confidence, max_interference, any_flagged(tables)), ""]
    for t in tables:
        out.append(f"### {t.label}\n")
        if t.error:
            out.append(f"**error:** {t.error}\n")
        if t.baseline_s is not None:
            out.append(baseline_text(t, confidence) + "\n")
        if t.baseline_disturbed:
            out.append(f"**{disturbed_baseline_text(t)}**\n")
        header = ["executor"] + [f"{w} workers" if w > 1 else "1 worker" for w in t.workers]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for executor in t.executors:
            row = [executor] + [cell_text(t.cell(executor, w), confidence, t.cost)
                                for w in t.workers]
            if any(row[1:]):
                out.append("| " + " | ".join(row) + " |")
        for c in t.cells:
            if c.error is not None:
                where = (c.executor if c.executor == t.baseline
                         else f"{c.executor}, {c.workers} workers")
                out.append(f"\n- error ({where}): {c.error}")
        out.append("")
    return "\n".join(out)


CSV_COLUMNS = ["group", "executor", "workers", "median_s", "speedup", "efficiency", "cv",
               "repetitions", "error", "median_ci_low_s", "median_ci_high_s", "speedup_ci_low",
               "speedup_ci_high", "cpus", "interference", "flagged"]


def to_rows(tables: list[Table]) -> list[dict]:
    rows = []
    for t in tables:
        for c in t.cells:
            rows.append({"group": t.label, "executor": c.executor, "workers": c.workers,
                         "median_s": c.median_s, "speedup": c.speedup,
                         "efficiency": c.efficiency, "cv": c.cv,
                         "repetitions": c.repetitions, "error": c.error or t.error,
                         "median_ci_low_s": c.median_ci.low if c.median_ci else None,
                         "median_ci_high_s": c.median_ci.high if c.median_ci else None,
                         "speedup_ci_low": c.speedup_ci.low if c.speedup_ci else None,
                         "speedup_ci_high": c.speedup_ci.high if c.speedup_ci else None,
                         "cpus": c.cpus, "interference": c.interference,
                         "flagged": c.flagged})
    return rows
