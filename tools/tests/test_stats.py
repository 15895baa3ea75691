"""Intervals from the repetitions: the median's from order statistics (checked against known
tables and an exact enumeration), a ratio's from the two medians' intervals, and what the
tables print with too few repetitions."""

import copy
import itertools
import json
import math
import re

import pytest
from conftest import fixture, load_fixture, planted, write_json

from parbench_tools.gbench import load_run
from parbench_tools.speedup import speedup_tables
from parbench_tools.stats import (median_interval, median_ranks, ratio_interval, ratio_level,
                                  repetitions_needed)


@pytest.mark.parametrize("n,confidence,expected", [
    (5, 0.95, None),  # [min, max] of 5 holds the median with 1 - 2/32 = 0.9375 only
    (6, 0.95, (1, 6, 1 - 2 / 64)),
    (8, 0.95, (1, 8, 1 - 2 / 256)),  # ranks 2..7 would hold with 0.93 only
    (9, 0.95, (2, 8, 1 - 2 * 10 / 512)),
    (10, 0.95, (2, 9, 1 - 2 * 11 / 1024)),
    (20, 0.95, (6, 15, None)),  # the textbook ranks for n = 20
    (5, 0.90, (1, 5, 1 - 2 / 32)),
    (7, 0.975, (1, 7, 1 - 2 / 128)),
    (1, 0.5, None),
])
def test_median_ranks_match_the_binomial_tables(n, confidence, expected):
    got = median_ranks(n, confidence)
    if expected is None:
        assert got is None
        return
    low, high, coverage = expected
    assert got[:2] == (low, high)
    if coverage is not None:
        assert got[2] == pytest.approx(coverage)
    assert got[2] >= confidence


@pytest.mark.parametrize("n", range(2, 11))
def test_the_coverage_is_exact_over_every_sign_pattern(n):
    # X(k) <= median <= X(n+1-k) holds exactly when at least k samples fall on each side of
    # the median; each sample falls below it with probability 1/2, independently.
    ranks = median_ranks(n, 0.5)
    assert ranks is not None
    k, _, coverage = ranks
    patterns = list(itertools.product((0, 1), repeat=n))
    holds = sum(1 for p in patterns if sum(p) >= k and n - sum(p) >= k)
    assert coverage == pytest.approx(holds / len(patterns))


def test_repetitions_needed():
    assert repetitions_needed(0.95) == 6
    assert repetitions_needed(ratio_level(0.95)) == 7  # 97.5% for each side of a ratio
    assert repetitions_needed(0.90) == 5
    assert ratio_level(0.95) == pytest.approx(0.975)


def test_median_interval_on_small_samples():
    assert median_interval([1.0], 0.95) is None
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0], 0.95) is None
    ci = median_interval([6.0, 1.0, 4.0, 2.0, 3.0, 5.0], 0.95)
    assert (ci.low, ci.high) == (1.0, 6.0) and ci.coverage == pytest.approx(0.96875)
    ci = median_interval([float(x) for x in range(10, 0, -1)], 0.95)
    assert (ci.low, ci.high) == (2.0, 9.0)


def test_a_ratio_interval_divides_the_opposite_ends():
    base = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]  # 7 each: [min, max] at 97.5%
    new = [4.0, 5.0, 5.5, 6.0, 6.5, 7.0, 8.0]
    ci = ratio_interval(base, new, 0.95)
    assert (ci.low, ci.high) == (10.0 / 8.0, 16.0 / 4.0)
    assert ci.low <= 13.0 / 6.0 <= ci.high  # holds the ratio of the medians
    assert ci.coverage == pytest.approx(1 - 2 * (2 / 128)) and ci.coverage >= 0.95
    assert ratio_interval(base[:6], new, 0.95) is None  # 6 cannot give 97.5%
    assert ratio_interval(base, [0.0] * 7, 0.95) is None


def _more_repetitions(data: dict, copies: int) -> dict:
    """reps6.json with each benchmark's repetitions repeated `copies` times (scaled a little,
    so they are not ties): a run with 6 × copies repetitions."""
    data = copy.deepcopy(data)
    extra = []
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        for i in range(1, copies):
            twin = copy.deepcopy(b)
            twin["real_time"] *= 1 + 0.001 * i
            twin["repetition_index"] = b["repetition_index"] + 6 * i
            extra.append(twin)
    data["benchmarks"] += extra
    return data


def test_speedup_cells_show_intervals_or_the_widest_the_repetitions_give_with_its_level(
        cli, tmp_path):
    # 1 repetition: no interval at all.
    _, out, _ = cli("speedup", fixture("granularity.json"))
    assert "one repetition: no interval" in out and " [" not in out.split("### ")[1]
    # 6: the medians' 95% intervals; the speedup's from the two [min, max] (each 96.9%), so
    # it holds with 94%, which the cell says.
    _, out, _ = cli("speedup", write_json(tmp_path, "six.json", planted(load_fixture(
        "reps6.json"))))
    assert "not enough repetitions" not in out
    row = next(line for line in out.splitlines() if line.startswith("| threads |"))
    assert re.search(r"\| [\d.]+× \[[\d.]+, [\d.]+\] 94% \(eff ", row), row
    assert re.search(r"serial: [\d.]+ \S+ \[[\d.]+ \S+, [\d.]+ \S+\] per iteration", out)
    # 12: every interval, and the speedup's holds the speedup.
    path = write_json(tmp_path, "twelve.json", _more_repetitions(planted(load_fixture(
        "reps6.json")), 2))
    _, out, _ = cli("speedup", path)
    assert "not enough repetitions" not in out
    row = next(line for line in out.splitlines() if line.startswith("| threads |"))
    assert re.search(r"\| [\d.]+× \[[\d.]+, [\d.]+\] \(eff ", row), row
    run = load_run(path)
    cell = next(t for t in speedup_tables(run) if t.label == "cpu").cell("threads", 2)
    assert cell.speedup_ci.low <= cell.speedup <= cell.speedup_ci.high
    records = json.loads(cli("speedup", path, "--format", "json")[1])
    record = next(r for r in records if r["executor"] == "threads")
    assert math.isclose(record["speedup_ci_low"], cell.speedup_ci.low)
    assert record["median_ci_low_s"] <= record["median_s"] <= record["median_ci_high_s"]


def test_compare_shows_the_same_intervals(cli, tmp_path):
    six = write_json(tmp_path, "six.json", planted(load_fixture("reps6.json")))
    _, out, _ = cli("compare", six, six)
    assert "| change's 95% interval |" in out
    assert "| not enough repetitions (n=6) |" in out
    twelve = write_json(tmp_path, "twelve.json", _more_repetitions(planted(load_fixture(
        "reps6.json")), 2))
    _, out, _ = cli("compare", twelve, twelve)
    row = next(line for line in out.splitlines() if line.startswith("| `cpu/serial`"))
    assert re.search(r"\| \[-[\d.]+%, \+[\d.]+%\] \|", row), row
    result = json.loads(cli("compare", twelve, twelve, "--format", "json")[1])
    serial = next(b for b in result["benchmarks"] if b["name"] == "cpu/serial")
    low, high = serial["change_ci_pct"]
    assert low <= 0 <= high and serial["base_ci_s"] == serial["new_ci_s"]
    status, _, err = cli("compare", twelve, twelve, "--confidence", "1.5")
    assert status == 2 and "--confidence" in err and err.count("\n") == 1
