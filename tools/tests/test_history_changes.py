"""history changes and history mark, on SQLite and PostgreSQL: a +10% step in a lognormal
series with 3% noise is found at its run within 3 later runs; stationary series get (almost)
no change point; the same input gives the same output; a disturbed +50% run is never a change
point; marks are kept, and "expected" restarts the series. The change-point method itself
(changepoint.py) is also checked on its own, on many series."""

import json

import numpy as np
import pytest
from conftest import synthetic_run

from parbench_tools import changepoint as cpd

STEP = "synthetic/step"


def _levels(seed: int, n: int = 60, step_at: int | None = 40, step: float = 0.10):
    """A lognormal series with 3% noise around 100 ns, +step from run `step_at` on."""
    rng = np.random.default_rng(seed)
    levels = 100e-9 * rng.lognormal(0, 0.03, n)
    if step_at is not None:
        levels[step_at:] *= 1 + step
    return levels


def _add(cli, db, path, i):
    status, _, err = cli("history", "add", "--db", db, path, "--order", str(i))
    assert status == 0, err


def _changes(cli, db, *args):
    status, out, err = cli("history", "changes", "--db", db, "--format", "json", *args)
    assert status in (0, 1), err
    return status, json.loads(out)


def _series(result, name):
    return next(s for s in result["series"] if s["name"] == name and s["metric"] == "real_time")


def test_a_10_percent_step_at_run_40_is_found_within_3_later_runs(cli, db, tmp_path):
    levels = _levels(2026)
    for i in range(44):
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: levels[i]}), i)
        if i < 39:
            continue
        status, result = _changes(cli, db)
        found = _series(result, STEP)["change_points"]
        confirmed = [c for c in found if c["confirmed"]]
        if i < 43:  # fewer than 3 runs past run 40: nothing confirmed, nothing open
            assert status == 0 and not confirmed, (i, found)
    assert status == 1, "an open confirmed regression"
    (c,) = confirmed
    first_bad = int(c["first_bad"], 16)
    assert 39 <= first_bad <= 41
    assert int(c["last_good"], 16) == first_bad - 1, "what to bisect: adjacent revisions"
    assert c["regression"] and c["change_pct"] == pytest.approx(10, abs=4)
    assert c["p_value"] <= cpd.MAX_P and c["runs_after"] >= 4
    assert c["before"] == pytest.approx(100e-9, rel=0.03)


def test_the_same_input_gives_the_same_output(cli, db, tmp_path):
    levels = _levels(7, n=30, step_at=20, step=0.3)
    for i in range(30):
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: levels[i]}), i)
    _, first = _changes(cli, db, "--points")
    _, again = _changes(cli, db, "--points")
    assert first == again
    assert [int(c["first_bad"], 16) for c in _series(first, STEP)["change_points"]] == [20]
    status, md1, _ = cli("history", "changes", "--db", db)
    status, md2, _ = cli("history", "changes", "--db", db)
    assert md1 == md2 and "regression, confirmed, open" in md1


def test_a_disturbed_50_percent_run_is_never_a_change_point(cli, db, tmp_path):
    levels = _levels(11, n=30, step_at=None)
    for i in range(30):
        level = levels[i] * (1.5 if i == 20 else 1)
        noise = {STEP: 0.5} if i == 20 else None
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: level},
                                    interference=noise), i)
    status, result = _changes(cli, db, "--points")
    series = _series(result, STEP)
    assert status == 0 and series["change_points"] == []
    assert [int(p["revision"], 16) for p in series["disturbed_runs"]] == [20]
    assert series["clean_runs"] == 29 and len(series["points"]) == 30


def test_fewer_than_10_clean_runs_have_no_change_point(cli, db, tmp_path):
    for i in range(9):
        level = 100e-9 * (2 if i >= 5 else 1)
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: level}), i)
    status, result = _changes(cli, db)
    series = _series(result, STEP)
    assert status == 0 and series["change_points"] == []
    assert "9 clean run(s): change points need 10" in series["note"]


def test_marks_are_kept_and_expected_restarts_the_series(cli, db, tmp_path):
    levels = _levels(5, n=40, step_at=20, step=0.3)
    for i in range(40):
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: levels[i]}), i)
    status, result = _changes(cli, db)
    (c,) = _series(result, STEP)["change_points"]
    assert status == 1 and c["status"] == "open"
    status, out, err = cli("history", "mark", "--db", db, c["id"][:8], "expected",
                           "--note", "the new default")
    assert status == 0, err
    assert "marked expected" in out
    status, result = _changes(cli, db)
    (again,) = _series(result, STEP)["change_points"]
    assert status == 0, "an expected change is not an open regression"
    assert again["id"] == c["id"] and again["status"] == "expected"
    assert again["first_bad"] == c["first_bad"]
    # After the restart the new level is the baseline: a return to the old level is found.
    for i in range(40, 50):
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: 100e-9}), i)
    status, result = _changes(cli, db)
    found = _series(result, STEP)["change_points"]
    assert [x["status"] for x in found] == ["expected", "open"]
    status, _, err = cli("history", "changes", "--db", db, "--plot", str(tmp_path / "plots"))
    assert "wrote 2 files" in err, "the one series with change points, PNG and SVG"
    svg = next((tmp_path / "plots").glob("real_time_synthetic_step_*.svg")).read_text()
    assert "synthetic/step" in svg and "expected" in svg
    assert not found[1]["regression"] and status == 0, "an improvement is not a regression"
    status, _, err = cli("history", "mark", "--db", db, "ffffffff", "fixed")
    assert status == 2 and "matches no change point" in err


def test_a_threshold_file_sets_the_minimum_change(cli, db, tmp_path):
    levels = _levels(5, n=40, step_at=20, step=0.3)
    for i in range(40):
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i,
                                    {STEP: levels[i], "synthetic/other": levels[i]}), i)
    rules = tmp_path / "thresholds"
    rules.write_text("^synthetic/step 50  # only a change of 50% counts here\n"
                     "^synthetic/other off\n")
    status, result = _changes(cli, db, "--threshold-file", str(rules))
    assert status == 0
    assert _series(result, STEP)["change_points"] == []
    assert _series(result, "synthetic/other")["min_change_pct"] is None


def test_executor_series_get_change_points(cli, db, tmp_path):
    rng = np.random.default_rng(3)
    for i in range(30):
        serial = 1e-6 * rng.lognormal(0, 0.02)
        threads = serial / (1.8 if i < 15 else 1.2) * rng.lognormal(0, 0.02)
        path = synthetic_run(tmp_path / f"r{i}.json", i, {"cpu/serial": serial,
                                                          "cpu/threads/workers:2": threads})
        _add(cli, db, path, i)
    status, result = _changes(cli, db)
    speedup = next(s for s in result["series"] if s["metric"] == "speedup")
    assert speedup["name"] == "cpu threads workers:2"
    (c,) = speedup["change_points"]
    assert int(c["first_bad"], 16) == 15 and c["regression"] and c["change_pct"] < -25
    assert status == 1


# --- the method on its own, on many series ---------------------------------------------------

def test_of_1000_stationary_series_at_most_1_percent_get_a_change_point():
    rng = np.random.default_rng(22)
    flagged = sum(bool(cpd.detect(np.log(rng.lognormal(0, 0.03, 60)), min_change=0.05))
                  for _ in range(1000))
    assert flagged <= 10


def test_steps_are_found_at_their_run_on_most_series():
    rng = np.random.default_rng(40)
    soon = late = 0
    for _ in range(200):
        x = np.log(rng.lognormal(0, 0.03, 60))
        x[40:] += np.log(1.10)
        soon += any(abs(c.index - 40) <= 1 and c.confirmed
                    for c in cpd.detect(x[:44], min_change=0.05))
        late += any(abs(c.index - 40) <= 1 for c in cpd.detect(x, min_change=0.05))
    assert soon >= 160, "within 3 runs past the step, on at least 80% of the series"
    assert late >= 190, "with 20 runs past it, on at least 95%"


def test_detection_is_deterministic_and_needs_10_points():
    x = np.log(_levels(1, n=50, step_at=25, step=0.2))
    assert cpd.detect(x) == cpd.detect(x.copy())
    assert cpd.detect(x[:9]) == []
    assert [c.index for c in cpd.detect(x)] == [25]


def test_of_1000_stationary_stored_series_at_most_1_percent_get_a_change_point(
        cli, db, tmp_path):
    rng = np.random.default_rng(1000)
    levels = 100e-9 * rng.lognormal(0, 0.03, (60, 1000))
    for i in range(60):
        path = synthetic_run(tmp_path / f"r{i}.json", i,
                             {f"stationary/{k}": levels[i, k] for k in range(1000)}, reps=2,
                             rep_noise=0)
        _add(cli, db, path, i)
    status, result = _changes(cli, db, "--no-executor-series")
    series = [s for s in result["series"] if s["name"].startswith("stationary/")]
    assert len(series) == 1000 and all(s["clean_runs"] == 60 for s in series)
    assert sum(bool(s["change_points"]) for s in series) <= 10


def test_a_change_of_workload_parameters_restarts_the_series(cli, db, tmp_path):
    levels = _levels(9, n=30, step_at=15, step=0.3)
    for i in range(30):
        context = {"parbench_tasks": "8" if i >= 15 else "4"}
        if i >= 10:  # a flag a newer bench added, at its default: no change
            context["parbench_new_flag"] = "1"
        _add(cli, db, synthetic_run(tmp_path / f"r{i}.json", i, {STEP: levels[i]},
                                    context=context), i)
    status, result = _changes(cli, db)
    series = _series(result, STEP)
    assert status == 0 and series["change_points"] == []
    (restart,) = series["parameter_changes"]
    assert restart["revision"] == f"{15:012x}" and restart["changed"] == ["tasks: 4 vs 8"]
    status, out, _ = cli("history", "changes", "--db", db)
    assert "1 restart(s) where a series' workload parameters changed" in out
