"""Speedup tables: for each family (and each value of its axes), every executor at every worker
count against the baseline executor's run of the same work (the manifest names the executors,
their order and the baseline; without a manifest: serial, threads, processes)."""

from __future__ import annotations

from dataclasses import dataclass

from .gbench import Benchmark, Run, group_label


@dataclass
class Cell:
    """One executor at one worker count."""

    executor: str
    workers: int
    median_s: float | None = None
    speedup: float | None = None
    efficiency: float | None = None
    cv: float | None = None
    repetitions: int = 0
    error: str | None = None


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

    def cell(self, executor: str, workers: int) -> Cell | None:
        return next((c for c in self.cells if c.executor == executor and c.workers == workers),
                    None)


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


def speedup_tables(run: Run) -> list[Table]:
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
        cells = []
        for b in sorted(benches, key=lambda b: (manifest.order(b.name.executor), b.name.workers)):
            cell = Cell(b.name.executor, b.name.workers, repetitions=b.repetitions,
                        error=b.error)
            if b.measured:
                cell.median_s = b.median
                cell.cv = b.cv
                if baseline is not None and cell.median_s > 0:
                    cell.speedup = baseline / cell.median_s
                    cell.efficiency = cell.speedup / b.name.workers
            cells.append(cell)
        workers = sorted({c.workers for c in cells if c.executor != base_name})
        executors = tuple(dict.fromkeys(c.executor for c in cells if c.executor != base_name))
        tables.append(Table(group, group_label(group), workers, cells, baseline, error,
                            base_name, executors))
    return tables


def format_seconds(s: float) -> str:
    """'322 ms', '83.5 ns': three significant digits in the largest unit that keeps it >= 1."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        # Compare the rounded value, so 999.7 µs reads '1 ms', not '1e+03 µs'.
        if float(f"{s / scale:.3g}") >= 1 or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def cell_text(cell: Cell | None) -> str:
    """A table cell: speedup, efficiency, median time and cv, or **error**."""
    if cell is None:
        return ""
    if cell.error is not None:
        return "**error**"
    if cell.speedup is None:
        return format_seconds(cell.median_s) if cell.median_s is not None else "—"
    text = f"{cell.speedup:.3g}× (eff {cell.efficiency:.2f}, {format_seconds(cell.median_s)}"
    if cell.cv is not None:
        text += f", cv {cell.cv * 100:.1f}%"
    return text + ")"


def to_markdown(tables: list[Table]) -> str:
    out = []
    for t in tables:
        out.append(f"### {t.label}\n")
        if t.error:
            out.append(f"**error:** {t.error}\n")
        if t.baseline_s is not None:
            out.append(f"{t.baseline}: {format_seconds(t.baseline_s)} per iteration (median)\n")
        header = ["executor"] + [f"{w} workers" if w > 1 else "1 worker" for w in t.workers]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for executor in t.executors:
            row = [executor] + [cell_text(t.cell(executor, w)) for w in t.workers]
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
               "repetitions", "error"]


def to_rows(tables: list[Table]) -> list[dict]:
    rows = []
    for t in tables:
        for c in t.cells:
            rows.append({"group": t.label, "executor": c.executor, "workers": c.workers,
                         "median_s": c.median_s, "speedup": c.speedup,
                         "efficiency": c.efficiency, "cv": c.cv,
                         "repetitions": c.repetitions, "error": c.error or t.error})
    return rows
