"""Change points in one series, by the E-divisive method as Apache Otava (Hunter) runs it:

1. Split. A window slides over the series (half a window per step). In each window the
   candidate is the split that maximises the energy statistic Q of Matteson and James (2014):
   for X = the points of a segment before tau and Y = those from tau to some kappa,
       Q = |X||Y| / (|X|+|Y|) * (2 mean|x-y| - mean|x-x'| - mean|y-y'|),
   maximised over tau and kappa. Student's t-test (two-sided, pooled variance) on the two sides
   of the segment it splits decides whether it is a change; the window's segments are split
   again until a candidate fails. This pass accepts p up to 10 x the final level ("weak" change
   points, as Otava does), so that a change near a window's edge is not lost.
2. Merge. Every weak change point is tested again between its neighbours in the whole series;
   the weakest (highest p above the level, else smallest change below the minimum) is dropped
   and its neighbours retested, until every one left is significant and large enough. Of two
   change points one run apart, the weaker is dropped first: a level lasts two runs at least.

Differences from Otava: distances between all points come from 2-D prefix sums (each Q is
O(1)); the change's size is |exp(mean after - mean before) - 1| on the log scale the caller
gives (parbench passes the log of each run's median, so this is the ratio of the geometric
means). No randomness anywhere: the same series gives the same change points. Pure numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WINDOW = 30  # points per sliding window (Hunter's paper: 30)
# The final significance level of the t-test. Otava's default is 0.001; on 5 x 1,000 stationary
# lognormal series of 60 runs with 3% noise (and a 5% minimum change) 0.001 flagged 0.88% of
# them, 0.0005 flagged 0.50%, while finding a +10% step as often (docs/history.md).
MAX_P = 0.0005
WEAK_FACTOR = 10  # the split pass accepts p up to WEAK_FACTOR * MAX_P
MIN_POINTS = 10  # no change point in a series of fewer points
CONFIRM_AFTER = 3  # a change point is confirmed once this many points follow it


@dataclass(frozen=True)
class Change:
    """A change point: `index` is the first point of the new level."""

    index: int
    p_value: float
    mean_before: float  # on the caller's scale (log): levels are exp(mean)
    mean_after: float
    n_before: int  # the points on each side, up to the neighbouring change points
    n_after: int

    @property
    def ratio(self) -> float:
        """after / before on the linear scale."""
        return math.exp(self.mean_after - self.mean_before)

    @property
    def magnitude(self) -> float:
        """|after/before - 1| measured symmetrically: exp(|log ratio|) - 1."""
        return math.exp(abs(self.mean_after - self.mean_before)) - 1

    @property
    def past(self) -> int:
        """The points after the first one of the new level."""
        return self.n_after - 1

    @property
    def confirmed(self) -> bool:
        return self.past >= CONFIRM_AFTER


def t_test(left: np.ndarray, right: np.ndarray) -> float:
    """Two-sided p of Student's t-test with pooled variance; 1 when nothing can be said (a
    side empty, or no degrees of freedom), 0 when both sides are constant and differ."""
    from scipy.special import stdtr  # the t distribution's CDF, a plain ufunc: fast
    n1, n2 = len(left), len(right)
    df = n1 + n2 - 2
    if n1 == 0 or n2 == 0 or df <= 0:
        return 1.0
    m1, m2 = float(left.mean()), float(right.mean())
    ss = float(((left - m1) ** 2).sum() + ((right - m2) ** 2).sum())
    if ss <= 0:
        return 1.0 if m1 == m2 else 0.0
    t = (m2 - m1) / math.sqrt(ss / df * (1 / n1 + 1 / n2))
    return float(2 * stdtr(df, -abs(t)))


class _Series:
    """A series with the prefix sums of its distance matrix: every energy statistic of any
    split in O(1)."""

    def __init__(self, x: np.ndarray):
        self.x = x
        d = np.abs(x[:, None] - x[None, :])
        self.p = np.zeros((len(x) + 1, len(x) + 1))
        self.p[1:, 1:] = d.cumsum(0).cumsum(1)

    def _rect(self, a, b, c, e):
        """Sum of distances between points a..b-1 and c..e-1 (arrays broadcast)."""
        p = self.p
        return p[b, e] - p[a, e] - p[b, c] + p[a, c]

    def candidate(self, start: int, end: int) -> tuple[int, float] | None:
        """(tau, Q) of the best split of x[start:end]: X = x[start:tau], Y = x[tau:kappa] for
        the kappa that maximises Q; None when the segment has fewer than 2 points."""
        if end - start < 2:
            return None
        taus = np.arange(start + 1, end)[:, None]
        kappas = np.arange(start + 2, end + 1)[None, :]
        valid = kappas > taus
        kappas = np.where(valid, kappas, taus + 1)  # keep indices in range where masked
        nx, ny = (taus - start).astype(float), (kappas - taus).astype(float)
        between = self._rect(start, taus, taus, kappas)
        within_x = self._rect(start, taus, start, taus) / 2
        within_y = self._rect(taus, kappas, taus, kappas) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            ex = np.where(nx > 1, within_x / (nx * (nx - 1) / 2), 0.0)
            ey = np.where(ny > 1, within_y / (ny * (ny - 1) / 2), 0.0)
            q = nx * ny / (nx + ny) * (2 * between / (nx * ny) - ex - ey)
        q = np.where(valid, q, -np.inf)
        i, j = np.unravel_index(int(np.argmax(q)), q.shape)  # the first maximum: deterministic
        return int(taus[i, 0]), float(q[i, j])


def change_between(values, tau: int, start: int, end: int) -> Change:
    """The change at `tau` between the points start..tau-1 and tau..end-1."""
    return _change(np.asarray(values, dtype=float), tau, start, end)


def _change(x: np.ndarray, tau: int, start: int, end: int) -> Change:
    left, right = x[start:tau], x[tau:end]
    return Change(tau, t_test(left, right), float(left.mean()), float(right.mean()),
                  len(left), len(right))


def _segments(points: list[int], start: int, end: int) -> list[tuple[int, int]]:
    bounds = [start] + sorted(points) + [end]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _split_window(s: _Series, start: int, end: int, max_p: float) -> list[int]:
    """The change points of x[start:end]: best candidate over the current segments, kept while
    the t-test between its segment's two sides says it is significant."""
    found: list[int] = []
    while True:
        best = None
        for a, b in _segments(found, start, end):
            cand = s.candidate(a, b)
            if cand is not None and (best is None or cand[1] > best[1]):
                best = (cand[0], cand[1], a, b)
        if best is None:
            return found
        tau, _q, a, b = best
        if _change(s.x, tau, a, b).p_value > max_p:
            return found
        found.append(tau)


def _restats(x: np.ndarray, points: list[int]) -> list[Change]:
    """Each change point tested between its neighbours."""
    bounds = [0] + points + [len(x)]
    return [_change(x, bounds[i + 1], bounds[i], bounds[i + 2]) for i in range(len(points))]


def detect(values, window: int = WINDOW, max_p: float = MAX_P, min_change: float = 0.0,
           min_points: int = MIN_POINTS) -> list[Change]:
    """The change points of `values` (in order), each significant at `max_p` and at least
    `min_change` in size (a fraction: 0.05 = 5%); none when there are fewer than `min_points`
    values."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < max(min_points, 3):
        return []
    s = _Series(x)
    weak: set[int] = set()
    step = max(1, window // 2)
    start = 0
    while start < n:
        end = min(start + window, n)
        found = _split_window(s, start, end, min(1.0, max_p * WEAK_FACTOR))
        weak.update(found)
        start = max(max(found, default=0), start + step)
    points = sorted(weak)
    while points:
        changes = _restats(x, points)
        # A level lasts two runs at least: of two change points one run apart (a run between
        # two levels, or a lone outlier), the weaker goes first.
        close = [c for a, b in zip(changes, changes[1:]) if b.index - a.index < 2
                 for c in (a, b)]
        if close:
            points.remove(max(close, key=lambda c: c.p_value).index)
            continue
        weakest = max(changes, key=lambda c: c.p_value)
        if weakest.p_value <= max_p:
            weakest = min(changes, key=lambda c: c.magnitude)
            if weakest.magnitude >= min_change:
                return changes
        points.remove(weakest.index)
    return []
