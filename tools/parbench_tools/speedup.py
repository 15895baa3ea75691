"""Speedup tables: for each workload (and each value of its other arguments), every executor at
every worker count against that workload's serial run of the same work."""

from __future__ import annotations

from dataclasses import dataclass

from .gbench import EXECUTORS, Run, group_label


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
    """One group (workload + arguments)."""

    group: tuple
    label: str
    workers: list[int]
    cells: list[Cell]
    baseline_s: float | None
    error: str | None = None  # why no speedups could be computed (e.g. no serial baseline)


# Arguments that only the processes executor has (bench registers transport:shm and
# parent_mem:1GiB for processes only): a group with one of them takes its serial baseline from
# the group without it.
PROCESS_ONLY_ARGS = ("transport", "parent_mem")


def _serial_of(groups: dict, group: tuple):
    serial = next((b for b in groups.get(group, []) if b.name.executor == "serial"), None)
    if serial is None:
        workload, args = group
        plain = (workload, tuple(a for a in args if a[0] not in PROCESS_ONLY_ARGS))
        if plain != group:
            serial = next((b for b in groups.get(plain, []) if b.name.executor == "serial"), None)
    return serial


def speedup_tables(run: Run) -> list[Table]:
    groups: dict[tuple, list] = {}
    for bench in run.benchmarks.values():
        if bench.name.executor is not None:
            groups.setdefault(bench.name.group, []).append(bench)
    tables = []
    for group, benches in groups.items():
        if all(b.name.executor == "serial" for b in benches):
            continue  # nothing parallel to compare (cpu_scaling)
        serial = _serial_of(groups, group)
        baseline = None
        error = None
        if serial is None:
            error = "no serial baseline in this run: speedups cannot be computed"
        elif serial.error is not None:
            error = f"the serial baseline failed: {serial.error}"
        elif not serial.samples:
            error = "the serial baseline has no measurements"
        else:
            baseline = serial.median
        cells = []
        for b in sorted(benches, key=lambda b: (EXECUTORS.index(b.name.executor), b.name.workers)):
            cell = Cell(b.name.executor, b.name.workers, repetitions=len(b.samples), error=b.error)
            if b.error is None and b.samples:
                cell.median_s = b.median
                cell.cv = b.cv
                if baseline is not None and cell.median_s > 0:
                    cell.speedup = baseline / cell.median_s
                    cell.efficiency = cell.speedup / b.name.workers
            cells.append(cell)
        workers = sorted({c.workers for c in cells if c.executor != "serial"})
        tables.append(Table(group, group_label(group), workers, cells, baseline, error))
    return tables


def format_seconds(s: float) -> str:
    """'322 ms', '83.5 ns': three significant digits in the largest unit that keeps it >= 1."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        # Compare the rounded value, so 999.7 µs reads '1 ms', not '1e+03 µs'.
        if float(f"{s / scale:.3g}") >= 1 or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def _cell_text(cell: Cell | None) -> str:
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
            out.append(f"serial: {format_seconds(t.baseline_s)} per iteration (median)\n")
        header = ["executor"] + [f"{w} workers" if w > 1 else "1 worker" for w in t.workers]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for executor in ("threads", "processes"):
            row = [executor]
            for w in t.workers:
                cell = next((c for c in t.cells if c.executor == executor and c.workers == w), None)
                row.append(_cell_text(cell))
            if any(row[1:]):
                out.append("| " + " | ".join(row) + " |")
        errors = [c for c in t.cells if c.error is not None]
        for c in errors:
            where = c.executor if c.executor == "serial" else f"{c.executor}, {c.workers} workers"
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
