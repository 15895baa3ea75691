"""Comparing two runs benchmark by benchmark: medians, change, a Mann-Whitney U test, a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .gbench import Run
from .speedup import format_seconds

ALPHA = 0.05  # significance level of the Mann-Whitney U test


@dataclass
class Row:
    name: str
    base_s: float | None
    new_s: float | None
    change_pct: float | None
    p_value: float | None
    verdict: str
    base_n: int = 0
    new_n: int = 0


@dataclass
class Comparison:
    rows: list[Row]
    only_base: list[str]
    only_new: list[str]
    geomean_ratio: float | None  # new / base over the benchmarks compared


def _mann_whitney(a: list[float], b: list[float]) -> float:
    from scipy.stats import mannwhitneyu  # scipy only where the test runs
    if len(set(a) | set(b)) == 1:
        return 1.0  # every sample equal: nothing to test
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def compare(base: Run, new: Run) -> Comparison:
    rows = []
    ratios = []
    for name, b in base.benchmarks.items():
        n = new.benchmarks.get(name)
        if n is None:
            continue
        if b.error or n.error or not b.samples or not n.samples:
            why = b.error or n.error or "no measurements"
            rows.append(Row(name, None, None, None, None, f"error: {why}"))
            continue
        base_s, new_s = b.median, n.median
        change = (new_s - base_s) / base_s * 100 if base_s > 0 else None
        p = None
        if len(b.samples) >= 2 and len(n.samples) >= 2:
            p = _mann_whitney(b.samples, n.samples)
            if p < ALPHA and change is not None and change != 0:
                verdict = "slower" if change > 0 else "faster"
            else:
                verdict = "no significant change"
        else:
            verdict = "not tested (needs 2+ repetitions on both sides)"
        if base_s > 0 and new_s > 0:
            ratios.append(new_s / base_s)
        rows.append(Row(name, base_s, new_s, change, p, verdict, len(b.samples), len(n.samples)))
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else None
    return Comparison(
        rows,
        [name for name in base.benchmarks if name not in new.benchmarks],
        [name for name in new.benchmarks if name not in base.benchmarks],
        geomean,
    )


def regressions(c: Comparison, threshold_pct: float) -> list[Row]:
    """Benchmarks significantly slower by more than threshold_pct."""
    return [r for r in c.rows
            if r.verdict == "slower" and r.change_pct is not None and r.change_pct > threshold_pct]


def to_markdown(c: Comparison, base_path: str, new_path: str, threshold: float | None) -> str:
    out = [f"## parbench: `{new_path}` against `{base_path}`", ""]
    if c.geomean_ratio is not None:
        change = (c.geomean_ratio - 1) * 100
        out.append(f"Geometric mean of new/base over {len(c.rows)} benchmarks: "
                   f"**{c.geomean_ratio:.3f}** ({change:+.1f}%).")
    counts = {v: sum(1 for r in c.rows if r.verdict == v) for v in ("slower", "faster")}
    out.append(f"{counts['slower']} significantly slower, {counts['faster']} significantly faster "
               f"(Mann-Whitney U, two-sided, p < {ALPHA}).")
    if threshold is not None:
        bad = regressions(c, threshold)
        out.append(f"Gate: {len(bad)} benchmark(s) significantly slower by more than {threshold:g}%"
                   f" — **{'FAIL' if bad else 'pass'}**.")
    out += ["", "| benchmark | base | new | change | p | verdict |", "|---|---|---|---|---|---|"]
    for r in c.rows:
        base = format_seconds(r.base_s) if r.base_s is not None else "—"
        new = format_seconds(r.new_s) if r.new_s is not None else "—"
        change = f"{r.change_pct:+.1f}%" if r.change_pct is not None else "—"
        p = f"{r.p_value:.3g}" if r.p_value is not None else "—"
        out.append(f"| `{r.name}` | {base} | {new} | {change} | {p} | {r.verdict} |")
    for title, names in (("Only in base", c.only_base), ("Only in new", c.only_new)):
        if names:
            out += ["", f"{title} ({len(names)}): " + ", ".join(f"`{n}`" for n in names)]
    return "\n".join(out) + "\n"
