"""parbench-tools: one command, several subcommands. main(argv) -> exit status."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import re
import sys

from . import compare as compare_mod
from . import export as export_mod
from . import fingerprint
from . import goals as goals_mod
from . import granularity as granularity_mod
from . import history_cli
from . import machines as machines_mod
from . import publish as publish_mod
from . import speedup as speedup_mod
from . import stats
from . import trust
from .errors import ToolError
from .gbench import METRICS, Run, load_run, merge_runs
from .manifest import FALLBACK

EXIT_STATUSES = """\
exit status:
  0  done (compare: the gate passed, or no gate was asked for)
  1  compare: the gate failed; speedup: a table has no baseline; goals: a goal was missed;
     granularity: a point of a curve has no time or no baseline
  2  bad input or usage: one line on standard error names the file or option and the problem
  3  compare: the gate is inconclusive (a gated benchmark could not be tested, e.g. too few
     repetitions, aggregates only, an error); never reported as a pass
"""


def _write(text: str, out: str | None) -> None:
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _with_noise_warnings(markdown: str, runs: list[Run],
                         max_interference: float = trust.MAX_INTERFERENCE) -> str:
    """`markdown` with a warning line for each run (each file once) whose noise probe saw a
    busy machine (before or after the run), or whose benchmarks ran disturbed."""
    unique = {run.path: run for run in runs}.values()
    warnings = []
    for run in unique:
        found = trust.noise_warnings(run)
        disturbed = trust.disturbed_warning(run, max_interference)
        warnings += [f"**Warning ({run.path}):** {w}\n" for w in found + [disturbed] if w]
    return "".join(warnings) + ("\n" if warnings else "") + markdown


def _fraction(text: str) -> float:
    return trust.check_max_interference("--max-interference", text)


def _confidence(text: str) -> float:
    return trust.check_confidence(text)


def _verdicts_markdown(run: Run, tables) -> str:
    """The profile line and one verdict per table, above the tables."""
    from .profile import profile_line
    from .verdict import verdicts
    found = verdicts(run, tables)
    head = f"{profile_line(run)}\n\n" if profile_line(run) else ""
    if not found:
        return head
    return head + "**Verdicts:**\n\n" + "".join(f"- {v}\n" for v in found) + "\n"


def _width(text: str | None) -> int:
    """--width, else the terminal's (80 when it cannot tell); at least 40."""
    if text is None:
        import shutil
        return max(40, shutil.get_terminal_size((100, 24)).columns)
    try:
        value = int(text)
    except ValueError:
        raise ToolError("--width", f"'{text}' is not a whole number of columns") from None
    if value < 40:
        raise ToolError("--width", f"must be at least 40 columns, not {value}")
    return value


def _trust_options(s, confidence: bool = False) -> None:
    s.add_argument("--max-interference", default=str(trust.MAX_INTERFERENCE), metavar="FRAC",
                   help="flag (⚠) a benchmark whose interference_cpu_frac + steal_frac, the "
                        "median over its repetitions, exceeds FRAC of the usable CPUs "
                        "(default %(default)s); a disturbed baseline flags its whole table")
    if confidence:
        s.add_argument("--confidence", default=str(stats.CONFIDENCE), metavar="LEVEL",
                       help="level of the intervals from the repetitions (default "
                            "%(default)s)")


def cmd_speedup(args) -> int:
    limit, confidence = _fraction(args.max_interference), _confidence(args.confidence)
    run = load_run(args.run)
    tables = speedup_mod.speedup_tables(run, limit, confidence)
    if not tables:
        names = ", ".join(run.manifest.executor_names)
        raise ToolError(args.run, f"has no benchmarks of an executor ({names}) to compare with "
                                  f"its {run.manifest.baseline} baseline")
    if args.format == "markdown":
        text = _with_noise_warnings(_verdicts_markdown(run, tables) +
                                    speedup_mod.to_markdown(tables, confidence, limit), [run],
                                    limit)
    elif args.format == "text":
        from .textformat import to_text
        warnings = [w for w in trust.noise_warnings(run) + [trust.disturbed_warning(run, limit)]
                    if w]
        text = to_text(run, tables, warnings, _width(args.width), confidence)
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


def _trace_run(trace: str, run_path: str | None) -> Run | None:
    """--run's run, else RUN.json next to RUN.trace.json(.gz) when it loads: its speedups and
    interference go into the timelines' titles."""
    if run_path:
        return load_run(run_path)
    guess = _run_next_to(trace)
    if guess and os.path.exists(guess):
        try:
            return load_run(guess)
        except ToolError:
            return None
    return None


def _run_next_to(trace: str) -> str | None:
    for suffix in (".trace.json.gz", ".trace.json"):
        if trace.endswith(suffix):
            return trace[:-len(suffix)] + ".json"
    return None


def _trace_manifest(trace: str, run_path: str | None):
    """The manifest to read a trace's names with: --run's, else that of RUN.json next to
    RUN.trace.json when it loads, else the fallback names."""
    if run_path:
        return load_run(run_path).manifest
    guess = _run_next_to(trace)
    if guess and os.path.exists(guess):
        try:
            return load_run(guess).manifest
        except ToolError:
            return FALLBACK  # a guess, not asked for: its problems are not the trace's
    return FALLBACK


def cmd_timeline(args) -> int:
    from .plots import timeline_figures
    from .trace import load_trace
    formats = tuple(f for f in args.formats.split(",") if f)
    bad = [f for f in formats if f not in ("png", "svg")]
    if bad or not formats:
        raise ToolError("--formats", f"takes png and/or svg, not '{args.formats}'")
    run = _trace_run(args.trace, args.run)
    manifest = run.manifest if run is not None else _trace_manifest(args.trace, None)
    timelines = load_trace(args.trace, manifest)
    files = timeline_figures(timelines, args.out_dir, formats, manifest, run)
    print(f"wrote {len(files)} files to {args.out_dir}")
    return 0


def cmd_plot(args) -> int:
    from .plots import speedup_figure
    limit = _fraction(args.max_interference)
    run = load_run(args.run)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    files = speedup_figure(run, args.out, max_interference=limit)
    if not files:
        raise ToolError(args.run, f"has no family with a {run.manifest.baseline} baseline "
                                  "to plot")
    print("wrote " + ", ".join(files))
    return 0


def _side(paths: list[str]) -> tuple[Run, list[Run]]:
    runs = [load_run(p) for p in paths]
    return merge_runs(runs), runs


def _compile(option: str, pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ToolError(option, f"'{pattern}' is not a regular expression ({e})") from None


def _compare_with_history(args, base_files: list[str], new_files: list[str]) -> int:
    """compare --db: the new run against the store's history (history gate)."""
    if base_files:
        raise ToolError("--db", "compares the new run with the store's history: give no base "
                                "run")
    if len(new_files) != 1:
        raise ToolError("--db", "takes one new run (--new RUN.json)")
    args.interval = args.interval or str(0.99)
    options = history_cli.gate_options(args, None if args.threshold_file else 5.0)
    return history_cli.run_gate(new_files[0], args.db, options, args.format, args.out)


def cmd_compare(args) -> int:
    base_files = ([args.base] if args.base else []) + (args.base_files or [])
    new_files = ([args.new] if args.new else []) + (args.new_files or [])
    if args.db is not None:
        return _compare_with_history(args, base_files, new_files)
    if not base_files:
        raise ToolError("compare", "needs a base run (BASE.json or --base FILE...)")
    if not new_files and not args.families:
        raise ToolError("compare", "needs a new run (NEW.json or --new FILE...), or --families "
                                   "to compare two families inside one run")
    if not 0 < args.alpha < 1:
        raise ToolError("--alpha", f"must be between 0 and 1, not '{args.alpha}'")
    limit, confidence = _fraction(args.max_interference), _confidence(args.confidence)
    threshold = (compare_mod.check_threshold("--threshold", args.threshold)
                 if args.threshold is not None else None)
    rules = []
    if args.threshold_file:
        try:
            with open(args.threshold_file, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise ToolError(args.threshold_file, "is not text (not UTF-8)") from None
        rules = compare_mod.parse_thresholds(args.threshold_file, text)
    if args.threshold_only and threshold is None and not rules:
        raise ToolError("--threshold-only", "needs --threshold or --threshold-file")
    families = None
    if args.families:
        families = (_compile("--families", args.families[0]),
                    _compile("--families", args.families[1]))
    base, base_runs = _side(base_files)
    new, new_runs = _side(new_files) if new_files else (base, [])
    shared = {b.name.workload for n, b in new.benchmarks.items() if n in base.benchmarks}
    differs = (fingerprint.comparability(base.context, new.context, True, shared)
               if new_files else [])
    if differs and args.strict:
        raise ToolError(new.path, f"is not comparable with {base.path} (--strict): "
                                  + "; ".join(differs))
    sides = ((compare_mod.side_text(base_runs), compare_mod.side_text(new_runs))
             if new_runs else None)  # families inside one run: one side
    result = compare_mod.compare(base, new, args.metric, args.alpha, families, confidence, limit)
    if not result.rows and not result.not_times:
        raise ToolError(new.path, f"shares no benchmark with {base.path} (mismatched runs)")
    for d in differs:
        print(f"parbench-tools: warning: not comparable: {d}", file=sys.stderr)
    gated = threshold is not None or bool(rules)
    if gated:
        compare_mod.apply_gate(result, compare_mod.threshold_lookup(rules, threshold),
                               args.threshold_only)
    if families:
        base_label = f"{args.families[0]} in {base.path}"
        new_label = f"{args.families[1]} in {new.path}"
    else:
        base_label, new_label = base.path, new.path
    if args.format == "json":
        text = json.dumps(compare_mod.to_json(result, base_files, new_files or base_files,
                                              sides, differs), indent=1) + "\n"
    else:
        text = _with_noise_warnings(compare_mod.to_markdown(result, base_label, new_label,
                                                            sides, differs),
                                    base_runs + new_runs, limit)
    _write(text, args.out)
    return compare_mod.EXIT_STATUS[result.gate] if gated else 0


def cmd_machines(args) -> int:
    from . import machines_format as fmt
    limit, confidence = _fraction(args.max_interference), _confidence(args.confidence)
    files, given = machines_mod.labelled_files(args.runs or [], args.label or [])
    if not files:
        raise ToolError("machines", "needs two or more files (RUN.json or --label NAME=FILE)")
    runs = [load_run(p) for p in files]
    if len(runs) < 2 and not machines_mod.mpi_ranks(runs[0]):
        # One run is enough when it ran under mpirun: its ranks' machines are the comparison.
        raise ToolError("machines", "needs at least two files (or one run of bench under "
                                    "mpirun)")
    machines_mod.check_common(runs)
    labels = [given.get(f, label) for f, label in
              zip(files, machines_mod.default_labels(runs))]
    if len(set(labels)) < len(labels):
        raise ToolError("--label", f"two runs would both be labelled '{_twice(labels)}'")
    summary = machines_mod.summarize(runs, labels, limit, confidence)
    if args.strict:
        for label, c in zip(labels[1:], summary.comparisons):
            if c.differences:
                raise ToolError(files[labels.index(label)],
                                f"is not the same workload and build as {files[0]} (--strict): "
                                + ", ".join(d.text for d in c.differences))
    if args.format == "json":
        text = json.dumps(fmt.to_json(summary), indent=1, allow_nan=False) + "\n"
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fmt.CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(fmt.to_rows(summary))
        text = buf.getvalue()
    elif args.format == "html":
        notes = [f"{run.path}: {w}" for run in runs
                 for w in trust.noise_warnings(run) + [trust.disturbed_warning(run, limit)] if w]
        text = fmt.to_html(summary, limit, notes)
    else:
        text = _with_noise_warnings(fmt.to_markdown(summary, limit), runs, limit)
    _write(text, args.out)
    if args.out_plot:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_plot)), exist_ok=True)
        written = fmt.figure(summary, args.out_plot)
        print("wrote " + (", ".join(written) or "no plot (no speedup and no METG to draw)"),
              file=sys.stderr)
    return 0


def _twice(labels: list[str]) -> str:
    return next(x for x in labels if labels.count(x) > 1)


def cmd_export(args) -> int:
    options = export_mod.Options(
        _compile("--filter", args.filter) if args.filter else None, args.times_only,
        args.disturbed, _fraction(args.max_interference))
    run = load_run(args.run)
    _write(json.dumps(export_mod.export(run, args.format, options), indent=1, allow_nan=False)
           + "\n", args.out)
    return 0


def cmd_goals(args) -> int:
    from .profile import refuse_quick
    limit = _fraction(args.max_interference)
    run = load_run(args.run)
    refuse_quick(run, "judging the executors against parbench's goals")
    goals = goals_mod.evaluate(run, limit)
    if not goals:
        raise ToolError(args.run, "has none of the executor-speed benchmarks (overhead, "
                                  "roundtrip, startup, transfer 16MiB, cpu, api)")
    noise = run.context.get("parbench_noise_efficiency", "not recorded")
    text = (f"Run `{args.run}`, revision {run.context.get('parbench_git_revision', '?')}, "
            f"noise probe {noise}.\n\n" + goals_mod.to_markdown(goals, limit))
    _write(_with_noise_warnings(text, [run], limit), args.out)
    missed = [g for g in goals if not g.met]
    for g in missed:
        flag = f" ({trust.MARK} disturbed: {goals_mod.disturbed_text(g)})" if g.disturbed else ""
        print(f"parbench-tools: {args.run}: missed: {g.quantity}: {g.measured}{flag}",
              file=sys.stderr)
    return 1 if missed else 0


def _granularity_labels(files: list[str], runs: list[Run], given: dict[str, str]) -> dict:
    """Each file's label: the one given, else its file name while those differ, else its
    machine (host, usable CPUs, affinity or quota; the date where two are the same)."""
    names = [os.path.basename(f) for f in files]
    default = names if len(set(names)) == len(names) else machines_mod.default_labels(runs)
    return {run.path: given.get(f, label) for f, run, label in zip(files, runs, default)}


def cmd_granularity(args) -> int:
    limit = _fraction(args.max_interference)
    files, given = machines_mod.labelled_files(args.runs or [], args.label or [])
    if not files:
        raise ToolError("granularity", "needs a file (RUN.json or --label NAME=FILE)")
    runs = [load_run(p) for p in files]
    labels = _granularity_labels(files, runs, given)
    curves = []
    for run in runs:
        found = granularity_mod.curves(run, limit, args.efficiency)
        if not found:
            raise ToolError(run.path, "has no task-duration sweep (no family whose manifest "
                                      f"or benchmarks report {granularity_mod.NOMINAL_COUNTER}"
                                      " beside a baseline: run bench --benchmark_filter="
                                      "'^granularity/')")
        curves += found
    if args.format == "json":
        text = json.dumps(granularity_mod.to_json(curves), indent=1) + "\n"
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=granularity_mod.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(granularity_mod.to_rows(curves))
        text = buf.getvalue()
    else:
        from .profile import is_quick
        text = granularity_mod.to_markdown(curves, limit, labels)
        quick = [run.path for run in runs if is_quick(run)]
        if quick:
            text += (f"\n{', '.join(quick)}: a quick run (every other task duration, 3 short "
                     "repetitions): each METG is read from fewer points; bench --profile=full "
                     "for numbers to publish.\n")
        verdicts = [(run, granularity_mod.verdict(run, [c for c in curves
                                                        if c.source == run.path]))
                    for run in runs]
        text += "".join(f"\n{_verdict_prefix(run, labels) if len(runs) > 1 else ''}{v}\n"
                        for run, v in verdicts if v)
        text = _with_noise_warnings(text, runs, limit)
    _write(text, args.out)
    if args.out_plot:
        from .plots import granularity_figure
        os.makedirs(os.path.dirname(os.path.abspath(args.out_plot)), exist_ok=True)
        files = granularity_figure(curves, args.out_plot, max_interference=limit,
                                   labels=labels)
        print("wrote " + (", ".join(files) or "no plot (no point has an efficiency)"),
              file=sys.stderr)
    broken = [(c, p) for c in curves for p in c.errors]
    for c, p in broken:
        print(f"parbench-tools: {c.source}: {p.name}: {p.error}", file=sys.stderr)
    return 1 if broken else 0


def _verdict_prefix(run: Run, labels: dict[str, str]) -> str:
    """'**results/a/run.json:** ', or '**LABEL** (`results/a/run.json`): ' when the label is
    not the file name."""
    label = labels.get(run.path, "")
    if label in ("", os.path.basename(run.path)):
        return f"**{run.path}:** "
    return f"**{label}** (`{run.path}`): "


def cmd_report(args) -> int:
    from .report import build_report
    from .trace import load_trace
    limit, confidence = _fraction(args.max_interference), _confidence(args.confidence)
    run = load_run(args.run)
    trace = args.trace
    if trace is None:
        base = os.path.splitext(args.run)[0]
        trace = next((guess for guess in (base + ".trace.json", base + ".trace.json.gz")
                      if os.path.exists(guess)), None)
    timelines = load_trace(trace, run.manifest) if trace else None
    page = build_report(run, timelines, limit, confidence)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    _write(page, args.out)
    print(f"wrote {args.out}")
    return 0


def _parser(sub, name: str, help_text: str, description: str | None = None):
    return sub.add_parser(name, help=help_text, description=description or help_text,
                          epilog=EXIT_STATUSES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_speedup(sub) -> None:
    """The speedup subcommand's parser."""
    s = _parser(sub, "speedup", "speedup tables and a verdict per family (Markdown, text, CSV "
                                "or JSON)")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--format", choices=("markdown", "text", "csv", "json"), default="markdown",
                   help="text: for a terminal, verdicts first, tables that fit --width")
    s.add_argument("--width", metavar="COLUMNS",
                   help="text: the width to fit (default: the terminal's)")
    s.add_argument("--out", help="write here instead of standard output")
    _trust_options(s, confidence=True)
    s.set_defaults(func=cmd_speedup)


def _add_timeline(sub) -> None:
    """The timeline subcommand's parser."""
    s = _parser(sub, "timeline", "Gantt charts of the last iterations (PNG and SVG)")
    s.add_argument("trace", help="parbench trace file (RUN.trace.json)")
    s.add_argument("--run", help="the run whose manifest names the executors (default: "
                                 "RUN.json next to RUN.trace.json, if there)")
    s.add_argument("--out-dir", default="timelines", help="directory for the figures")
    s.add_argument("--formats", default="png,svg", help="png, svg or png,svg (default)")
    s.set_defaults(func=cmd_timeline)


def _add_plot(sub) -> None:
    """The plot subcommand's parser."""
    s = _parser(sub, "plot", "speedup against worker count (PNG and SVG)")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--out", default="speedup", help="file name without extension")
    _trust_options(s)
    s.set_defaults(func=cmd_plot)


def _add_compare(sub) -> None:
    """The compare subcommand's parser."""
    s = _parser(
        sub, "compare", "compare two runs, or two families of one run; --threshold gates CI",
        "Compare benchmark by benchmark: both medians, the change, a two-sided Mann-Whitney U "
        "test (scipy, as Google Benchmark's compare.py) and a verdict. With a threshold the "
        "gate passes (exit 0) only if every gated benchmark was tested and none is "
        "significantly slower by more than its threshold; fails (exit 1) if one is; and is "
        "inconclusive (exit 3) if one could not be tested (too few repetitions for --alpha, "
        "aggregates only, an error), each benchmark saying why.")
    s.add_argument("base", nargs="?", help="baseline Google Benchmark JSON")
    s.add_argument("new", nargs="?", help="new Google Benchmark JSON")
    s.add_argument("--base", dest="base_files", nargs="+", metavar="FILE",
                   help="more baseline files of the same configuration: their repetitions are "
                        "merged into one sample per benchmark")
    s.add_argument("--new", dest="new_files", nargs="+", metavar="FILE",
                   help="more new files of the same configuration, merged likewise")
    s.add_argument("--families", nargs=2, metavar=("BASE_PATTERN", "NEW_PATTERN"),
                   help="compare two families (regular expressions, e.g. '^cpu/threads' "
                        "'^cpu/processes'): benchmarks are paired on what is left of the name "
                        "once the pattern's match is removed (compare.py's filters mode); "
                        "inside one run unless NEW is given")
    s.add_argument("--metric", choices=METRICS, default="real_time",
                   help="the time compared (default real_time)")
    s.add_argument("--alpha", type=float, default=compare_mod.ALPHA,
                   help="significance level of the U test (default %(default)s)")
    s.add_argument("--threshold", metavar="PCT",
                   help="gate: fail if a benchmark is significantly slower by more than PCT%%")
    s.add_argument("--threshold-file", metavar="FILE",
                   help="per-benchmark thresholds: lines 'PATTERN PCT' (a regular expression "
                        "searched in the name, and a percentage or 'off' to leave those "
                        "benchmarks out of the gate; the first match wins; '#' comments); "
                        "--threshold is the default for the rest")
    s.add_argument("--threshold-only", action="store_true",
                   help="opt in: judge every gated benchmark by its median change alone, "
                        "tested or not (never inconclusive for lack of repetitions)")
    s.add_argument("--format", choices=("markdown", "json"), default="markdown")
    s.add_argument("--out", help="write here instead of standard output")
    _trust_options(s, confidence=True)
    s.add_argument("--db", help="gate the new run against this run store's history instead "
                                "of a base run (as `history gate`; " + history_cli.DB_HELP + ")")
    history_cli.add_gate_options(s, with_thresholds=False)
    s.set_defaults(func=cmd_compare)


def _add_machines(sub) -> None:
    """The machines subcommand's parser."""
    s = _parser(
        sub, "machines", "compare machines: a summary, then context, times and speedups",
        "A summary first: per family the geometric mean of each machine's time ratio against "
        "the first run (with a bootstrap interval over the repetitions), each executor's "
        "speedup at workers = the machine's usable CPUs, and METG per executor when the runs "
        "swept task durations, in words. A family whose workload settings differ between the "
        "runs (a flag it owns, such as --cpu_n, or --tasks where it changed the tasks per "
        "iteration) is not compared; every difference, the build's included, is named in a "
        "warning. Then each machine's context, every benchmark's time and every speedup.")
    s.add_argument("runs", nargs="*", metavar="RUN.json",
                   help="two or more Google Benchmark JSON files (one is enough for a run "
                        "under mpirun: every rank's machine is in it); the first is the "
                        "reference")
    s.add_argument("--label", action="append", metavar="NAME=FILE",
                   help="call FILE's machine NAME (repeatable; a file not among RUN.json is "
                        "added after them). Default: host and usable CPUs (affinity mask, "
                        "quota), then the date where two would read the same")
    s.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) runs whose workload settings, worker lists or build "
                        "differ from the first run's, instead of warning")
    s.add_argument("--format", choices=("markdown", "csv", "json", "html"), default="markdown",
                   help="csv and json hold the summary's numbers; html is one self-contained "
                        "page with the figure")
    s.add_argument("--out", help="write here instead of standard output")
    s.add_argument("--out-plot", metavar="PREFIX",
                   help="also draw speedup at workers = usable CPUs and METG, executors x "
                        "machines: PREFIX.png and PREFIX.svg")
    _trust_options(s, confidence=True)
    s.set_defaults(func=cmd_machines)


def _add_export(sub) -> None:
    """The export subcommand's parser."""
    s = _parser(sub, "export", "files for CI dashboards")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--format", required=True, choices=export_mod.FORMATS,
                   help="github-smaller / github-bigger: github-action-benchmark custom "
                        "formats; gbench: one median row per benchmark (googlecpp, Bencher "
                        "cpp_google); bmf: Bencher Metric Format")
    s.add_argument("--filter", metavar="REGEX",
                   help="only the entries whose name matches (a regular expression searched "
                        "in the benchmark's name, 'NAME COUNTER' or 'GROUP EXECUTOR "
                        "workers:W speedup')")
    s.add_argument("--times-only", action="store_true",
                   help="times only: no counters (github-smaller, gbench)")
    s.add_argument("--disturbed", choices=export_mod.DISTURBED, default="mark",
                   help="a benchmark that ran disturbed (see --max-interference): mark it (⚠ "
                        "in github's 'extra', gbench's label, an 'interference' measure in "
                        "bmf; the default) or drop it")
    s.add_argument("--out", help="write here instead of standard output")
    _trust_options(s)
    s.set_defaults(func=cmd_export)


def _add_goals(sub) -> None:
    """The goals subcommand's parser."""
    s = _parser(sub, "goals", "the executors' own speed against parbench's goals; "
                              "exit 1 if one is missed")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--out", help="write the Markdown here instead of standard output")
    _trust_options(s)
    s.set_defaults(func=cmd_goals)


def _add_granularity(sub) -> None:
    """The granularity subcommand's parser."""
    s = _parser(
        sub, "granularity", "METG: from which task duration each executor pays off",
        "Per file, at each task duration of a sweep (bench's granularity family, the anchors' "
        "Python sweep), the efficiency under two definitions: parbench's = baseline time / "
        "(min(workers, usable CPUs) x executor time), against the duration the baseline "
        "measured; Task Bench's = useful work / (wall time x CPUs), against the task "
        "granularity wall time x CPUs / tasks. METG(50%) per executor, workers, payload and "
        "dispatch mode under both: where the efficiency last rises through 0.5 (interpolated "
        "in log(duration)); every range below 0.5 and the efficiency at the longest task under "
        "--efficiency's; with Markdown, one sentence per run saying from which task each "
        "executor pays off.")
    s.add_argument("runs", nargs="*", metavar="RUN.json",
                   help="bench's results, and more files (e.g. tools/anchors/futures.py's), "
                        "each against its own manifest's baseline")
    s.add_argument("--label", action="append", metavar="NAME=FILE",
                   help="call FILE's curves NAME (repeatable; a file not among RUN.json is "
                        "added after them). Default: the file name, or, where two files have "
                        "the same name, the machine (host and usable CPUs, then the date)")
    s.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    s.add_argument("--out", help="write the table here instead of standard output")
    s.add_argument("--out-plot", metavar="PREFIX",
                   help="also draw efficiency against task duration: PREFIX.png and PREFIX.svg")
    s.add_argument("--efficiency", choices=granularity_mod.DEFINITIONS,
                   default=granularity_mod.DEFAULT_DEFINITION,
                   help="the definition the ranges, the verdict and the plot use: parbench "
                        "(against serial at the same task; the default) or taskbench (useful "
                        "work / (wall x CPUs), against the task granularity)")
    _trust_options(s)
    s.set_defaults(func=cmd_granularity)


def _add_report(sub) -> None:
    """The report subcommand's parser."""
    s = _parser(sub, "report", "one self-contained HTML page")
    s.add_argument("run", help="Google Benchmark JSON file")
    s.add_argument("--trace", help="trace file (default: RUN.trace.json or RUN.trace.json.gz "
                                   "next to RUN.json)")
    s.add_argument("--out", default="report.html", help="the HTML file to write")
    _trust_options(s, confidence=True)
    s.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="parbench-tools",
        description="Read parbench results: Google Benchmark JSON (bench --benchmark_out, or any "
                    "Google Benchmark program's) and parbench trace files (bench --timeline_out). "
                    "A run's manifest (context key parbench_manifest) names its executors and "
                    "families; without one, serial/threads/processes are recognised by name.",
        epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_speedup, _add_timeline, _add_plot, _add_compare, _add_machines, _add_export,
                _add_goals, _add_granularity, _add_report):
        add(sub)
    history_cli.add_parser(sub, _parser)
    publish_mod.add_parser(sub, _parser)
    return p


def main(argv: list[str] | None = None) -> int:
    # SQLAlchemy's pool logs a connection it could not close (Ctrl-C inside the close) with a
    # traceback on stderr; the command reports what happened itself.
    logging.getLogger("sqlalchemy.pool").addHandler(logging.NullHandler())
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ToolError as e:
        print(f"parbench-tools: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an output (or threshold) file that cannot be written or read
        print(f"parbench-tools: {e.filename or ''}: {e.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: a store keeps the runs whose transaction committed
        print("parbench-tools: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the database refused (read-only, locked, gone): one line
        if not type(e).__module__.startswith("sqlalchemy"):
            raise
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        print(f"parbench-tools: {getattr(args, 'db', None) or 'the run store'}: {reason}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
