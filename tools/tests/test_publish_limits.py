"""The executors page's crossover as a trend with change points, and the machines page's
choice of run (latest undisturbed) and file names (no absolute paths)."""

from types import SimpleNamespace

from parbench_tools.publish_executors import crossover_changes
from parbench_tools.publish_machines import chosen_run, file_name


def test_a_crossover_step_is_a_change_point_with_its_revision_range():
    points = [[i, 2 if i < 14 else 4, 8] for i in range(1, 21)]
    out = crossover_changes(points)
    assert len(out["change_points"]) == 1
    c = out["change_points"][0]
    assert (c["last_good"], c["first_bad"]) == (13, 14)
    assert (c["before"], c["after"], c["change_pct"]) == (2, 4, 100)
    assert c["confirmed"] and out["note"] is None


def test_a_steady_crossover_and_runs_without_one_give_no_change_point():
    points = [[i, 2, 8] for i in range(1, 13)] + [[13, None, 8], [14, 2, 8]]
    out = crossover_changes(points)
    assert out["change_points"] == [] and out["points"] == points
    few = crossover_changes([[1, None, 8], [2, 2, 8]])
    assert few["change_points"] == [] and "1 run(s) with a crossover" in few["note"]


def test_a_machine_is_summarized_by_its_latest_undisturbed_run():
    runs = [SimpleNamespace(id=i) for i in (1, 2, 3)]
    assert chosen_run(runs, {}) == (3, "latest run")
    run_id, why = chosen_run(runs, {3: 2})
    assert run_id == 2 and "latest undisturbed run" in why and "1 later disturbed" in why
    run_id, why = chosen_run(runs, {1: 1, 2: 3, 3: 1})
    assert run_id == 3 and "no undisturbed run" in why


def test_the_site_names_source_files_without_their_folders():
    assert file_name("/" + "/".join(("srv", "someone", "run.json"))) == "run.json"
    assert file_name("C:\\runs\\a b.json") == "a b.json"
    assert file_name("results/history/runs.tar.xz:f7a689d-2.json") == "runs.tar.xz:f7a689d-2.json"
    assert file_name("") == "?"
