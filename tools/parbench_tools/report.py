"""One self-contained HTML page: machine context, speedup tables, speedup plot, timelines.
Images are embedded as data: URIs, so the page needs no network and no other file."""

from __future__ import annotations

import base64
import html
import os
import tempfile

from .errors import ToolError
from .gbench import Run, noise_warning
from .goals import evaluate as evaluate_goals
from .machines import CONTEXT_ROWS, context_value
from .plots import speedup_figure, timeline_figures
from .speedup import cell_text, format_seconds, speedup_tables
from .trace import Timeline

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; font-size: 90%; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.error { color: #b00; }
.warning { background: #fff3cd; padding: 0.5em; border: 1px solid #e0c060; }
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


def build_report(run: Run, timelines: list[Timeline] | None) -> str:
    """The page; a run with no executor benchmarks (no FAMILY/EXECUTOR/... names of the
    manifest's executors) is a ToolError: its page would be empty."""
    e = html.escape
    tables = speedup_tables(run)
    goals = evaluate_goals(run)
    if not run.executor_benchmarks() and not goals:
        executors = ", ".join(run.manifest.executor_names)
        raise ToolError(run.path, f"has no parbench benchmarks (no FAMILY/EXECUTOR names with "
                                  f"an executor of {executors}): nothing to report")
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f"<title>parbench report — {e(os.path.basename(run.path))}</title>",
             f"<style>{_STYLE}</style><script>{_SELF_CHECK}</script></head><body>",
             f"<h1>parbench report</h1><p>From <code>{e(run.path)}</code>.</p>"]
    warning = noise_warning(run)
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
            verdict = "met" if g.met else "<span class='error'>missed</span>"
            parts.append(f"<tr><td>{e(g.quantity)}</td><td><code>{e(g.benchmark)}</code></td>"
                         f"<td>{e(g.goal)}</td><td>{e(g.measured)}</td><td>{verdict}</td></tr>")
        parts.append("</table>")

    parts.append(f"<h2>Speedup against {e(run.manifest.baseline)}</h2>")
    for t in tables:
        parts.append(f"<h3>{e(t.label)}</h3>")
        if t.error:
            parts.append(f"<p class='error'>{e(t.error)}</p>")
        if t.baseline_s is not None:
            parts.append(f"<p>{e(t.baseline)}: {e(format_seconds(t.baseline_s))} per "
                         "iteration</p>")
        parts.append("<table><tr><th>executor</th>" +
                     "".join(f"<th>{w} worker{'s' if w > 1 else ''}</th>" for w in t.workers)
                     + "</tr>")
        for executor in t.executors:
            cells = [t.cell(executor, w) for w in t.workers]
            if not any(cells):
                continue  # this run has no such executor for the group
            parts.append(f"<tr><th>{e(executor)}</th>" +
                         "".join(f"<td>{_md_to_html_cell(cell_text(c))}</td>" for c in cells) +
                         "</tr>")
        parts.append("</table>")
        for c in t.cells:
            if c.error:
                parts.append(f"<p class='error'>{e(c.executor)} ({c.workers}): {e(c.error)}</p>")

    with tempfile.TemporaryDirectory(prefix="parbench-report-") as tmp:
        plots = speedup_figure(run, os.path.join(tmp, "speedup"), formats=("png",))
        if plots:
            parts.append("<h2>Speedup curves</h2>" + _img(plots[0], "speedup per workload"))
        if timelines:
            parts.append("<h2>Timelines (last iteration of each benchmark)</h2>")
            for path in timeline_figures(timelines, tmp, ("png",), run.manifest):
                parts.append(_img(path, os.path.basename(path)))
    parts.append("</body></html>\n")
    return "\n".join(parts)
