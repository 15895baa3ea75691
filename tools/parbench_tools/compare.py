"""Comparing two runs (or two families of one run) benchmark by benchmark: medians, change, a
two-sided Mann-Whitney U test as Google Benchmark's compare.py computes it, a verdict, and a
gate that passes only when it could test every benchmark it gates."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from .errors import ToolError
from .gbench import Benchmark, Run
from .speedup import format_seconds, not_enough, seconds_interval
from .stats import CONFIDENCE, Interval, median_interval, ratio_interval
from .trust import MARK, MAX_INTERFERENCE, disturbed, interference, rule

ALPHA = 0.05  # default significance level of the Mann-Whitney U test
RECOMMENDED_REPETITIONS = 9  # Google's compare.py: "9+ repetitions recommended"
LIST_FLAGGED = 8  # name each disturbed benchmark up to this many; beyond, a summary

# The gate's results and the CLI's exit status for each.
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
EXIT_STATUS = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}


@dataclass
class Row:
    name: str
    base_s: float | None  # median of the chosen metric, seconds
    new_s: float | None
    change_pct: float | None
    p_value: float | None
    verdict: str  # slower | faster | no significant change | not tested
    reason: str | None = None  # why it was not tested
    base_n: int = 0
    new_n: int = 0
    threshold_pct: float | None = None  # the gate's threshold for this benchmark
    gate: str | None = None  # pass | fail | inconclusive (None: not gated)
    base_ci: Interval | None = None  # each median's interval (seconds)
    new_ci: Interval | None = None
    change_ci: Interval | None = None  # of the change, in percent
    interval_note: str | None = None  # why change_ci is missing
    base_interference: float | None = None  # interference_cpu_frac + steal_frac (median)
    new_interference: float | None = None
    base_flagged: bool = False  # that side ran disturbed
    new_flagged: bool = False

    @property
    def tested(self) -> bool:
        return self.reason is None


@dataclass
class Comparison:
    rows: list[Row]
    only_base: list[str]
    only_new: list[str]
    geomean_ratio: float | None  # new / base over the benchmarks with a time on both sides
    geomean_n: int = 0
    not_times: list[str] = field(default_factory=list)  # complexity fits: nothing to compare
    metric: str = "real_time"
    alpha: float = ALPHA
    gate: str | None = None  # None: no threshold was given
    threshold_only: bool = False
    confidence: float = CONFIDENCE
    max_interference: float = MAX_INTERFERENCE


def min_p_value(n1: int, n2: int) -> float:
    """The smallest two-sided p the exact Mann-Whitney U test can give for n1 and n2 samples:
    every sample of one side below every sample of the other."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def repetitions_needed(alpha: float) -> int:
    """The fewest repetitions per side with which p < alpha is possible at all."""
    n = 2
    while min_p_value(n, n) >= alpha:
        n += 1
    return n


def _mann_whitney(a: list[float], b: list[float]) -> float:
    from scipy.stats import mannwhitneyu  # scipy only where the test runs
    if len(set(a) | set(b)) == 1:
        return 1.0  # every sample equal: nothing to test
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _change(base: float, new: float) -> float | None:
    if base > 0:
        return (new - base) / base * 100
    return 0.0 if new == base else None


def _why_untested(side: str, b: Benchmark, metric: str) -> str | None:
    if b.error is not None:
        return f"error in {side}: {b.error}"
    if b.aggregates_only:
        return f"{side} holds aggregates only (no per-repetition times)"
    if not b.values(metric):
        return f"no {metric} in {side}"
    return None


def _intervals(row: Row, b: Benchmark, n: Benchmark, metric: str, confidence: float) -> None:
    """Each median's interval, and the change's from them (as a speedup's from its medians)."""
    base, new = b.values(metric), n.values(metric)
    row.base_ci = median_interval(base, confidence)
    row.new_ci = median_interval(new, confidence)
    ratio = ratio_interval(new, base, confidence)
    if ratio is not None:
        row.change_ci = Interval((ratio.low - 1) * 100, (ratio.high - 1) * 100, ratio.coverage)
    elif b.aggregates_only or n.aggregates_only:
        row.interval_note = "no interval: aggregates only"
    else:
        row.interval_note = not_enough(min(len(base), len(new)))


def compare_pair(name: str, b: Benchmark, n: Benchmark, metric: str, alpha: float,
                 confidence: float = CONFIDENCE,
                 max_interference: float = MAX_INTERFERENCE) -> Row:
    """One row: both medians with their intervals, the change with its interval, the U test
    when it can say anything, a verdict, and which side ran disturbed."""
    base_s, new_s = b.median_of(metric), n.median_of(metric)
    row = Row(name, base_s, new_s, None, None, "not tested", None,
              len(b.values(metric)), len(n.values(metric)))
    row.base_interference, row.new_interference = interference(b), interference(n)
    row.base_flagged = disturbed(b, max_interference)
    row.new_flagged = disturbed(n, max_interference)
    if b.error is None and n.error is None and base_s is not None and new_s is not None:
        row.change_pct = _change(base_s, new_s)
        _intervals(row, b, n, metric, confidence)
    row.reason = _why_untested("base", b, metric) or _why_untested("new", n, metric)
    if row.reason:
        return row
    need = repetitions_needed(alpha)
    if min(row.base_n, row.new_n) < 2:
        row.reason = (f"{row.base_n} vs {row.new_n} repetitions: the U test needs 2+ per side "
                      f"({need}+ to reach p < {alpha:g})")
        return row
    row.p_value = _mann_whitney(b.values(metric), n.values(metric))
    if min_p_value(row.base_n, row.new_n) >= alpha:
        row.reason = (f"{row.base_n} vs {row.new_n} repetitions cannot reach p < {alpha:g} "
                      f"(needs {need}+ per side)")
        return row
    if row.p_value < alpha and row.change_pct is not None and row.change_pct != 0:
        row.verdict = "slower" if row.change_pct > 0 else "faster"
    else:
        row.verdict = "no significant change"
    return row


def _keyed(run: Run, pattern: re.Pattern | None) -> dict[str, Benchmark]:
    """Benchmarks by the name they are paired on: the name, or (families mode) the name with
    the family pattern's match removed, as compare.py's filters mode does."""
    if pattern is None:
        return dict(run.benchmarks)
    out: dict[str, Benchmark] = {}
    for name, b in run.benchmarks.items():
        if not pattern.search(name):
            continue
        key = re.sub("/+", "/", pattern.sub("", name, count=1)).strip("/") or "(family)"
        if key in out:
            raise ToolError(run.path, f"pattern '{pattern.pattern}' makes '{out[key].name.full}' "
                                      f"and '{name}' the same benchmark; make it more specific")
        out[key] = b
    if not out:
        raise ToolError(run.path, f"has no benchmark matching '{pattern.pattern}'")
    return out


def compare(base: Run, new: Run, metric: str = "real_time", alpha: float = ALPHA,
            families: tuple[re.Pattern, re.Pattern] | None = None,
            confidence: float = CONFIDENCE,
            max_interference: float = MAX_INTERFERENCE) -> Comparison:
    """Pairs benchmarks by name (or by what is left of the name once each family pattern is
    removed) and compares each pair."""
    left = _keyed(base, families[0] if families else None)
    right = _keyed(new, families[1] if families else None)
    rows, not_times = [], []
    for key, b in left.items():
        n = right.get(key)
        if n is None:
            continue
        if not b.measured and not n.measured and (b.complexity or n.complexity) \
                and b.error is None and n.error is None:
            not_times.append(key)  # BigO / RMS: a fit, not a time
            continue
        rows.append(compare_pair(key, b, n, metric, alpha, confidence, max_interference))
    # Only the benchmarks with a positive time on both sides count (and are counted).
    ratios = [r.new_s / r.base_s for r in rows if r.change_pct is not None and r.base_s and r.new_s]
    geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else None
    return Comparison(
        rows,
        [k for k in left if k not in right],
        [k for k in right if k not in left],
        geomean, len(ratios), not_times, metric, alpha, confidence=confidence,
        max_interference=max_interference)


Thresholds = Callable[[str], "float | None"]


def parse_thresholds(path: str, text: str) -> list[tuple[re.Pattern, float | None]]:
    """Lines 'PATTERN THRESHOLD' (a regular expression searched in the benchmark name, and a
    percentage, or 'off' to leave the benchmark out of the gate); '#' starts a comment. The
    first matching line wins."""
    rules: list[tuple[re.Pattern, float | None]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ToolError(f"{path}:{lineno}", "is not 'PATTERN THRESHOLD' (two fields)")
        try:
            pattern = re.compile(parts[0])
        except re.error as e:
            raise ToolError(f"{path}:{lineno}", f"'{parts[0]}' is not a regular expression "
                                                f"({e})") from None
        value = parts[1].rstrip("%")
        rules.append((pattern, None if value == "off" else
                      check_threshold(f"{path}:{lineno}", value)))
    if not rules:
        raise ToolError(path, "has no 'PATTERN THRESHOLD' line")
    return rules


def check_threshold(where: str, text: str) -> float:
    """A threshold percentage: a finite number >= 0; anything else is a ToolError."""
    try:
        value = float(text)
    except ValueError:
        raise ToolError(where, f"'{text}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ToolError(where, f"must be a finite percentage >= 0, not '{text}'")
    return value


def threshold_lookup(rules: list[tuple[re.Pattern, float | None]],
                     default: float | None) -> Thresholds:
    """The threshold of a benchmark: the first rule whose pattern it matches, else default."""
    def lookup(name: str) -> float | None:
        return next((t for p, t in rules if p.search(name)), default)
    return lookup


def apply_gate(c: Comparison, thresholds: Thresholds, threshold_only: bool = False) -> str:
    """Sets each row's gate and the comparison's: fail when a benchmark is significantly
    slower by more than its threshold (with threshold_only: slower by more than it, tested or
    not); inconclusive when none fails but one could not be tested; pass only when every gated
    benchmark was tested and none failed."""
    c.threshold_only = threshold_only
    for r in c.rows:
        r.threshold_pct = thresholds(r.name)
        if r.threshold_pct is None:
            continue
        if threshold_only:
            if r.change_pct is None:
                r.gate = INCONCLUSIVE
            else:
                r.gate = FAIL if r.change_pct > r.threshold_pct else PASS
        elif not r.tested:
            r.gate = INCONCLUSIVE
        else:
            slower = r.verdict == "slower" and r.change_pct > r.threshold_pct
            r.gate = FAIL if slower else PASS
    gates = [r.gate for r in c.rows if r.gate]
    if FAIL in gates:
        c.gate = FAIL
    elif INCONCLUSIVE in gates or not gates:
        c.gate = INCONCLUSIVE
    else:
        c.gate = PASS
    return c.gate


def _gate_line(c: Comparison) -> str:
    gated = [r for r in c.rows if r.gate]
    failed = [r for r in gated if r.gate == FAIL]
    untested = [r for r in gated if r.gate == INCONCLUSIVE]
    thresholds = sorted({r.threshold_pct for r in gated})
    shown = ", ".join(f"{t:g}%" for t in thresholds) or "none matched"
    rule = ("slower by more than the threshold (threshold-only rule: the U test is not asked)"
            if c.threshold_only else "significantly slower by more than the threshold")
    verdict = {FAIL: "**FAIL**", PASS: "**pass**", INCONCLUSIVE: "**INCONCLUSIVE**"}[c.gate]
    line = f"Gate (threshold {shown}): {verdict} (exit {EXIT_STATUS[c.gate]}) — "
    if not gated:
        return line + "no benchmark is gated, so nothing was tested; a gate that cannot look " \
                      "does not pass."
    line += f"{len(failed)} of {len(gated)} gated benchmark(s) {rule}"
    line += (": " + ", ".join(f"`{r.name}`" for r in failed) + "." if failed else ".")
    if untested:
        line += (f" {len(untested)} could not be tested (each row says why); a gate that cannot"
                 " look does not pass.")
    return line


def side_text(runs: list[Run]) -> str:
    """Who a side is: revision, host, date and noise probe of its run ('3 runs: revisions a, b,
    c; ...' for a pooled side)."""
    def values(key: str) -> str:
        found = list(dict.fromkeys(str(r.context.get(key, "?")) for r in runs))
        return ", ".join(found) if len(found) <= 3 else f"{found[0]} … {found[-1]}"
    noise = [f"{r.context.get('parbench_noise_efficiency', 'not recorded')}"
             + (f" / {r.context['parbench_noise_efficiency_end']} after"
                if r.context.get("parbench_noise_efficiency_end") else "") for r in runs]
    noise_text = ", ".join(dict.fromkeys(noise)) if len(runs) <= 3 else \
        f"{len(set(noise))} different readings"
    head = f"{len(runs)} runs: " if len(runs) > 1 else ""
    return (f"{head}revision {values('parbench_git_revision')}, host {values('host_name')}, "
            f"{values('date')}, noise probe {noise_text}")


def to_markdown(c: Comparison, base_label: str, new_label: str,
                sides: tuple[str, str] | None = None, warnings: list[str] = ()) -> str:
    out = [f"## parbench: `{new_label}` against `{base_label}`", ""]
    if sides:
        out += [f"Base: {sides[0]}.", f"New: {sides[1]}.", ""]
    if warnings:
        out += [f"**Warning: the two sides are not comparable** ({len(warnings)} "
                "difference(s); `--strict` refuses them): " + "; ".join(warnings) + ".", ""]
    if c.gate is not None:
        out.append(_gate_line(c))
    if c.geomean_ratio is not None:
        change = (c.geomean_ratio - 1) * 100
        left_out = len(c.rows) - c.geomean_n
        out.append(f"Geometric mean of new/base over {c.geomean_n} benchmark(s)"
                   + (f" ({left_out} without a time on both sides left out)" if left_out else "")
                   + f": **{c.geomean_ratio:.3f}** ({change:+.1f}%).")
    counts = {v: sum(1 for r in c.rows if r.verdict == v) for v in ("slower", "faster")}
    untested = sum(1 for r in c.rows if not r.tested)
    out.append(f"{counts['slower']} significantly slower, {counts['faster']} significantly faster"
               f", {untested} not tested (Mann-Whitney U, two-sided, p < {c.alpha:g}, "
               f"{c.metric}).")
    need = repetitions_needed(c.alpha)
    out.append(f"At alpha {c.alpha:g} the test can only find a change with {need}+ repetitions "
               f"per side; Google's compare.py recommends {RECOMMENDED_REPETITIONS}+.")
    flagged = [r for r in c.rows if r.base_flagged or r.new_flagged]
    if flagged:
        out.append(f"{len(flagged)} of {len(c.rows)} benchmark(s) marked {MARK}: "
                   f"{rule(c.max_interference)}; a change there may be the machine's.")
    interval_head = f"change's {c.confidence:.0%} interval"
    head = ["benchmark", "base", "new", "change", interval_head, "p", "verdict"]
    if c.gate is not None:
        head.append("gate")
    out += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in c.rows:
        cells = [f"`{r.name}`",
                 _side_text(r.base_s, r.base_ci, r.base_flagged),
                 _side_text(r.new_s, r.new_ci, r.new_flagged),
                 f"{r.change_pct:+.1f}%" if r.change_pct is not None else "—",
                 (f"[{r.change_ci.low:+.1f}%, {r.change_ci.high:+.1f}%]" if r.change_ci
                  else r.interval_note or "—"),
                 f"{r.p_value:.3g}" if r.p_value is not None else "—",
                 r.verdict if r.tested else f"not tested: {r.reason}"]
        if c.gate is not None:
            cells.append(f"{r.gate} (> {r.threshold_pct:g}%)" if r.gate else "not gated")
        out.append("| " + " | ".join(cells) + " |")
    if flagged:
        what = f"{MARK} disturbed (interference_cpu_frac + steal_frac, median over the " \
               "repetitions): "
        if len(flagged) > LIST_FLAGGED:
            out += ["", what + f"{len(flagged)} benchmarks, " + _flag_ranges(flagged)]
        else:
            out += ["", what + ", ".join(f"`{r.name}` ({_flag_text(r)})" for r in flagged)]
    for title, names in (("Only in base", c.only_base), ("Only in new", c.only_new),
                         ("Complexity fits, not times (not compared)", c.not_times)):
        if names:
            out += ["", f"{title} ({len(names)}): " + ", ".join(f"`{n}`" for n in names)]
    return "\n".join(out) + "\n"


def _side_text(seconds: float | None, ci: Interval | None, flagged: bool) -> str:
    if seconds is None:
        return "—"
    return (f"{MARK} " if flagged else "") + format_seconds(seconds) + seconds_interval(ci)


def _flag_ranges(rows: list[Row]) -> str:
    """'base 72%-90% on 18, new 49%-85% on 18': each side's flagged interference range."""
    parts = []
    for side in ("base", "new"):
        values = [getattr(r, f"{side}_interference") for r in rows if getattr(r, f"{side}_flagged")]
        if values:
            parts.append(f"{side} {min(values):.0%}–{max(values):.0%} on {len(values)}")
    return ", ".join(parts)


def _flag_text(r: Row) -> str:
    sides = [(side, value) for side, value, flag in
             (("base", r.base_interference, r.base_flagged),
              ("new", r.new_interference, r.new_flagged)) if flag]
    return ", ".join(f"{side} {value:.0%}" for side, value in sides)


def _interval_json(ci: Interval | None) -> list[float] | None:
    return None if ci is None else [ci.low, ci.high]


def to_json(c: Comparison, base_files: list[str], new_files: list[str],
            sides: tuple[str, str] | None = None, warnings: list[str] = ()) -> dict:
    """The comparison as one JSON object: settings, gate, geometric mean, one object per
    benchmark."""
    return {
        "base": base_files, "new": new_files, "metric": c.metric, "alpha": c.alpha,
        "base_side": sides[0] if sides else None, "new_side": sides[1] if sides else None,
        "not_comparable": list(warnings),
        "repetitions_needed": repetitions_needed(c.alpha),
        "confidence": c.confidence, "max_interference": c.max_interference,
        "gate": (None if c.gate is None else
                 {"result": c.gate, "exit_status": EXIT_STATUS[c.gate],
                  "threshold_only": c.threshold_only}),
        "geomean": {"ratio": c.geomean_ratio, "benchmarks": c.geomean_n},
        "benchmarks": [{"name": r.name, "base_median_s": r.base_s, "new_median_s": r.new_s,
                        "change_pct": r.change_pct, "p_value": r.p_value,
                        "base_repetitions": r.base_n, "new_repetitions": r.new_n,
                        "verdict": r.verdict, "reason": r.reason,
                        "threshold_pct": r.threshold_pct, "gate": r.gate,
                        "base_ci_s": _interval_json(r.base_ci),
                        "new_ci_s": _interval_json(r.new_ci),
                        "change_ci_pct": _interval_json(r.change_ci),
                        "interval_note": r.interval_note,
                        "base_interference": r.base_interference,
                        "new_interference": r.new_interference,
                        "base_flagged": r.base_flagged, "new_flagged": r.new_flagged}
                       for r in c.rows],
        "only_base": c.only_base, "only_new": c.only_new, "not_times": c.not_times,
    }


def regressions(c: Comparison) -> list[Row]:
    """The gated benchmarks that failed."""
    return [r for r in c.rows if r.gate == FAIL]
