"""history gate (and compare --db): a new run judged against the runs before it. For each
benchmark the baseline is the last N clean runs of its series on the target branch since the
series' last change point (or the runs of a pinned revision, --since). The benchmark fails
when its median is beyond the baseline's one-sided prediction interval, the change is at least
its threshold, and a one-sided Mann-Whitney U test of its repetitions against the baseline's
agrees. It is inconclusive, never a pass, when the baseline has too few runs, the new run is
disturbed or cannot be tested (one repetition, aggregates only, an error), or the machine,
build or workload parameters are new to the branch."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from . import changepoint as cpd
from . import fingerprint as fpm
from .changes import FALSE_POSITIVE, change_id, expected_runs, load_marks
from .compare import EXIT_STATUS, FAIL, INCONCLUSIVE, PASS
from .errors import ToolError
from .gbench import Benchmark, Run
from .history import Point, SeriesKey, load_series
from .ingest import content_digest
from .store import Store
from .trust import disturbed, interference

WINDOW = 30  # the baseline: at most this many clean runs ...
MIN_RUNS = 5  # ... and at least this many
CONFIDENCE = 0.99  # the one-sided prediction interval's level
ALPHA = 0.05  # the repetition test's level
DEFAULT_THRESHOLD = 5.0  # percent, when neither --threshold nor a thresholds-file line says


@dataclass
class Options:
    branch: str = "main"
    metric: str = "real_time"
    window: int = WINDOW
    min_runs: int = MIN_RUNS
    confidence: float = CONFIDENCE
    alpha: float = ALPHA
    thresholds: object = None  # name -> percent or None ('off')
    since: str | None = None
    max_interference: float = 0.10
    strict: bool = False


@dataclass
class Row:
    name: str
    new_s: float | None = None
    level_s: float | None = None  # the baseline's level (geometric mean of its medians)
    upper_s: float | None = None  # the prediction interval's upper bound
    change_pct: float | None = None
    threshold_pct: float | None = None
    p_value: float | None = None
    beyond: bool | None = None
    gate: str | None = None  # pass | fail | inconclusive; None: not gated
    reason: str | None = None
    baseline: list[Point] = field(default_factory=list)
    since: str | None = None  # the change point (first bad revision) the baseline starts at
    parameters: list[str] = field(default_factory=list)  # new workload parameters: what differs


@dataclass
class Decision:
    rows: list[Row]
    gate: str
    problems: list[str]  # why the whole run is inconclusive (new fingerprint), or differences
    history: int  # stored runs of this machine and build on the branch
    level: float = CONFIDENCE  # each benchmark's prediction interval (family-wise correction)


def _matching_runs(store: Store, run: Run, options: Options) -> tuple[list, list[str]]:
    """The branch's stored runs of the new run's machine and build (the run itself left out)
    in history order (id and revision: the series are read for the recent ones only), and
    what is new about the run when there are none."""
    import json

    import sqlalchemy as sa
    from .ingest import known_fingerprints
    t = store.tables
    runs_t = t["runs"]
    with store.engine.connect() as conn:
        # The stored machine and build the run's are compatible with (a newer bench records
        # more fields of the same machine); a digest no stored one has when none is.
        new = [(fpm.resolve(known_fingerprints(conn, t[table]), fields) or
                (0, fpm.digest(fields), fields))[1]
               for table, fields in (("machines", fpm.machine(run.context)),
                                     ("builds", fpm.build(run.context)))]
        rows = conn.execute(sa.select(runs_t.c.id, runs_t.c.digest, runs_t.c.revision,
                                      runs_t.c.commit_order, runs_t.c.commit_time,
                                      runs_t.c.start_time,
                                      t["machines"].c.fingerprint.label("m"),
                                      t["builds"].c.fingerprint.label("b"))
                            .join(t["machines"]).join(t["builds"])
                            .where(runs_t.c.branch == options.branch)).all()
        digest = content_digest_of(run)
        runs = sorted((r for r in rows if (r.m, r.b) == tuple(new) and r.digest != digest),
                      key=lambda r: (r.commit_order if r.commit_order is not None else -1,
                                     r.commit_time or "", r.start_time or "", r.id))
        if runs or not rows:
            return runs, ([] if runs else [f"no run of branch {options.branch} is stored"])
        latest = max(r.id for r in rows)
        context = conn.execute(sa.select(runs_t.c.context).where(runs_t.c.id == latest)).scalar()
    known = (("machine", new[0], {r.m for r in rows}), ("build", new[1], {r.b for r in rows}))
    problems = [f"new {what} fingerprint {mine[:8]}: no stored run of branch {options.branch} "
                "has it" for what, mine, theirs in known if mine not in theirs]
    differs = fpm.comparability(json.loads(context), run.context, True,
                                {b.name.workload for b in run.benchmarks.values()})
    if differs:
        problems.append("against the latest stored run: " + "; ".join(differs))
    if not problems:  # the run itself is the only stored one of its machine and build
        problems.append(f"no other run of this machine and build on branch {options.branch} "
                        "is stored (this one is)")
    return runs, problems


def content_digest_of(run: Run) -> str:
    """The stored content hash of a run read from a file (its parsed JSON)."""
    from .gbench import load_json
    return content_digest(load_json(run.path)) if run.sources else ""


def _cut(key: SeriesKey, clean: list[Point], marks: dict,
         expected: set[int]) -> tuple[list[Point], str | None]:
    """The clean runs since the last change point (a false positive does not cut, an
    expected one does: `expected` holds the first runs of those), and that change point's
    first bad revision."""
    start, since = 0, None
    logs = [math.log(p.value) for p in clean]
    for c in cpd.detect(logs):
        if marks.get(change_id(key, clean[c.index]), ("",))[0] != FALSE_POSITIVE:
            start, since = c.index, clean[c.index].run.label
    for i in range(start + 1, len(clean)):
        if clean[i].run.id in expected:
            start, since = i, clean[i].run.label
    return clean[start:], since


def _baseline(key: SeriesKey, points: list[Point], options: Options, marks: dict,
              row: Row, wanted: dict, expected: set[int]) -> list[Point]:
    """The baseline of one benchmark: its clean runs with the new run's workload parameters
    (`wanted`), up to --since, since the last change point, the last N of them."""
    clean = [p for p in points if p.clean]
    differs: dict[int, bool] = {}  # by settings object: runs share them (history.py caches)
    for p in clean:
        mine = p.run.family_settings(key.family)
        if id(mine) not in differs:
            differs[id(mine)] = bool(fpm.changed(mine, wanted))
    same = [p for p in clean if not differs[id(p.run.family_settings(key.family))]]
    if clean and not same:
        row.parameters = fpm.changed(clean[-1].run.family_settings(key.family), wanted)
    clean = same
    if options.since:  # the series up to the pinned revision's last run
        at = [i for i, p in enumerate(clean) if p.run.revision == options.since]
        clean = clean[:at[-1] + 1] if at else []
    segment, row.since = _cut(key, clean, marks, expected)
    return segment[-options.window:]


def pinned_revision(runs: list, since: str) -> str:
    """The stored revision --since names (in full, or a prefix of one)."""
    found = sorted({r.revision for r in runs if r.revision.startswith(since)})
    if len(found) != 1:
        what = "no stored run" if not found else f"{len(found)} revisions ({', '.join(found[:3])})"
        raise ToolError("--since", f"'{since}' matches {what} of this machine and build "
                                   "on the branch")
    return found[0]


@functools.lru_cache(maxsize=256)
def _t_quantile(confidence: float, df: int) -> float:
    from scipy.stats import t as student
    return float(student.ppf(confidence, df))


def _prediction(row: Row, logs: list[float], confidence: float) -> float:
    """The upper end of the one-sided prediction interval of the next run's log median."""
    n = len(logs)
    mean = sum(logs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    row.level_s = math.exp(mean)
    return mean + _t_quantile(confidence, n - 1) * sd * math.sqrt(1 + 1 / n)


def _why_untestable(b: Benchmark, metric: str, limit: float) -> str | None:
    if b.error is not None:
        return f"error in the new run: {b.error}"
    if disturbed(b, limit):
        return (f"the new run is disturbed (interference {interference(b):.0%} > "
                f"{limit:.0%}): it measured the machine's load")
    if b.aggregates_only:
        return "the new run holds aggregates only: the repetition test cannot run"
    if len(b.values(metric)) < 2:
        return f"{len(b.values(metric))} repetition(s) in the new run: the repetition test " \
               "needs 2+"
    return None


def judge(row: Row, options: Options, level: float) -> bool:
    """Sets the row's interval (at `level`) and change from its baseline; False (the row
    inconclusive) when that baseline cannot judge."""
    n = len(row.baseline)
    if not n and row.parameters:
        row.gate, row.reason = INCONCLUSIVE, ("new workload parameters: no stored run has them "
                                              "(" + "; ".join(row.parameters) + ")")
        return False
    if n < options.min_runs:
        where = f" since the change point at {row.since}" if row.since else ""
        row.gate, row.reason = INCONCLUSIVE, (f"{n} clean run(s) in the baseline{where}: "
                                              f"needs {options.min_runs}")
        return False
    upper = _prediction(row, [math.log(p.value) for p in row.baseline], level)
    row.upper_s = math.exp(upper)
    row.beyond = math.log(row.new_s) > upper
    row.change_pct = (row.new_s / row.level_s - 1) * 100
    if all(p.aggregate is not None for p in row.baseline):
        row.gate, row.reason = INCONCLUSIVE, "the baseline runs have no repetitions (" \
                                             "aggregates only): the repetition test cannot run"
        return False
    if not (row.beyond and row.change_pct >= row.threshold_pct):
        row.gate = PASS  # the repetition test could only agree with a pass
    return True


def repetition_test(row: Row, new: list[float], pooled: list[float], options: Options) -> None:
    """The one-sided U test of the new repetitions against the baseline's: fail when it
    agrees that the new run is slower."""
    from scipy.stats import mannwhitneyu
    if not pooled:
        row.gate, row.reason = INCONCLUSIVE, "the baseline runs have no repetitions (" \
                                             "aggregates only): the repetition test cannot run"
        return
    row.p_value = (1.0 if len(set(new) | set(pooled)) == 1 else
                   float(mannwhitneyu(new, pooled, alternative="greater").pvalue))
    row.gate = FAIL if row.p_value < options.alpha else PASS


def _samples(store: Store, metric: str, runs: set[int], names: list[str]) -> dict:
    """{(run id, benchmark): [values]} of the baseline runs."""
    import sqlalchemy as sa
    if not runs:
        return {}
    t = store.tables
    s, r = t["samples"], t["results"]
    value = s.c.real_time if metric == "real_time" else s.c.cpu_time
    query = (sa.select(s.c.run_id, r.c.benchmark, value)
             .join(r, sa.and_(r.c.run_id == s.c.run_id, r.c.idx == s.c.idx))
             .where(s.c.run_id.in_(sorted(runs))).where(r.c.benchmark.in_(names)))
    out: dict = {}
    with store.engine.connect() as conn:
        for run_id, name, v in conn.execute(query):
            if v is not None:
                out.setdefault((run_id, name), []).append(v)
    return out


def decide(store: Store, run: Run, options: Options) -> Decision:
    """The gate's decision for every benchmark of `run` with a time (or an error)."""
    runs, problems = _matching_runs(store, run, options)
    if problems and options.strict:
        raise ToolError(run.path, "is not comparable with the stored history (--strict): "
                                  + "; ".join(problems))
    names = [n for n, b in run.benchmarks.items() if b.error is not None or b.median is not None]
    if options.since and runs:
        options.since = pinned_revision(runs, options.since)
        last = max(i for i, r in enumerate(runs) if r.revision == options.since)
        runs = runs[:last + 1]
    recent = runs[-2 * options.window:]  # a change point in the last N runs, with context
    series = load_series(store, (options.metric,), options.branch,
                         run_ids=[r.id for r in recent], names=names) if runs else {}
    by_name = {k.name: (k, pts) for k, pts in series.items()}
    marks = load_marks(store)
    expected = expected_runs(store)
    families = set(run.manifest.families) | {b.name.workload for b in run.benchmarks.values()}
    rows = []
    for name in names:
        b = run.benchmarks[name]
        row = Row(name, new_s=b.median_of(options.metric))
        row.threshold_pct = (options.thresholds(name) if options.thresholds is not None
                             else DEFAULT_THRESHOLD)
        rows.append(row)
        if row.threshold_pct is None:
            continue
        if not runs:
            row.gate, row.reason = INCONCLUSIVE, problems[0]
            continue
        key, points = by_name.get(name, (None, []))
        if key is None:
            row.gate, row.reason = INCONCLUSIVE, ("no stored run of this machine and build on "
                                                  f"branch {options.branch} has it")
            continue
        wanted = fpm.family_settings(fpm.settings(run.context), b.name.workload, families)
        row.baseline = (_baseline(key, points, options, marks, row, wanted,
                                  expected.get(key.digest, set())))
        row.reason = _why_untestable(b, options.metric, options.max_interference)
        if row.reason:
            row.gate = INCONCLUSIVE
    new_parameters = [r for r in rows if r.parameters and not r.baseline]
    if new_parameters and options.strict:
        r = new_parameters[0]
        raise ToolError(run.path, f"is not comparable with the stored history (--strict): "
                                  f"{r.name}: new workload parameters: {'; '.join(r.parameters)}")
    # The interval is family-wise: with m benchmarks judged, each one's is at 1 - (1 -
    # confidence) / m (Bonferroni), so a run of m unchanged benchmarks falls outside one of
    # them with probability 1 - confidence at most, not m times that.
    judged = [r for r in rows if r.gate is None and r.threshold_pct is not None]
    m = max(1, sum(len(r.baseline) >= options.min_runs for r in judged))
    level = 1 - (1 - options.confidence) / m
    tested = [r for r in judged if judge(r, options, level) and r.gate is None]
    # The repetitions only of the baselines a test needs: beyond the interval and the threshold.
    samples = _samples(store, options.metric, {p.run.id for r in tested for p in r.baseline},
                       [r.name for r in tested])
    for row in tested:
        pooled = [v for p in row.baseline for v in samples.get((p.run.id, row.name), [])]
        repetition_test(row, run.benchmarks[row.name].values(options.metric), pooled, options)
    gates = [r.gate for r in rows if r.gate]
    verdict = FAIL if FAIL in gates else INCONCLUSIVE if (INCONCLUSIVE in gates or not gates) \
        else PASS
    return Decision(rows, verdict, problems, len(runs), level)


def exit_status(decision: Decision) -> int:
    return EXIT_STATUS[decision.gate]


# --- the report ------------------------------------------------------------------------------

def run_header(run: Run) -> str:
    """'revision abc123, host vm, 2026-11-25T20:11:25+00:00, noise probe 0.98 / 0.97'."""
    c = run.context
    noise = c.get("parbench_noise_efficiency", "not recorded")
    end = c.get("parbench_noise_efficiency_end")
    return (f"revision {c.get('parbench_git_revision', '?')}, host {c.get('host_name', '?')}, "
            f"{c.get('date', '?')}, noise probe {noise}" + (f" / {end} after" if end else ""))


def _runs_text(points: list[Point]) -> str:
    if not points:
        return "none"
    first, last = points[0].run, points[-1].run
    return f"{len(points)} runs, `{first.label}` … `{last.label}`"


def _fmt(seconds: float | None) -> str:
    from .speedup import format_seconds
    return "—" if seconds is None else format_seconds(seconds)


def _gate_text(row: Row) -> str:
    if row.gate is None:
        return "not gated"
    if row.gate == INCONCLUSIVE:
        return f"inconclusive: {row.reason}"
    why = [("beyond" if row.beyond else "inside") + " the interval",
           f"{row.change_pct:+.1f}% {'≥' if row.change_pct >= row.threshold_pct else '<'} "
           f"{row.threshold_pct:g}%",
           f"U p {row.p_value:.2g}" if row.p_value is not None else "no U test needed"]
    return f"{row.gate} ({', '.join(why)})"


def to_markdown(run: Run, decision: Decision, options: Options) -> str:
    verdict = {FAIL: "**FAIL**", PASS: "**pass**", INCONCLUSIVE: "**INCONCLUSIVE**"}
    gated = [r for r in decision.rows if r.gate]
    failed = [r for r in gated if r.gate == FAIL]
    unsure = [r for r in gated if r.gate == INCONCLUSIVE]
    base = f"the last {options.window} clean runs since each series' last change point" + (
        f", up to revision {options.since}" if options.since else "")
    out = [f"## parbench gate: `{run.path}` against the history of branch {options.branch}",
           "", f"New run: {run_header(run)}.",
           f"Baseline: {base} (at least {options.min_runs}), with the new run's workload "
           f"parameters; {decision.history} stored run(s) of this machine and build.", ""]
    out += [f"**Warning:** {p}" for p in decision.problems]
    out.append(f"Gate: {verdict[decision.gate]} (exit {EXIT_STATUS[decision.gate]}) — "
               f"{len(failed)} of {len(gated)} gated benchmark(s) beyond the "
               f"{options.confidence:.0%} family-wise prediction interval (each benchmark's "
               f"at {decision.level:.4%}), over their threshold and "
               f"confirmed by the repetition test (Mann-Whitney U, one-sided, p < "
               f"{options.alpha:g})" + (": " + ", ".join(f"`{r.name}`" for r in failed)
                                        if failed else "") + "."
               + (f" {len(unsure)} could not be judged (each row says why); a gate that "
                  "cannot look does not pass." if unsure else ""))
    out += ["", "| benchmark | new | baseline level | upper bound | "
                "change | baseline runs | gate |", "|---|---|---|---|---|---|---|"]
    for r in decision.rows:
        change = "—" if r.change_pct is None else f"{r.change_pct:+.1f}%"
        since = f" since `{r.since}`" if r.since else ""
        out.append(f"| `{r.name}` | {_fmt(r.new_s)} | {_fmt(r.level_s)} | {_fmt(r.upper_s)} | "
                   f"{change} | {_runs_text(r.baseline)}{since} | {_gate_text(r)} |")
    sets: dict[tuple, list[str]] = {}
    for r in decision.rows:
        if r.baseline:
            sets.setdefault(tuple(p.run.id for p in r.baseline), []).append(r.name)
    if sets:
        out += ["", "Baseline runs (store id: revision):"]
        for ids, names in sets.items():
            labels = {p.run.id: p.run.label for r in decision.rows for p in r.baseline}
            out.append(f"- {len(names)} benchmark(s): " + ", ".join(
                f"{i}: `{labels[i]}`" for i in ids))
    return "\n".join(out) + "\n"


def to_json(run: Run, decision: Decision, options: Options) -> dict:
    return {
        "new": run.path, "new_run": run_header(run), "branch": options.branch,
        "metric": options.metric, "window": options.window, "min_runs": options.min_runs,
        "confidence": options.confidence, "benchmark_level": decision.level,
        "alpha": options.alpha, "since": options.since,
        "gate": {"result": decision.gate, "exit_status": EXIT_STATUS[decision.gate]},
        "problems": decision.problems, "history_runs": decision.history,
        "benchmarks": [{"name": r.name, "new_median_s": r.new_s, "baseline_level_s": r.level_s,
                        "upper_bound_s": r.upper_s, "change_pct": r.change_pct,
                        "threshold_pct": r.threshold_pct, "p_value": r.p_value,
                        "beyond_interval": r.beyond, "gate": r.gate, "reason": r.reason,
                        "baseline_since": r.since,
                        "baseline_runs": [{"run": p.run.id, "revision": p.run.label,
                                           "median_s": p.value} for p in r.baseline]}
                       for r in decision.rows]}
