"""parbench-tools history SUBCOMMAND: the run store's command line (add, import, runs, changes,
mark, gate). The work is done in ingest.py, store.py and history.py; this file parses options
and prints."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import trust
from .errors import ToolError
from .ingest import (DEFAULT_BRANCH, Meta, data_js_records, parse_data_js, record_from_file,
                     store_record)
from .store import DEFAULT_ENV, open_store

DB_HELP = (f"the store: a SQLite file path or a postgresql://USER@HOST/DB URL (default: "
           f"${DEFAULT_ENV}, else $XDG_DATA_HOME/parbench/history.sqlite, i.e. "
           "~/.local/share/parbench/history.sqlite)")


def cpd_max_p() -> float:
    from .changepoint import MAX_P
    return MAX_P


def _db_option(s) -> None:
    s.add_argument("--db", help=DB_HELP)


def _tags(values: list[str] | None) -> dict[str, str]:
    tags = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not key:
            raise ToolError("--tag", f"'{value}' is not KEY=VALUE or KEY")
        tags[key] = text if sep else ""
    return tags


def _git_dir(option: str | None) -> str | None:
    """--git DIR, else the current directory when it is inside a git checkout."""
    if option:
        if not os.path.isdir(option):
            raise ToolError("--git", f"'{option}' is not a directory")
        return option
    try:
        inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return "." if inside.returncode == 0 and inside.stdout.strip() == "true" else None


def _meta(args) -> Meta:
    order = None
    if args.order is not None:
        try:
            order = int(args.order)
        except ValueError:
            raise ToolError("--order", f"'{args.order}' is not an integer") from None
    limit = trust.check_max_interference("--max-interference", args.max_interference)
    return Meta(branch=args.branch, revision=args.revision, commit_order=order,
                commit_time=args.commit_time, ci_url=args.ci_url, tags=_tags(args.tag),
                git_dir=_git_dir(args.git), max_interference=limit)


def _report(added: int, present: int, db: str) -> None:
    print(f"{added} run(s) added, {present} already in the store ({db})")


def _read_all(records_of) -> list:
    """Every source read and checked before the store is opened, so that a missing file or a
    run that is not Google Benchmark's leaves no store behind (nor half an import in one)."""
    return [(label, make()) for label, make in records_of]


def _store_all(store, records) -> tuple[int, int]:
    added = present = 0
    for label, made in records:
        for record in made:
            run_id, new = store_record(store, record)
            added += new
            present += not new
            print(f"{'added' if new else 'already stored'}: run {run_id} "
                  f"{record.run['revision']} {label}")
    return added, present


def cmd_add(args) -> int:
    meta = _meta(args)
    records = _read_all([(p, lambda p=p: [record_from_file(p, meta)]) for p in args.runs])
    with open_store(args.db) as store:
        added, present = _store_all(store, records)
        _report(added, present, store.db)
    return 0


def _folder_files(folder: str) -> list[str]:
    files = []
    for root, _dirs, names in os.walk(folder):
        files += [os.path.join(root, n) for n in names
                  if n.endswith(".json") and not n.endswith(".trace.json")]
    if not files:
        raise ToolError(folder, "holds no .json run")
    return sorted(files)


def _data_js(path: str, meta: Meta):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ToolError(path, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ToolError(path, "is not text (not UTF-8)") from None
    return data_js_records(path, parse_data_js(path, text), meta)


ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz")


def _archive_sources(path: str, meta: Meta) -> list:
    """Every *.json run in a tar archive (trace files aside), in name order, read in place."""
    import json
    import tarfile

    from .ingest import record_from_data
    try:
        with tarfile.open(path) as archive:
            members = sorted((m for m in archive.getmembers() if m.isfile()
                              and m.name.endswith(".json")
                              and not m.name.endswith(".trace.json")), key=lambda m: m.name)
            texts = [(m.name, archive.extractfile(m).read()) for m in members]
    except (tarfile.TarError, OSError, EOFError) as e:
        reason = str(e).splitlines()[0].rstrip(":")  # tarfile lists every method it tried
        raise ToolError(path, f"is not a readable tar archive ({reason})") from None
    if not texts:
        raise ToolError(path, "holds no .json run")
    out = []
    for name, raw in texts:
        label = f"{path}:{name}"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ToolError(label, f"is not valid JSON ({e})") from None
        out.append((label, lambda label=label, data=data: [record_from_data(label, data, meta)]))
    return out


def cmd_import(args) -> int:
    meta = _meta(args)
    sources = []
    for path in args.sources:
        if os.path.isdir(path):
            sources += [(p, lambda p=p: [record_from_file(p, meta)]) for p in _folder_files(path)]
        elif path.endswith(".js"):
            sources.append((path, lambda p=path: _data_js(p, meta)))
        elif path.endswith(ARCHIVES) and os.path.exists(path):
            sources += _archive_sources(path, meta)
        elif os.path.exists(path):
            sources.append((path, lambda p=path: [record_from_file(p, meta)]))
        else:
            raise ToolError(path, "does not exist")
    records = _read_all(sources)
    with open_store(args.db) as store:
        added, present = _store_all(store, records)
        _report(added, present, store.db)
    return 0


def cmd_runs(args) -> int:
    from .history import run_table
    with open_store(args.db, create=False) as store:
        sys.stdout.write(run_table(store, args.branch))
    return 0


def _min_change(args):
    """The thresholds lookup for change points: --threshold-file's lines, else --min-change."""
    from .compare import check_threshold, parse_thresholds, threshold_lookup
    default = check_threshold("--min-change", args.min_change)
    rules = []
    if args.threshold_file:
        try:
            with open(args.threshold_file, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise ToolError(args.threshold_file, "is not text (not UTF-8)") from None
        rules = parse_thresholds(args.threshold_file, text)
    return threshold_lookup(rules, default), default


def cmd_changes(args) -> int:
    import json
    import re

    from . import changes as ch
    from .history import EXECUTOR_KINDS
    lookup, default = _min_change(args)
    try:
        pattern = re.compile(args.filter) if args.filter else None
    except re.error as e:
        raise ToolError("--filter", f"'{args.filter}' is not a regular expression ({e})") \
            from None
    metrics = (args.metric,) + (() if args.no_executor_series else EXECUTOR_KINDS)
    if not 0 < args.max_p < 1:
        raise ToolError("--max-p", f"must be between 0 and 1, not '{args.max_p}'")
    options = ch.Options(metrics, args.branch, pattern, lookup, default, args.max_p)
    with open_store(args.db, create=False) as store:
        reports = ch.find_changes(store, options)
    if args.format == "json":
        text = json.dumps(ch.to_json(reports, options, args.points), indent=1) + "\n"
    else:
        text = ch.to_markdown(reports, options)
    _write(text, args.out)
    if args.plot:
        _plot_series(reports, args.plot, drawn_all=args.filter is not None)
    return 1 if any(f.open_regression for r in reports for f in r.found) else 0


def _plot_series(reports, folder: str, drawn_all: bool) -> None:
    """Each series with a change point (with --filter: each series it keeps) as a figure."""
    import re as _re

    from .plots import series_figure
    os.makedirs(folder, exist_ok=True)
    written = []
    for r in reports:
        if r.min_change_pct is None or not (r.found or drawn_all) or not r.points:
            continue
        name = _re.sub(r"[^A-Za-z0-9]+", "_", f"{r.key.metric} {r.key.name} "
                                              f"{r.key.branch} {r.key.machine[:8]}").strip("_")
        written += series_figure(r, os.path.join(folder, name))
    print(f"wrote {len(written)} files to {folder}", file=sys.stderr)


def cmd_mark(args) -> int:
    from . import changes as ch
    with open_store(args.db, create=False) as store:
        row = ch.mark(store, args.id, args.status, args.note)
    print(f"{row['id']}: {row['last_good']} → {row['first_bad']} marked {args.status}")
    return 0


def run_gate(run_path: str, db: str | None, options, fmt: str, out: str | None) -> int:
    """history gate and compare --db: the decision, printed, and its exit status."""
    import json

    from . import gate
    from .gbench import load_run
    run = load_run(run_path)
    with open_store(db) as store:  # no store yet: no baseline, inconclusive
        decision = gate.decide(store, run, options)
    if fmt == "json":
        text = json.dumps(gate.to_json(run, decision, options), indent=1) + "\n"
    else:
        text = gate.to_markdown(run, decision, options)
    _write(text, out)
    return gate.exit_status(decision)


def gate_options(args, threshold_default: float | None):
    """gate.Options from the options history gate and compare --db share."""
    from . import gate
    from .compare import check_threshold, parse_thresholds, threshold_lookup
    default = (check_threshold("--threshold", args.threshold) if args.threshold is not None
               else threshold_default)
    rules = []
    if args.threshold_file:
        try:
            with open(args.threshold_file, encoding="utf-8") as f:
                rules = parse_thresholds(args.threshold_file, f.read())
        except UnicodeDecodeError:
            raise ToolError(args.threshold_file, "is not text (not UTF-8)") from None
    for name in ("window", "min_runs"):
        if getattr(args, name) < 2:
            raise ToolError("--" + name.replace("_", "-"), "must be at least 2")
    if args.min_runs > args.window:
        raise ToolError("--min-runs", f"is more than --window ({args.window})")
    if not 0 < args.alpha < 1:
        raise ToolError("--alpha", f"must be between 0 and 1, not '{args.alpha}'")
    return gate.Options(
        branch=args.branch or "main", metric=args.metric, window=args.window,
        min_runs=args.min_runs, confidence=trust.check_confidence(args.interval), alpha=args.alpha,
        thresholds=threshold_lookup(rules, default), since=args.since,
        max_interference=trust.check_max_interference("--max-interference",
                                                      args.max_interference),
        strict=args.strict)


def cmd_gate(args) -> int:
    from . import gate
    return run_gate(args.run, args.db, gate_options(args, gate.DEFAULT_THRESHOLD), args.format,
                    args.out)


def add_gate_options(s, with_thresholds: bool) -> None:
    """The history-gate options (history gate, and compare with --db)."""
    from . import gate
    s.add_argument("--branch", help="the branch whose history is the baseline (default main)")
    s.add_argument("--since", metavar="REV", help="pin the baseline: the runs up to this "
                                                  "revision (a unique prefix is enough), not "
                                                  "the latest ones, so five 2%% steps since "
                                                  "then show up as 10%%")
    s.add_argument("--window", type=int, default=gate.WINDOW, metavar="N",
                   help="at most N clean runs in the baseline (default %(default)s)")
    s.add_argument("--min-runs", type=int, default=gate.MIN_RUNS, metavar="N",
                   help="fewer clean runs than N since the last change point: inconclusive "
                        "(default %(default)s)")
    s.add_argument("--interval", default=str(gate.CONFIDENCE), metavar="LEVEL",
                   help="the one-sided prediction interval's level (default %(default)s)")
    s.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) what is not comparable instead of warning: with a "
                        "base run, a difference in workload parameters, build or machine; "
                        "against history, a machine, build or workload parameters new to the "
                        "branch")
    if with_thresholds:
        s.add_argument("--threshold", metavar="PCT", help="fail only a change of at least PCT%% "
                                                          f"(default {gate.DEFAULT_THRESHOLD:g})")
        s.add_argument("--threshold-file", metavar="FILE",
                       help="compare's per-benchmark thresholds ('PATTERN PCT' or 'PATTERN "
                            "off' lines); --threshold for the rest")
        s.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time")
        s.add_argument("--alpha", type=float, default=gate.ALPHA,
                       help="the repetition test's level (default %(default)s)")
        s.add_argument("--max-interference", default=str(trust.MAX_INTERFERENCE),
                       metavar="FRAC", help="a benchmark of the new run whose interference "
                                            "exceeds FRAC is disturbed: inconclusive (default "
                                            "%(default)s)")
        s.add_argument("--format", choices=("markdown", "json"), default="markdown")
        s.add_argument("--out", help="write here instead of standard output")
        _db_option(s)


def _write(text: str, out: str | None) -> None:
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _threshold_options(s, default_help: str) -> None:
    s.add_argument("--threshold-file", metavar="FILE",
                   help="compare's thresholds file: lines 'PATTERN PCT' (a regular expression "
                        "searched in the benchmark's name, or in 'KIND NAME' of an executor "
                        "series such as 'speedup cpu threads workers:2'; 'off' leaves it out)"
                        "; the first match wins")
    s.add_argument("--min-change", default="5", metavar="PCT", help=default_help)


def _meta_options(s) -> None:
    s.add_argument("--branch", help="the branch the runs belong to (default: GitHub's or "
                                    f"GitLab's CI variables, else '{DEFAULT_BRANCH}')")
    s.add_argument("--revision", help="the revision (default: the run's parbench_git_revision;"
                                      " for data.js, each entry's commit)")
    s.add_argument("--order", metavar="N", help="the commit's place in the branch's history "
                                                "(default: git rev-list --count REVISION in "
                                                "--git)")
    s.add_argument("--commit-time", metavar="ISO", help="the commit's time (default: git's "
                                                        "committer date in --git)")
    s.add_argument("--git", metavar="DIR", help="a checkout to read commit order and time "
                                                "from (default: the current directory, when "
                                                "it is one)")
    s.add_argument("--ci-url", help="the CI job's URL (default: from GitHub's or GitLab's "
                                    "variables)")
    s.add_argument("--tag", action="append", metavar="KEY=VALUE", help="a label on the run "
                                                                       "(repeatable)")
    s.add_argument("--max-interference", default=str(trust.MAX_INTERFERENCE), metavar="FRAC",
                   help="mark a benchmark disturbed when interference_cpu_frac + steal_frac "
                        "(median over its repetitions) exceeds FRAC (default %(default)s)")
    _db_option(s)


def _add_changes(hs, make_parser) -> None:
    """history changes' parser."""
    s = make_parser(
        hs, "changes", "find the change points of every series; exit 1 while an "
                       "unacknowledged regression is open",
        "Per series (machine fingerprint, build fingerprint, workload parameters, branch, "
        "benchmark, metric; and the executor series: speedup and efficiency at each worker "
        "count, METG): E-divisive change points on the log of each clean run's median, "
        "disturbed runs left out. Each: what to bisect (last good, first bad revision), the "
        "levels before and after, the change, the p-value, the runs on each side. Exit 1 when "
        "a confirmed regression is open (not marked expected, false-positive or fixed).")
    s.add_argument("--branch", help="only this branch's series (default: every branch)")
    s.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time",
                   help="the time whose series are searched (default real_time)")
    s.add_argument("--no-executor-series", action="store_true",
                   help="leave out the speedup, efficiency and METG series")
    s.add_argument("--filter", metavar="REGEX", help="only series whose name (or 'KIND NAME') "
                                                     "matches")
    _threshold_options(s, "the smallest change that counts, in percent, for series no "
                          "thresholds-file line matches (default %(default)s)")
    s.add_argument("--max-p", type=float, default=cpd_max_p(), metavar="P",
                   help="the t-test's significance level (default %(default)s; Otava's is "
                        "0.001, which flags about 0.9%% of stationary series of 60 runs)")
    s.add_argument("--format", choices=("markdown", "json"), default="markdown")
    s.add_argument("--points", action="store_true", help="json: every run's value too")
    s.add_argument("--plot", metavar="DIR", help="draw each series with a change point (with "
                                                 "--filter: each series it keeps) into DIR: "
                                                 "the runs, the disturbed ones marked, the "
                                                 "change points and levels (PNG and SVG)")
    s.add_argument("--out", help="write here instead of standard output")
    _db_option(s)
    s.set_defaults(func=cmd_changes)


def add_parser(sub, make_parser) -> None:
    """The history subcommand and its own subcommands."""
    h = make_parser(sub, "history", "the run store: keep every run, find change points, gate "
                                    "a new run against history")
    hs = h.add_subparsers(dest="history_command", required=True, metavar="SUBCOMMAND")

    s = make_parser(hs, "add", "store runs (Google Benchmark JSON: parbench's or any program's)",
                    "Store each run: revision, branch, commit order and time, start and end, "
                    "CI URL, tags, context and manifest, the machine's and the build's "
                    "fingerprints, every repetition with its interference, and the executor "
                    "series (speedup, efficiency, METG). A file already stored adds nothing.")
    s.add_argument("runs", nargs="+", metavar="RUN.json")
    _meta_options(s)
    s.set_defaults(func=cmd_add)

    s = make_parser(hs, "import", "seed a store: every run in a folder, or "
                                  "github-action-benchmark's data.js")
    s.add_argument("sources", nargs="+", metavar="DIR|ARCHIVE|data.js",
                   help="a folder (every *.json in it and below, trace files aside), a tar "
                        "archive of runs (.tar, .tar.gz, .tar.xz), a data.js "
                        "(window.BENCHMARK_DATA = ...), or a run")
    _meta_options(s)
    s.set_defaults(func=cmd_import)

    _add_changes(hs, make_parser)

    s = make_parser(hs, "mark", "acknowledge a change point: expected (restarts the baseline "
                                "there), false-positive, fixed, or open again")
    s.add_argument("id", help="the change point's id (from history changes; a unique prefix "
                              "is enough)")
    s.add_argument("status", choices=("expected", "false-positive", "fixed", "open"))
    s.add_argument("--note", help="why (kept with the mark)")
    _db_option(s)
    s.set_defaults(func=cmd_mark)

    s = make_parser(
        hs, "gate", "judge a new run against history: exit 0 pass, 1 fail, 3 inconclusive",
        "Each benchmark against the last N clean runs of its series (same machine, build and "
        "workload parameters, target branch) since the series' last change point: fail when "
        "the new median is beyond the baseline's one-sided prediction interval, the change is "
        "at least the threshold, and a one-sided Mann-Whitney U test of the new repetitions "
        "against the baseline's agrees. Inconclusive (exit 3), never pass, when the baseline "
        "has too few runs, the new run is disturbed or has no repetitions, or its machine, "
        "build or workload parameters are new. Names the runs of each baseline.")
    s.add_argument("run", metavar="RUN.json", help="the new run (not stored by the gate)")
    add_gate_options(s, with_thresholds=True)
    s.set_defaults(func=cmd_gate)

    s = make_parser(hs, "runs", "list the stored runs")
    s.add_argument("--branch", help="only this branch's runs")
    _db_option(s)
    s.set_defaults(func=cmd_runs)


def is_history(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) == "history"
