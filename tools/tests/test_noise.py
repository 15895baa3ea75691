"""A run whose noise probe saw a busy machine is flagged by every tool that reads speed."""

import json

import pytest
from conftest import fixture

WARNING = "noise probe measured a parallel efficiency of 0.62"


def _noisy(tmp_path, name="run.json"):
    with open(fixture(name), encoding="utf-8") as f:
        data = json.load(f)
    data["context"]["parbench_noise_efficiency"] = "0.62"
    path = tmp_path / f"noisy-{name}"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", ["speedup", "goals", "compare", "report"])
def test_a_noisy_run_is_flagged_and_a_quiet_one_is_not(cli, tmp_path, command):
    def output(run):
        args = {
            "speedup": ["speedup", run],
            "goals": ["goals", run],
            "compare": ["compare", fixture("run.json"), run],
            "report": ["report", run, "--out", str(tmp_path / "r.html")],
        }[command]
        _, out, _ = cli(*args)
        return (tmp_path / "r.html").read_text(encoding="utf-8") if command == "report" else out

    assert WARNING in output(_noisy(tmp_path))
    assert "noise probe measured" not in output(fixture("run.json"))  # its probe read 0.986
