"""One self-contained HTML page: the answer first (METG, a verdict per family), a table of
contents, the tables, plots and timelines, the machine, and parbench's own goals last.
Images are embedded as data: URIs, so the page needs no network and no other file."""

from __future__ import annotations

import base64
import html
import os
import tempfile

from . import granularity as granularity_mod
from .errors import ToolError
from .gbench import Run, cores
from .goals import disturbed_text, evaluate as evaluate_goals, verdict_text
from .machines import CONTEXT_ROWS, context_value
from .plots import granularity_figure, speedup_figure, timeline_figures
from .speedup import (any_flagged, baseline_text, cell_text, disturbed_baseline_text, legend,
                      speedup_tables)
from .profile import is_quick, profile_line
from .stats import CONFIDENCE
from .trace import Timeline
from .trust import MARK, MAX_INTERFERENCE, disturbed_warning, noise_warnings
from .verdict import verdicts

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; font-size: 90%; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.error { color: #b00; }
.warning { background: #fff3cd; padding: 0.5em; border: 1px solid #e0c060; }
.verdict { font-size: 120%; background: #eef6ee; padding: 0.6em; border: 1px solid #9c9; }
.verdicts li { margin: 0.2em 0; }
nav { background: #f7f7f7; padding: 0.3em 1em; border: 1px solid #ddd; }
.flagged { background: #fde8e8; }
.legend { font-size: 85%; color: #444; }
"""

# Records, on the body element, how many images loaded and any script error: a browser test
# reads these attributes back.
_SELF_CHECK = """
window.addEventListener('error', function (e) {
  document.body.dataset.errors = (document.body.dataset.errors || '') + e.message + ';';
});
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  document.body.dataset.imagesTotal = imgs.length;
  document.body.dataset.imagesLoaded =
      imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
});
"""


def _img(path: str, alt: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _md_to_html_cell(text: str) -> str:
    if text == "**error**":
        return '<span class="error">error</span>'
    return html.escape(text)


def _td(text: str) -> str:
    flagged = text.startswith(MARK)
    return ("<td class='flagged'>" if flagged else "<td>") + _md_to_html_cell(text) + "</td>"


def _granularity_section(run: Run, curves, tmp: str, e) -> list[str]:
    """The METG table and the efficiency plot."""
    rows = granularity_mod.to_rows(curves)
    definition = curves[0].definition if curves else granularity_mod.DEFAULT_DEFINITION
    parts = ["<h2>When does it pay off? METG (minimum effective task granularity)</h2>",
             f"<p class='legend'>{e(granularity_mod.definition_note(definition))}</p>",
             "<table><tr><th>executor</th><th>workers</th><th>payload</th><th>dispatch</th>"
             "<th>METG, parbench's (task duration)</th><th>METG, Task Bench's (granularity)"
             "</th><th>below 50% efficiency</th><th>efficiency at the longest task</th>"
             "<th>trust</th></tr>"]
    for c, row in zip(curves, rows):
        longest = (f"{row['longest_efficiency']:.2f}" if row["longest_efficiency"] is not None
                   else "—")
        trust = (f"{MARK} {len(c.flagged)} of {len(c.points)} points disturbed"
                 if c.flagged else "")
        pb, tb = (granularity_mod.metg_text(c.metg(d)) for d in ("parbench", "taskbench"))
        parts.append(f"<tr><th>{e(c.executor)}</th><td>{c.workers}</td><td>{e(c.payload)}</td>"
                     f"<td>{e(c.dispatch or '—')}</td><td>{e(pb)}</td>"
                     f"<td>{e(tb)}</td><td>{e(row['below_50'])}</td>"
                     f"<td>{longest}</td>{_td(trust)}</tr>")
    parts.append("</table>")
    plots = granularity_figure(curves, os.path.join(tmp, "granularity"), formats=("png",))
    if plots:
        parts.append(_img(plots[0], "efficiency against task duration"))
    return parts


def _section(parts: list[str], toc: list[tuple[str, str]], anchor: str, title: str) -> None:
    """An <h2> with an id, listed in the table of contents."""
    toc.append((anchor, title))
    parts.append(f"<h2 id='{anchor}'>{html.escape(title, quote=False)}</h2>")


def _plain(text: str) -> str:
    """Markdown's marks out of a cell meant for HTML (backticks, bold)."""
    return text.replace("`", "").replace("**", "")


def _answer(run: Run, tables, curves, max_interference: float) -> list[str]:
    """The answer first: the METG sentence of a sweep, a verdict per family, and the warnings
    about a busy machine or disturbed benchmarks."""
    e = html.escape
    parts = []
    sentence = granularity_mod.verdict(run, curves)
    if sentence:
        parts.append(f"<p class='verdict'>{e(sentence)}</p>")
    found = verdicts(run, tables)
    if found:
        parts.append("<ul class='verdicts'>" + "".join(
            f"<li{' class=flagged' if MARK in v else ''}>{e(v)}</li>" for v in found) + "</ul>")
    for warning in noise_warnings(run) + [disturbed_warning(run, max_interference)]:
        if warning:
            parts.append(f"<p class='warning'>{MARK} {e(warning)}</p>")
    return parts


def _tables_section(tables, confidence: float, max_interference: float) -> list[str]:
    e = html.escape
    parts = [f"<p class='legend'>{e(legend(confidence, max_interference, any_flagged(tables)))}"
             "</p>"]
    for t in tables:
        if t.sweep:
            continue  # read by its METG above
        parts.append(f"<h3>{e(t.label)}</h3>")
        if t.error:
            parts.append(f"<p class='error'>{e(t.error)}</p>")
        if t.baseline_s is not None:
            parts.append(f"<p>{e(baseline_text(t, confidence))}</p>")
        if t.baseline_disturbed:
            parts.append(f"<p class='warning'>{e(disturbed_baseline_text(t))}</p>")
        parts.append("<table><tr><th>executor</th>" +
                     "".join(f"<th>{w} worker{'s' if w > 1 else ''}</th>" for w in t.workers)
                     + "</tr>")
        for executor in t.executors:
            cells = [t.cell(executor, w) for w in t.workers]
            if not any(cells):
                continue  # this run has no such executor for the group
            parts.append(f"<tr><th>{e(executor)}</th>" +
                         "".join(_td(cell_text(c, confidence, t.cost)) for c in cells) + "</tr>")
        parts.append("</table>")
        for c in t.cells:
            if c.error:
                parts.append(f"<p class='error'>{e(c.executor)} ({c.workers}): {e(c.error)}</p>")
    return parts


def _goals_section(goals, max_interference: float) -> list[str]:
    """parbench's own goals for its executors, labelled as such: a miss is parbench's to fix,
    not a verdict on the user's work."""
    e = html.escape
    parts = ["<p class='legend'>These are the goals parbench sets for its own executors "
             "(docs/executor-speed.md): how fast its pools dispatch, round-trip, start and "
             "move data. A missed goal is work for parbench, not a fault of this machine or of "
             "your code.</p>",
             "<table><tr><th>quantity</th><th>benchmark</th><th>goal</th>"
             "<th>measured (median)</th><th></th></tr>"]
    for g in goals:
        text = e(_plain(verdict_text(g)))
        measured = e(_plain(g.measured)) + (f" ({MARK} {e(_plain(disturbed_text(g)))})"
                                            if g.disturbed else "")
        parts.append(f"<tr><td>{e(g.quantity)}</td><td><code>{e(g.benchmark)}</code></td>"
                     f"<td>{e(g.goal)}</td><td>{measured}</td><td>{text}</td></tr>")
    parts.append("</table>")
    return parts


def _timelines(run: Run, timelines: list[Timeline], tmp: str,
               max_interference: float) -> list[str]:
    """The timelines at the usable CPUs (the count the verdicts read), without sweeps: the
    page stays a few MB; `parbench-tools timeline` draws every one."""
    cpus = cores(run) or 1
    sweeps = set(granularity_mod.sweep_families(run))
    groups: dict = {}
    for tl in timelines:
        if tl.name.executor is not None and tl.name.workload not in sweeps:
            groups.setdefault(tl.name.group, []).append(tl)
    keep = []
    for tls in groups.values():
        counts = sorted({t.workers for t in tls if t.name.executor != run.manifest.baseline})
        if not counts:
            continue
        nearest = min(counts, key=lambda w: (abs(w - cpus), w))
        keep += [t for t in tls if t.name.executor == run.manifest.baseline
                 or t.workers == nearest]
    return [_img(path, os.path.basename(path)) for path in
            timeline_figures(keep, tmp, ("png",), run.manifest, run, max_interference)]


def build_report(run: Run, timelines: list[Timeline] | None,
                 max_interference: float = MAX_INTERFERENCE,
                 confidence: float = CONFIDENCE) -> str:
    """The page, the answer first: the METG sentence and a verdict per family, then a table
    of contents, the METG table, the speedup and cost tables, the plots, the timelines, the
    machine, and last parbench's own goals, labelled as such. A run with no executor
    benchmarks (no FAMILY/EXECUTOR/... names of the manifest's executors) is a ToolError: its
    page would be empty."""
    e = html.escape
    tables = speedup_tables(run, max_interference, confidence)
    goals = [] if is_quick(run) else evaluate_goals(run, max_interference)
    curves = granularity_mod.curves(run, max_interference)
    if not run.executor_benchmarks() and not goals:
        executors = ", ".join(run.manifest.executor_names)
        raise ToolError(run.path, f"has no parbench benchmarks (no FAMILY/EXECUTOR names with "
                                  f"an executor of {executors}): nothing to report")
    head = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>parbench report — {e(os.path.basename(run.path))}</title>",
            f"<style>{_STYLE}</style><script>{_SELF_CHECK}</script></head><body>",
            "<h1>parbench report</h1>",
            f"<p>From <code>{e(os.path.basename(run.path))}</code>"
            + (f". {e(profile_line(run))}" if profile_line(run) else "") + ".</p>"]
    head += _answer(run, tables, curves, max_interference)
    parts: list[str] = []
    toc: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="parbench-report-") as tmp:
        if curves:
            _section(parts, toc, "metg", "When does it pay off? METG")
            parts += _granularity_section(run, curves, tmp, e)[1:]
        _section(parts, toc, "tables", f"Speedups and costs against {run.manifest.baseline}")
        parts += _tables_section(tables, confidence, max_interference)
        plots = speedup_figure(run, os.path.join(tmp, "speedup"), formats=("png",),
                               max_interference=max_interference)
        if plots:
            _section(parts, toc, "curves", "Speedup curves")
            parts.append(_img(plots[0], "speedup per workload"))
        if timelines:
            _section(parts, toc, "timelines", "Timelines (at the usable CPUs)")
            parts += _timelines(run, timelines, tmp, max_interference)
    _section(parts, toc, "machine", "Machine")
    parts.append("<table>" + "".join(f"<tr><th>{e(title)}</th><td>"
                                     f"{e(context_value(run, key))}</td></tr>"
                                     for title, key in CONTEXT_ROWS) + "</table>")
    if goals:
        _section(parts, toc, "goals", "parbench's own goals (about its executors)")
        parts += _goals_section(goals, max_interference)
    contents = "<nav><h2>Contents</h2><ol>" + "".join(
        f"<li><a href='#{a}'>{e(t)}</a></li>" for a, t in toc) + "</ol></nav>"
    return "\n".join(head + [contents] + parts + ["</body></html>\n"])
