"""The machines comparison as a person reads it (Markdown, HTML) and as a program does (CSV,
JSON), and its figure: speedup at workers = usable CPUs and METG, executors x machines. Every
format starts from the same tables (Section); matplotlib is imported only to draw."""

from __future__ import annotations

import base64
import html
import os
import tempfile
from dataclasses import dataclass

from .gbench import Run, cores
from .granularity import Metg, format_ns, metg_text
from .machines import CONTEXT_ROWS, Ratio, Summary, context_value, cpus_text, machine_label
from .speedup import format_seconds
from .trust import MARK, MAX_INTERFERENCE, disturbed, rule


@dataclass
class Section:
    """One table: a title, a line saying how to read it, a header and rows of text cells."""

    title: str
    caption: str
    header: list[str]
    rows: list[list[str]]


def _num(x: float) -> str:
    """Three significant digits, trailing zeros kept: '1.00', '0.973', '12.3', '150'."""
    return f"{x:#.3g}".rstrip(".") if abs(x) < 1e3 else f"{x:.0f}"


def _same(value: float) -> bool:
    """A ratio that reads 1.00 at three digits either way: neither slower nor faster."""
    return _num(value) == "1.00" and _num(1 / value) == "1.00"


def ratio_words(r: Ratio) -> str:
    """'1.31× slower [1.28, 1.35]', '1.25× faster [1.2, 1.3]', 'about the same (1.01×
    [0.97, 1.05])'; the interval's note when there is none."""
    if r.value is None:
        return r.note or "—"
    if r.low is not None and r.low <= 1 <= r.high:
        text = f"about the same ({_num(r.value)}× [{_num(r.low)}, {_num(r.high)}])"
    elif r.low is None and _same(r.value):
        text = f"the same ({_num(r.value)}×)"
    elif r.value >= 1:
        text = f"{_num(r.value)}× slower" + (
            f" [{_num(r.low)}, {_num(r.high)}]" if r.low is not None else "")
    else:
        text = f"{_num(1 / r.value)}× faster" + (
            f" [{_num(1 / r.high)}, {_num(1 / r.low)}]" if r.low is not None else "")
    notes = [r.note] if r.note else []
    if r.left_out:
        notes.append(f"{r.left_out} disturbed left out")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def speedup_text(r: Ratio | None) -> str:
    if r is None or r.value is None:
        return "—"
    text = f"{_num(r.value)}×"
    return text + (f" [{_num(r.low)}, {_num(r.high)}]" if r.low is not None else "")


def metg_short(m: Metg) -> str:
    """'210 ns', '≤ 121 ns' (below the sweep), 'never (> 10 ms)' (not reached)."""
    if m.status == "crossed":
        return format_ns(m.value_ns)
    if m.status == "below the sweep":
        return f"≤ {format_ns(m.shortest_ns)}"
    if m.status == "not reached":
        return f"never (> {format_ns(m.longest_ns)})"
    return metg_text(m)


NOT_COMPARABLE = "not comparable"


def _workers_line(s: Summary) -> str:
    parts = []
    for label, run in zip(s.labels, s.runs):
        counts = {w for per in s.speedup_workers.values() for lab, w in per.items()
                  if lab == label and w is not None}
        shown = "/".join(str(w) for w in sorted(counts)) or "—"
        parts.append(f"{label}: {shown}")
    return "; ".join(parts)


def summary_sections(s: Summary) -> list[Section]:
    """The time ratios, the speedups and the METGs."""
    others = s.labels[1:]
    level = f"{s.confidence:.0%}"
    out = [Section(
        "Time per family",
        f"each machine's median times against those of {s.reference}, the geometric mean "
        f"over the benchmarks both ran [{level} bootstrap interval over the repetitions].",
        ["family", "benchmarks"] + others,
        [[family, str(max((r.count + r.left_out for r in s.time[family].values()),
                          default=0))] +
         [ratio_words(s.time[family][label]) if s.comparable(label, family) else NOT_COMPARABLE
          for label in others] for family in s.families])]
    plain = [f for f in s.families if f in s.speedup and s.speedup[f]]
    if plain:
        executors = list(dict.fromkeys(e for f in plain for e in s.executors(f)))
        rows = []
        for family in plain:
            row = [family]
            for executor in executors:
                cells = []
                for label in s.labels:
                    r = s.speedup[family].get(label, {}).get(executor)
                    ok = s.comparable(label, family)
                    cells.append(speedup_text(r).split(" [")[0] if ok else "n/c")
                row.append(" · ".join(cells))
            rows.append(row)
        out.append(Section(
            "Speedup at workers = usable CPUs",
            f"against each machine's own {s.runs[0].manifest.baseline}, in the order "
            f"{' · '.join(s.labels)}; workers: {_workers_line(s)}.",
            ["family"] + executors, rows))
    for family in s.sweeps:
        rows = []
        for (executor, payload), cells in s.metg[family].items():
            rows.append([executor, payload] + [
                (metg_short(cells[label].metg) if label in cells else "—")
                if s.comparable(label, family) else NOT_COMPARABLE for label in s.labels])
        if rows:
            out.append(Section(
                f"METG ({family})",
                "the shortest task at which each executor still reaches 50% parallel "
                "efficiency, at workers = usable CPUs: shorter pays off sooner.",
                ["executor", "payload"] + s.labels, rows))
    return out


def _family_words(s: Summary, label: str) -> str:
    slower, same, faster, other = [], [], [], []
    for family in s.families:
        r = s.time[family].get(label)
        if not s.comparable(label, family):
            other.append(family)
        elif r is None or r.value is None:
            continue
        elif (r.low is not None and r.low <= 1 <= r.high) or (r.low is None and _same(r.value)):
            same.append(family)
        elif r.value >= 1:
            slower.append(f"{family} ({_num(r.value)}×)")
        else:
            faster.append(f"{family} ({_num(1 / r.value)}×)")
    parts = []
    for word, names in (("slower on", slower), ("faster on", faster),
                        ("about the same on", same), ("not compared on", other)):
        if names:
            parts.append(f"{word} {', '.join(names)}")
    return "; ".join(parts)


METG_CHANGE = 1.5  # METGs closer than this factor are not called a change in words


def metg_phrase(m: Metg) -> str:
    """'from 160 ns', 'at every task measured (≤ 122 ns)', 'for no task up to 10 ms'."""
    if m.status == "crossed":
        return f"from {format_ns(m.value_ns)}"
    if m.status == "below the sweep":
        return f"at every task measured (≤ {format_ns(m.shortest_ns)})"
    if m.status == "not reached":
        return f"for no task up to {format_ns(m.longest_ns)}"
    return "(no data)"


def _metg_changed(mine: Metg, ref: Metg) -> bool:
    if mine.status != ref.status:
        return True
    if mine.status != "crossed":
        return False
    return max(mine.value_ns / ref.value_ns, ref.value_ns / mine.value_ns) > METG_CHANGE


def _metg_words(s: Summary, label: str) -> str:
    """'processes pay off from 160 ns (vm, 2 CPUs: for no task up to 10 ms)' for each
    executor (no payload) whose METG moved by more than METG_CHANGE."""
    parts, one_cpu = [], False
    usable = cores(s.runs[s.labels.index(label)])
    for family in s.sweeps:
        if not s.comparable(label, family):
            continue
        for (executor, payload), cells in s.metg[family].items():
            if payload != "none" or label not in cells or s.reference not in cells:
                continue
            mine, ref = cells[label].metg, cells[s.reference].metg
            one_cpu = min(cells[label].workers, usable or cells[label].workers) == 1
            if _metg_changed(mine, ref):
                parts.append(f"{executor} {metg_phrase(mine)} ({s.reference}: "
                             f"{metg_phrase(ref)})")
    if not parts:
        return f"every METG within a factor of {METG_CHANGE:g}" if s.sweeps else ""
    # 50% efficiency on one CPU is half the serial speed: no payoff, only a bounded cost.
    verb = ("reach 50% efficiency (on one CPU: half the serial speed, never a speedup)"
            if one_cpu else "pay off")
    first, _, rest = parts[0].partition(" ")
    return f"{first} {verb} {rest}" + "".join(", " + p for p in parts[1:])


def in_words(s: Summary) -> list[str]:
    """One sentence per machine against the reference."""
    out = []
    for label in s.labels[1:]:
        text = f"**{label}** against **{s.reference}**: {_family_words(s, label) or 'nothing'}"
        metg = _metg_words(s, label)
        out.append(text + (f"; {metg}" if metg else "") + ".")
    return out


def warnings(s: Summary) -> list[str]:
    """What differs from the reference: the settings, the families left out, the build."""
    out = []
    for label, c in zip(s.labels[1:], s.comparisons):
        if not c.differences:
            continue
        left = [f"{f} ({'; '.join(why)})" for f, why in c.excluded.items()]
        text = (f"{label} differs from {s.reference}: "
                + ", ".join(d.text for d in c.differences) + ". ")
        text += (f"Not compared: {', '.join(left)}." if left else
                 "Every family is still compared: no difference reaches their work.")
        if any(d.kind == "build" for d in c.differences):
            text += " The builds differ: every ratio compares the builds as much as the machines."
        out.append(text + " (--strict refuses such runs.)")
    return out


def _machines_line(s: Summary) -> str:
    """'**LABEL** `FILE`' per run, with its machine where the label does not say it."""
    parts = []
    for label, run in zip(s.labels, s.runs):
        machine = machine_label(run)
        parts.append(f"**{label}** `{run.path}`" +
                     ("" if label.startswith(machine) else f" ({machine})"))
    return "; ".join(parts)


# --- details ---------------------------------------------------------------------------------

def context_section(runs: list[Run], labels: list[str]) -> Section:
    rows = [["file"] + [r.path for r in runs]]
    rows += [[title] + [context_value(r, key) for r in runs] for title, key in CONTEXT_ROWS]
    return Section("Machines", "Each run's context.", [""] + labels, rows)


def times_section(s: Summary, limit: float) -> Section:
    runs, labels = s.runs, s.labels
    rows = []
    for name, bench in runs[0].benchmarks.items():
        family = bench.name.workload
        cells, medians = [], []
        for r in runs:
            b = r.benchmarks.get(name)
            if b is None or not b.measured:
                cells.append("error" if b is not None and b.error else "—")
                medians.append(None)
            else:
                cells.append((f"{MARK} " if disturbed(b, limit) else "") + format_seconds(b.median))
                medians.append(b.median)
        ratios = []
        for label, x in zip(labels[1:], medians[1:]):
            if not s.comparable(label, family):
                ratios.append("n/c")
            else:
                ratios.append(f"{x / medians[0]:.2f}" if x and medians[0] else "—")
        rows.append([f"`{name}`"] + cells + ratios)
    return Section("Times (median per iteration)",
                   "n/c: the family's workload settings differ from the first run's.",
                   ["benchmark"] + labels + [f"{x}/{labels[0]}" for x in labels[1:]], rows)


def speedups_section(s: Summary, speedups: list[dict[str, float]]) -> Section:
    labels = s.labels
    rows = []
    for key in speedups[0]:
        family = key.split(" ")[0]
        values = [sp.get(key) for sp in speedups]
        cells = [f"{v:.2f}×" if v is not None else "—" for v in values]
        ratios = [("n/c" if not s.comparable(label, family) else
                   f"{v / values[0]:.2f}" if v is not None and values[0] else "—")
                  for label, v in zip(labels[1:], values[1:])]
        rows.append([key] + cells + ratios)
    baseline = s.runs[0].manifest.baseline
    return Section(f"Speedups against each machine's own {baseline} run", "",
                   ["benchmark"] + labels + [f"{x}/{labels[0]}" for x in labels[1:]], rows)


def _speedups(run: Run, limit: float) -> dict[str, float]:
    from .speedup import speedup_tables
    out = {}
    for t in speedup_tables(run, limit):
        for c in t.cells:
            if c.speedup is not None and c.executor != t.baseline:
                out[f"{t.label} {c.executor} x{c.workers}"] = c.speedup
    return out


def detail_sections(s: Summary, limit: float) -> list[Section]:
    if len(s.runs) == 1:
        return [context_section(s.runs, s.labels)]
    return [context_section(s.runs, s.labels), times_section(s, limit),
            speedups_section(s, [_speedups(r, limit) for r in s.runs])]


# --- Markdown --------------------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(sec: Section, level: str | None = None) -> list[str]:
    """The table under a heading (`level`), or under one bold line: title and caption."""
    if level:
        out = [f"{level} {sec.title}", ""] + ([sec.caption, ""] if sec.caption else [])
    else:
        out = [f"**{sec.title}**" + (f": {sec.caption}" if sec.caption else ""), ""]
    out.append("| " + " | ".join(_md_cell(h) for h in sec.header) + " |")
    out.append("|" + "---|" * len(sec.header))
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in sec.rows]
    return out + [""]


def to_markdown(s: Summary, limit: float = MAX_INTERFERENCE) -> str:
    out = []
    out += [f"**Warning:** {w}" for w in warnings(s)]
    if out:
        out.append("")
    if len(s.runs) > 1:
        out += ["## Summary", "", _machines_line(s), ""]
        for sec in summary_sections(s):
            out += _md_table(sec)
        out += [f"- {line}" for line in in_words(s)] + [""]
    for sec in detail_sections(s, limit):
        out += _md_table(sec, "##")
    if any(MARK in c for sec in detail_sections(s, limit) for row in sec.rows for c in row):
        out += [f"{MARK}: {rule(limit)}.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# --- CSV and JSON ----------------------------------------------------------------------------

CSV_COLUMNS = ["section", "family", "executor", "payload", "machine", "reference", "workers",
               "value", "low", "high", "count", "comparable", "text"]


def _ratio_fields(r: Ratio) -> dict:
    return {"value": r.value, "low": r.low, "high": r.high, "count": r.count}


def to_rows(s: Summary) -> list[dict]:
    """One row per number of the summary: section time_ratio (a machine's time / the
    reference's), speedup (against its own baseline), metg (ns)."""
    rows = []
    blank = dict.fromkeys(CSV_COLUMNS)
    for family in s.families:
        for label, r in s.time[family].items():
            rows.append(dict(blank, section="time_ratio", family=family, machine=label,
                             reference=s.reference, comparable=s.comparable(label, family),
                             text=ratio_words(r), **_ratio_fields(r)))
        for label, per in s.speedup.get(family, {}).items():
            for executor, r in per.items():
                rows.append(dict(blank, section="speedup", family=family, executor=executor,
                                 machine=label, workers=s.speedup_workers[family][label],
                                 comparable=s.comparable(label, family), text=speedup_text(r),
                                 **_ratio_fields(r)))
    for family in s.sweeps:
        for (executor, payload), cells in s.metg[family].items():
            for label, cell in cells.items():
                rows.append(dict(blank, section="metg", family=family, executor=executor,
                                 payload=payload, machine=label, workers=cell.workers,
                                 value=cell.metg.value_ns, comparable=s.comparable(label, family),
                                 text=metg_text(cell.metg)))
    return rows


def to_json(s: Summary) -> dict:
    machines = [{"label": label, "file": run.path, "host": run.context.get("host_name"),
                 "cpus": cpus_text(run), "usable_cpus": run.context.get("parbench_usable_cpus"),
                 "cgroup_cpu_quota": run.context.get("parbench_cgroup_cpu_quota"),
                 "affinity_cpus": run.context.get("parbench_affinity_cpus"),
                 "cpu_model": run.context.get("parbench_cpu_model"),
                 "date": run.context.get("date"),
                 "revision": run.context.get("parbench_git_revision")}
                for label, run in zip(s.labels, s.runs)]
    differences = [{"machine": label,
                    "differences": [{"kind": d.kind, "name": d.name, "reference": d.reference,
                                     "other": d.other} for d in c.differences],
                    "not_compared": c.excluded}
                   for label, c in zip(s.labels[1:], s.comparisons)]
    return {"reference": s.reference, "confidence": s.confidence, "machines": machines,
            "differences": differences, "warnings": warnings(s), "in_words": in_words(s),
            "summary": to_rows(s)}


# --- the figure ------------------------------------------------------------------------------

def figure(s: Summary, out_base: str, formats=("png", "svg")) -> list[str]:
    """Executors x machines: per family a panel of speedups at workers = usable CPUs (bars per
    machine, whiskers the interval), and per sweep family a panel of METGs (log scale; ▼ below
    the sweep, ▲ never reached)."""
    from .plots import _pyplot, _save
    plt = _pyplot()
    plain = [f for f in s.families if s.speedup.get(f)]
    sweeps = [f for f in s.sweeps if s.metg.get(f)]
    panels = len(plain) + len(sweeps)
    if not panels:
        return []
    ncols = 2 if panels == 4 else min(3, panels)
    nrows = (panels + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False)
    flat = list(axes.flat)
    for ax, family in zip(flat, plain):
        _speedup_panel(ax, s, family)
    for ax, family in zip(flat[len(plain):], sweeps):
        _metg_panel(ax, s, family)
    for ax in flat[panels:]:
        ax.axis("off")
    handles, names = flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=min(len(names), 4), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (3.6 * nrows)))
    written = _save(fig, out_base, formats)
    plt.close(fig)
    return written


def _speedup_panel(ax, s: Summary, family: str) -> None:
    executors = s.executors(family)
    width = 0.8 / len(s.labels)
    for i, label in enumerate(s.labels):
        xs, ys, errs = [], [], [[], []]
        for j, executor in enumerate(executors):
            r = s.speedup[family].get(label, {}).get(executor)
            if r is None or r.value is None or not s.comparable(label, family):
                continue
            xs.append(j + (i - (len(s.labels) - 1) / 2) * width)
            ys.append(r.value)
            errs[0].append(r.value - r.low if r.low is not None else 0)
            errs[1].append(r.high - r.value if r.high is not None else 0)
        workers = s.speedup_workers[family].get(label)
        ax.bar(xs, ys, width, yerr=errs, capsize=2, color=f"C{i % 10}",
               label=f"{label}" + (f" ({workers} w)" if workers else ""))
    ax.axhline(1, color="black", linewidth=0.6)
    ax.set_xticks(range(len(executors)))
    ax.set_xticklabels(executors, fontsize=8)
    ax.set_title(f"{family}: speedup at workers = usable CPUs", fontsize=9)
    ax.set_ylabel(f"speedup vs {s.runs[0].manifest.baseline}", fontsize=8)


def _metg_panel(ax, s: Summary, family: str) -> None:
    keys = list(s.metg[family])
    width = 0.8 / len(s.labels)
    for i, label in enumerate(s.labels):
        if not s.comparable(label, family):
            continue
        for j, key in enumerate(keys):
            cell = s.metg[family][key].get(label)
            if cell is None:
                continue
            m, x = cell.metg, j + (i - (len(s.labels) - 1) / 2) * width
            y, marker = {"crossed": (m.value_ns, "o"), "below the sweep": (m.shortest_ns, "v"),
                         "not reached": (m.longest_ns, "^")}.get(m.status, (None, None))
            if y:
                ax.plot([x], [y], marker=marker, color=f"C{i % 10}", markersize=7,
                        linestyle="none")
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_ns(v)))
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([e if p == "none" else f"{e}\n{p}" for e, p in keys], fontsize=7)
    ax.set_title(f"{family}: METG (50%), lower pays off sooner\n"
                 "● crossed, ▼ below the sweep, ▲ never reached", fontsize=9)
    ax.set_ylabel("task duration", fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)


# --- HTML ------------------------------------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; font-size: 90%; vertical-align: top; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
.warning { background: #fff3cd; padding: 0.5em; border: 1px solid #e0c060; }
.caption { font-size: 85%; color: #444; }
"""


def _html_table(sec: Section, level: str = "h3") -> str:
    e = html.escape
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                   for row in sec.rows)
    return (f"<{level}>{e(sec.title)}</{level}>" +
            (f"<p class='caption'>{e(sec.caption)}</p>" if sec.caption else "") +
            "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in sec.header) + "</tr>" +
            rows + "</table>")


def _embedded_figure(s: Summary) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        files = figure(s, os.path.join(tmp, "machines"), ("png",))
        if not files:
            return ""
        with open(files[0], "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
    return ('<img alt="speedup at workers = usable CPUs and METG, executors x machines" '
            f'src="data:image/png;base64,{data}">')


def to_html(s: Summary, limit: float = MAX_INTERFERENCE, notes: list[str] | None = None) -> str:
    """One self-contained page: `notes` (the runs' noise and interference warnings) and the
    settings warnings, the summary, the figure, the details."""
    e = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f"<title>parbench: {e(' vs '.join(s.labels))}</title>",
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Machines: {e(', '.join(s.labels))}</h1>"]
    parts += [f"<p class='warning'>{e(w)}</p>" for w in (notes or []) + warnings(s)]
    if len(s.runs) > 1:
        parts.append("<h2>Summary</h2><ul>" + "".join(
            f"<li>{e(line.replace('**', ''))}</li>" for line in in_words(s)) + "</ul>")
        parts += [_html_table(sec) for sec in summary_sections(s)]
        parts.append(_embedded_figure(s))
    parts += [_html_table(sec, "h2") for sec in detail_sections(s, limit)]
    return "\n".join(parts) + "\n</body></html>\n"
