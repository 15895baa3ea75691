"""The speedup tables for a terminal (`speedup --format text`): the verdicts first, then one
compact grid per table that fits the width (intervals dropped, then one line per cell, when
it would not)."""

from __future__ import annotations

import textwrap

from .gbench import Run
from .profile import profile_line
from .speedup import Cell, Table, baseline_text, ratio_text, speedup_text
from .stats import CONFIDENCE
from .trust import MARK
from .verdict import verdicts


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent,
                         subsequent_indent=indent + "  ", break_on_hyphens=False) or [""]


def compact_cell(cell: Cell | None, t: Table, confidence: float, interval: bool) -> str:
    """'1.98× [1.96, 2.00]', '104 ns, 1.63× serial', '⚠ 0.88×', 'error' or ''."""
    if cell is None:
        return ""
    if cell.error is not None:
        return "error"
    mark = f"{MARK} " if cell.flagged else ""
    if cell.cost_text is not None and t.cost is not None:
        text = cell.cost_text.replace(" " + t.cost.per, "")
        if cell.floor_ratio is not None:
            text += f", {ratio_text(cell.floor_ratio)} {cell.floor}"
        return mark + text
    if cell.speedup is None:
        return mark + "—"
    return mark + speedup_text(cell, confidence, interval)


def _grid(t: Table, confidence: float, interval: bool) -> list[list[str]]:
    header = ["executor"] + [f"{w} worker{'s' if w > 1 else ''}" for w in t.workers]
    rows = [header]
    for executor in t.executors:
        cells = [compact_cell(t.cell(executor, w), t, confidence, interval) for w in t.workers]
        if any(cells):
            rows.append([executor] + cells)
    return rows


def _render(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def table_lines(t: Table, width: int, confidence: float = CONFIDENCE) -> list[str]:
    """The table as a grid that fits `width`: with intervals, else without, else one line
    per executor and worker count."""
    lines = _wrap(f"{t.label} — {baseline_text(t, confidence) if t.baseline_s else t.error}",
                  width)
    for interval in (True, False):
        grid = _render(_grid(t, confidence, interval))
        if max(len(line) for line in grid) <= width:
            return lines + grid
    for row in _grid(t, confidence, True)[1:]:
        for w, cell in zip(t.workers, row[1:]):
            if cell:
                lines += _wrap(f"{row[0]}, {w} worker{'s' if w > 1 else ''}: {cell}", width, "  ")
    return lines


def to_text(run: Run, tables: list[Table], warnings: list[str], width: int,
            confidence: float = CONFIDENCE) -> str:
    """Verdicts, then every table that is not a sweep; `warnings` (noise, disturbed runs) after
    the profile line."""
    lines = _wrap(f"{run.path}: speedup against {run.manifest.baseline} "
                  f"(= its time / the executor's, for the same work)", width)
    if profile_line(run):
        lines += _wrap(profile_line(run), width)
    for w in warnings:
        lines += _wrap(f"Warning: {w}", width)
    lines += ["", "Verdicts:"]
    for v in verdicts(run, tables):
        lines += _wrap(v, width, "  ")
    sweeps = sorted({t.group[0] for t in tables if t.sweep})
    for family in sweeps:
        lines += _wrap(f"{family}: a sweep of task durations: parbench-tools granularity "
                       f"{run.path} gives from which task size each executor pays off (METG)",
                       width, "  ")
    lines.append("")
    lines += _wrap(f"Cells: speedup [interval] (a level below {confidence:.0%} follows it when "
                   "the repetitions were too few for it); cost families: cost, times the "
                   f"floor's; {MARK}: disturbed.", width)
    for t in tables:
        if not t.sweep:
            lines += [""] + table_lines(t, width, confidence)
    return "\n".join(lines) + "\n"
