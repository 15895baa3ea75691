"""parbench-tools: one command, several subcommands. main(argv) -> exit status."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys

from . import compare as compare_mod
from . import export as export_mod
from . import goals as goals_mod
from . import machines as machines_mod
from . import speedup as speedup_mod
from .errors import ToolError
from .gbench import load_run, noise_warning


def _write(text: str, out: str | None) -> None:
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _with_noise_warnings(markdown: str, runs) -> str:
    """`markdown` with a warning line for each run whose noise probe saw a busy machine."""
    warnings = [f"**Warning ({run.path}):** {w}\n" for run in runs if (w := noise_warning(run))]
    return "".join(warnings) + ("\n" if warnings else "") + markdown


def cmd_speedup(args) -> int:
    run = load_run(args.run)
    tables = speedup_mod.speedup_tables(run)
    if not tables:
        raise ToolError(args.run, "has no serial/threads/processes benchmarks")
    if args.format == "markdown":
        text = _with_noise_warnings(speedup_mod.to_markdown(tables), [run])
    elif args.format == "json":
        text = json.dumps(speedup_mod.to_rows(tables), indent=1) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=speedup_mod.CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(speedup_mod.to_rows(tables))
        text = buf.getvalue()
    _write(text, args.out)
    missing = [t for t in tables if t.error]
    for t in missing:
        print(f"parbench-tools: {args.run}: {t.label}: {t.error}", file=sys.stderr)
    return 1 if missing else 0


def cmd_timeline(args) -> int:
    from .plots import timeline_figures
    from .trace import load_trace
    timelines = load_trace(args.trace)
    formats = tuple(f for f in args.formats.split(",") if f)
    bad = [f for f in formats if f not in ("png", "svg")]
    if bad or not formats:
        raise ToolError("--formats", f"takes png and/or svg, not '{args.formats}'")
    files = timeline_figures(timelines, args.out_dir, formats)
    print(f"wrote {len(files)} files to {args.out_dir}")
    return 0


def cmd_plot(args) -> int:
    from .plots import speedup_figure
    run = load_run(args.run)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    files = speedup_figure(run, args.out)
    if not files:
        raise ToolError(args.run, "has no workload with a serial baseline to plot")
    print("wrote " + ", ".join(files))
    return 0


def cmd_compare(args) -> int:
    base, new = load_run(args.base), load_run(args.new)
    result = compare_mod.compare(base, new)
    if not result.rows:
        raise ToolError(args.new, f"shares no benchmark with {args.base} (mismatched runs)")
    text = compare_mod.to_markdown(result, args.base, args.new, args.threshold)
    _write(_with_noise_warnings(text, [base, new]), args.out)
    if args.threshold is not None and compare_mod.regressions(result, args.threshold):
        return 1
    return 0


def cmd_machines(args) -> int:
    runs = [load_run(p) for p in args.runs]
    labels = [str(r.context.get("host_name") or os.path.basename(r.path)) for r in runs]
    if len(set(labels)) < len(labels):  # same host twice: fall back to file names
        labels = [os.path.basename(r.path) for r in runs]
    _write(machines_mod.to_markdown(runs, labels), args.out)
    return 0


def cmd_export(args) -> int:
    run = load_run(args.run)
    _write(json.dumps(export_mod.export(run, args.format), indent=1, allow_nan=False) + "\n",
           args.out)
    return 0


def cmd_goals(args) -> int:
    run = load_run(args.run)
    goals = goals_mod.evaluate(run)
    if not goals:
        raise ToolError(args.run, "has none of the executor-speed benchmarks (overhead, "
                                  "roundtrip, startup, transfer 16MiB, cpu, api)")
    noise = run.context.get("parbench_noise_efficiency", "not recorded")
    text = (f"Run `{args.run}`, revision {run.context.get('parbench_git_revision', '?')}, "
            f"noise probe {noise}.\n\n" + goals_mod.to_markdown(goals))
    _write(_with_noise_warnings(text, [run]), args.out)
    missed = [g for g in goals if not g.met]
    for g in missed:
        print(f"parbench-tools: {args.run}: missed: {g.quantity}: {g.measured}", file=sys.stderr)
    return 1 if missed else 0


def cmd_report(args) -> int:
    from .report import build_report
    from .trace import load_trace
    run = load_run(args.run)
    trace = args.trace
    if trace is None:
        guess = os.path.splitext(args.run)[0] + ".trace.json"
        trace = guess if os.path.exists(guess) else None
    timelines = load_trace(trace) if trace else None
    page = build_report(run, timelines)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    _write(page, args.out)
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="parbench-tools",
        description="Read parbench results: Google Benchmark JSON (bench --benchmark_out) and "
                    "parbench trace files (bench --timeline_out).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("speedup", help="speedup tables per workload (Markdown, CSV or JSON)")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    s.add_argument("--out", help="write here instead of standard output")
    s.set_defaults(func=cmd_speedup)

    s = sub.add_parser("timeline", help="Gantt charts of the last iterations (PNG and SVG)")
    s.add_argument("trace", help="parbench trace file (RUN.trace.json)")
    s.add_argument("--out-dir", default="timelines", help="directory for the figures")
    s.add_argument("--formats", default="png,svg", help="png, svg or png,svg (default)")
    s.set_defaults(func=cmd_timeline)

    s = sub.add_parser("plot", help="speedup against worker count (PNG and SVG)")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--out", default="speedup", help="file name without extension")
    s.set_defaults(func=cmd_plot)

    s = sub.add_parser("compare", help="compare two runs; --threshold gates CI")
    s.add_argument("base", help="baseline Google Benchmark JSON")
    s.add_argument("new", help="new Google Benchmark JSON")
    s.add_argument("--threshold", type=float, metavar="PCT",
                   help="exit 1 if any benchmark is significantly slower by more than PCT%%")
    s.add_argument("--out", help="write the Markdown here instead of standard output")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("machines", help="compare machines: context, times and speedups")
    s.add_argument("runs", nargs="+", help="two or more Google Benchmark JSON files")
    s.add_argument("--out", help="write the Markdown here instead of standard output")
    s.set_defaults(func=cmd_machines)

    s = sub.add_parser("export", help="files for CI dashboards")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--format", required=True, choices=export_mod.FORMATS,
                   help="github-smaller / github-bigger: github-action-benchmark custom "
                        "formats; gbench: one median row per benchmark (googlecpp, Bencher "
                        "cpp_google); bmf: Bencher Metric Format")
    s.add_argument("--out", help="write here instead of standard output")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("goals", help="the executors' own speed against parbench's goals; "
                                     "exit 1 if one is missed")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--out", help="write the Markdown here instead of standard output")
    s.set_defaults(func=cmd_goals)

    s = sub.add_parser("report", help="one self-contained HTML page")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--trace", help="trace file (default: RUN.trace.json next to RUN.json)")
    s.add_argument("--out", default="report.html", help="the HTML file to write")
    s.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "machines" and len(args.runs) < 2:
        parser.error("machines needs at least two files")
    try:
        return args.func(args)
    except ToolError as e:
        print(f"parbench-tools: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an output file that cannot be written
        print(f"parbench-tools: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
