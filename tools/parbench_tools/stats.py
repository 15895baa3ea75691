"""Distribution-free confidence intervals from the repetitions of a benchmark: the median's
interval from order statistics (the binomial argument), and the interval of a ratio of two
medians (a speedup, a change) from the two medians' intervals. Pure functions, no numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95  # the default level of every interval the tools print


@dataclass(frozen=True)
class Interval:
    """[low, high] that holds the true value with probability >= coverage."""

    low: float
    high: float
    coverage: float


def _binomial_cdf_half(k: int, n: int) -> float:
    """P(Bin(n, 1/2) <= k), exactly (n is a number of repetitions: small)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(min(k, n) + 1)) / 2.0 ** n


def median_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int, float] | None:
    """The ranks (1-based) of the order statistics that bound the median of n samples with
    probability >= confidence, and that probability; None when even [min, max] is not enough.

    X(k) <= median <= X(n+1-k) fails only when fewer than k samples lie below the median or
    fewer than k above it, so it holds with probability 1 - 2 P(Bin(n, 1/2) <= k-1) for any
    continuous distribution. The narrowest such interval takes the largest k that keeps this at
    or above `confidence`."""
    if n < 1:
        return None
    best = None
    for k in range(1, (n + 1) // 2 + 1):
        coverage = 1.0 - 2.0 * _binomial_cdf_half(k - 1, n)
        if coverage < confidence:
            break
        best = (k, n + 1 - k, coverage)
    return best


def repetitions_needed(confidence: float = CONFIDENCE) -> int:
    """The fewest repetitions whose [min, max] holds the median with >= confidence."""
    n = 1
    while median_ranks(n, confidence) is None:
        n += 1
    return n


def median_interval(values: list[float], confidence: float = CONFIDENCE) -> Interval | None:
    """The distribution-free interval of the median of `values`; None with too few values."""
    ranks = median_ranks(len(values), confidence)
    if ranks is None:
        return None
    low, high, coverage = ranks
    ordered = sorted(values)
    return Interval(ordered[low - 1], ordered[high - 1], coverage)


def widest_interval(values: list[float]) -> Interval | None:
    """[min, max] of `values` and the probability it holds the median (1 - 2 / 2^n): what
    the repetitions give when too few for the asked level (n = 3: 75%, n = 5: 93.8%); None
    with fewer than 2 values."""
    if len(values) < 2:
        return None
    return Interval(min(values), max(values), 1.0 - 2.0 * 0.5 ** len(values))


def best_median_interval(values: list[float], confidence: float = CONFIDENCE) -> Interval | None:
    """The median's interval at `confidence`, else the widest the values give (lower
    coverage, which the caller prints); None with fewer than 2 values."""
    return median_interval(values, confidence) or widest_interval(values)


def best_ratio_interval(numerator: list[float], denominator: list[float],
                        confidence: float = CONFIDENCE) -> Interval | None:
    """ratio_interval at `confidence`, else the ratio of the two widest intervals, holding with
    probability >= 1 - the two misses (n = 3 and 3: 50%; 5 and 5: 87.5%); None with fewer than 2
    values on a side or a denominator that reaches 0."""
    exact = ratio_interval(numerator, denominator, confidence)
    if exact is not None:
        return exact
    level = ratio_level(confidence)
    num = median_interval(numerator, level) or widest_interval(numerator)
    den = median_interval(denominator, level) or widest_interval(denominator)
    if num is None or den is None or den.low <= 0:
        return None
    coverage = 1.0 - (1.0 - num.coverage) - (1.0 - den.coverage)
    return Interval(num.low / den.high, num.high / den.low, coverage)


def ratio_level(confidence: float = CONFIDENCE) -> float:
    """The level of each median's interval for a ratio interval that holds with >= confidence:
    each side may miss with (1 - confidence) / 2 (Bonferroni: no independence assumed)."""
    return 1.0 - (1.0 - confidence) / 2.0


def ratio_interval(numerator: list[float], denominator: list[float],
                   confidence: float = CONFIDENCE) -> Interval | None:
    """The interval of median(numerator) / median(denominator): [num low / den high,
    num high / den low] from each median's interval at ratio_level(confidence). When both
    intervals hold, so does this one: it holds with probability >= confidence. None with too
    few values on a side, or a denominator interval that reaches 0."""
    level = ratio_level(confidence)
    num = median_interval(numerator, level)
    den = median_interval(denominator, level)
    if num is None or den is None or den.low <= 0:
        return None
    coverage = 1.0 - (1.0 - num.coverage) - (1.0 - den.coverage)
    return Interval(num.low / den.high, num.high / den.low, coverage)
