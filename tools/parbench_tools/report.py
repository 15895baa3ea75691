"""One self-contained HTML page: machine context, speedup tables, speedup plot, timelines.
Images are embedded as data: URIs, so the page needs no network and no other file."""

from __future__ import annotations

import base64
import html
import os
import tempfile

from . import granularity as granularity_mod
from .errors import ToolError
from .gbench import Run
from .goals import disturbed_text, evaluate as evaluate_goals, verdict_text
from .machines import CONTEXT_ROWS, context_value
from .plots import granularity_figure, speedup_figure, timeline_figures
from .speedup import (any_flagged, baseline_text, cell_text, disturbed_baseline_text, legend,
                      speedup_tables)
from .stats import CONFIDENCE
from .trace import Timeline
from .trust import MARK, MAX_INTERFERENCE, disturbed_warning, noise_warnings

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; font-size: 90%; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.error { color: #b00; }
.warning { background: #fff3cd; padding: 0.5em; border: 1px solid #e0c060; }
.verdict { font-size: 120%; background: #eef6ee; padding: 0.6em; border: 1px solid #9c9; }
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
    parts = ["<h2>When does it pay off? METG (minimum effective task granularity)</h2>",
             "<p class='legend'>Efficiency = baseline time / (min(workers, usable CPUs) × "
             "executor time) for the same tasks, against the task duration the baseline "
             "measured; METG(50%): where it last rises through 0.5 (interpolated in "
             "log(duration)).</p>",
             "<table><tr><th>executor</th><th>workers</th><th>payload</th><th>METG (50%)</th>"
             "<th>below 50% efficiency</th><th>efficiency at the longest task</th>"
             "<th>trust</th></tr>"]
    for c, row in zip(curves, rows):
        longest = (f"{row['longest_efficiency']:.2f}" if row["longest_efficiency"] is not None
                   else "—")
        trust = (f"{MARK} {len(c.flagged)} of {len(c.points)} points disturbed"
                 if c.flagged else "")
        parts.append(f"<tr><th>{e(c.executor)}</th><td>{c.workers}</td><td>{e(c.payload)}</td>"
                     f"<td>{e(row['metg'])}</td><td>{e(row['below_50'])}</td>"
                     f"<td>{longest}</td>{_td(trust)}</tr>")
    parts.append("</table>")
    plots = granularity_figure(curves, os.path.join(tmp, "granularity"), formats=("png",))
    if plots:
        parts.append(_img(plots[0], "efficiency against task duration"))
    return parts


def build_report(run: Run, timelines: list[Timeline] | None,
                 max_interference: float = MAX_INTERFERENCE,
                 confidence: float = CONFIDENCE) -> str:
    """The page; a run with no executor benchmarks (no FAMILY/EXECUTOR/... names of the
    manifest's executors) is a ToolError: its page would be empty. With a task-duration sweep
    it opens with a one-sentence verdict from the METG table."""
    e = html.escape
    tables = speedup_tables(run, max_interference, confidence)
    goals = evaluate_goals(run, max_interference)
    curves = granularity_mod.curves(run, max_interference)
    if not run.executor_benchmarks() and not goals:
        executors = ", ".join(run.manifest.executor_names)
        raise ToolError(run.path, f"has no parbench benchmarks (no FAMILY/EXECUTOR names with "
                                  f"an executor of {executors}): nothing to report")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f"<title>parbench report — {e(os.path.basename(run.path))}</title>",
             f"<style>{_STYLE}</style><script>{_SELF_CHECK}</script></head><body>",
             "<h1>parbench report</h1>"]
    verdict = granularity_mod.verdict(run, curves)
    if verdict:
        parts.append(f"<p class='verdict'>{e(verdict)}</p>")
    parts.append(f"<p>From <code>{e(run.path)}</code>.</p>")
    for warning in noise_warnings(run) + [disturbed_warning(run, max_interference)]:
        if warning:
            parts.append(f"<p class='warning'>{e(warning)}</p>")
    parts.append("<h2>Machine</h2><table>")
    for title, key in CONTEXT_ROWS:
        parts.append(f"<tr><th>{e(title)}</th><td>{e(context_value(run, key))}</td></tr>")
    parts.append("</table>")

    if goals:
        parts.append("<h2>Executor speed against the goals</h2><table><tr><th>quantity</th>"
                     "<th>benchmark</th><th>goal</th><th>measured (median)</th><th></th></tr>")
        for g in goals:
            text = e(verdict_text(g).replace("**missed**", "missed"))
            if not g.met:
                text = f"<span class='error'>{text}</span>"
            measured = e(g.measured) + (f" ({MARK} {e(disturbed_text(g))})" if g.disturbed
                                        else "")
            parts.append(f"<tr><td>{e(g.quantity)}</td><td><code>{e(g.benchmark)}</code></td>"
                         f"<td>{e(g.goal)}</td><td>{measured}</td><td>{text}</td></tr>")
        parts.append("</table>")

    if curves:
        with tempfile.TemporaryDirectory(prefix="parbench-report-") as tmp:
            parts += _granularity_section(run, curves, tmp, e)

    parts.append(f"<h2>Speedup against {e(run.manifest.baseline)}</h2>")
    parts.append(f"<p class='legend'>"
                 f"{e(legend(confidence, max_interference, any_flagged(tables)))}</p>")
    for t in tables:
        parts.append(f"<h3>{e(t.label)}</h3>")
        if t.error:
            parts.append(f"<p class='error'>{e(t.error)}</p>")
        if t.baseline_s is not None:
            parts.append(f"<p>{e(baseline_text(t))}</p>")
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

    with tempfile.TemporaryDirectory(prefix="parbench-report-") as tmp:
        plots = speedup_figure(run, os.path.join(tmp, "speedup"), formats=("png",),
                               max_interference=max_interference)
        if plots:
            parts.append("<h2>Speedup curves</h2>" + _img(plots[0], "speedup per workload"))
        if timelines:
            parts.append("<h2>Timelines (last iteration of each benchmark)</h2>")
            for path in timeline_figures(timelines, tmp, ("png",), run.manifest):
                parts.append(_img(path, os.path.basename(path)))
    parts.append("</body></html>\n")
    return "\n".join(parts)
