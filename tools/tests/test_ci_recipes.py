"""The shipped CI recipes work: .github/workflows/parbench.yml and
docs/examples/ci/gitlab-ci.yml are parsed, and their commands run here as CI runs them, on two
small runs of the real bench (a push to main, then a pull or merge request). Building and
running bench is replaced by copying the run; GitHub's `uses:` actions are not run. The data
branch is pushed to a real (local, bare) git remote; GitLab's cache is a folder carried from
pipeline to pipeline as the cache policy says. Each gate's exit status is checked."""

import os
import re
import shutil
import subprocess

import pytest
from conftest import load_fixture, planted, write_json

yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "parbench.yml")
GITLAB = os.path.join(ROOT, "docs", "examples", "ci", "gitlab-ci.yml")
BENCHER = os.path.join(ROOT, "docs", "examples", "ci", "bencher.yml")
# The steps that build and measure: replaced by copying a committed run to quick.json.
BUILDS = ("Install and build", "Quick suite")


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def checkout(tmp_path):
    """A checkout like CI's: tools/ from this tree, one commit, and a bare 'origin'."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    work.mkdir()
    _git(tmp_path, "init", "-q", "--bare", str(origin))
    os.symlink(os.path.join(ROOT, "tools"), work / "tools")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    _git(work, "init", "-q", "-b", "main")
    (work / "README").write_text("a project\n")
    _git(work, "add", "README")
    subprocess.run(["git", "commit", "-qm", "first"], cwd=work, check=True,
                   env=dict(os.environ, **env))
    _git(work, "remote", "add", "origin", str(origin))
    _git(work, "push", "-q", "origin", "main")
    return work


def _runs(tmp_path):
    """Two small runs of the real bench (quiet): the second 30% slower on cpu/threads."""
    first = planted(load_fixture("reps6.json"))
    second = planted(load_fixture("reps6.json"))
    second["context"]["date"] = "2026-11-26T09:00:00+00:00"
    for b in second["benchmarks"]:
        if b["name"].startswith("cpu/threads"):
            b["real_time"] *= 1.3
    return write_json(tmp_path, "run1.json", first), write_json(tmp_path, "run2.json", second)


def _bash(script, cwd, env):
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


# --- GitHub Actions ----------------------------------------------------------------------------

def _outputs(path) -> dict:
    out = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for line in lines:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def _expand(value: str, outputs: dict) -> str:
    """${{ steps.ID.outputs.NAME }} from the steps run so far (the only expression run-steps'
    env uses)."""
    def one(m):
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", m.group(1).strip())
        assert found, f"the test does not evaluate ${{{{ {m.group(1)} }}}}"
        return outputs.get(found.group(1), {}).get(found.group(2), "")
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def _github_job(workflow, checkout, run, event):
    """Runs the bench job's run-steps as GitHub would for `event`: {step id or name: exit}."""
    env = dict(os.environ, GITHUB_EVENT_NAME=event, GITHUB_SHA="0" * 40,
               GITHUB_REF_NAME="main", **{k: str(v) for k, v in workflow["env"].items()},
               GIT_CONFIG_GLOBAL=str(checkout.parent / "gitconfig"))  # not the user's
    summary = checkout / "summary.md"
    statuses, outputs = {}, {}
    for step in workflow["jobs"]["bench"]["steps"]:
        name = step.get("id") or step.get("name") or step.get("uses")
        if "uses" in step:
            continue
        if step["name"].startswith(BUILDS):
            shutil.copy(run, checkout / "quick.json")
            continue
        assert "if" not in step, "run-steps decide on the event themselves ($GITHUB_EVENT_NAME)"
        out_file = checkout / f"output-{len(statuses)}"
        step_env = dict(env, GITHUB_OUTPUT=str(out_file), GITHUB_STEP_SUMMARY=str(summary),
                        **{k: _expand(v, outputs) for k, v in step.get("env", {}).items()})
        result = _bash(step["run"], checkout, step_env)
        statuses[name] = result.returncode
        outputs[step.get("id", name)] = _outputs(out_file)
        if result.returncode != 0:  # GitHub stops at the first failing step
            return statuses, outputs, result
    return statuses, outputs, None


def _store_runs(checkout):
    """The runs in the store on origin's data branch."""
    import sqlalchemy as sa
    origin = checkout.parent / "origin.git"
    data = subprocess.run(["git", "--git-dir", str(origin), "show",
                           "parbench-history:history.sqlite"], capture_output=True, check=True)
    path = checkout.parent / "fetched.sqlite"
    path.write_bytes(data.stdout)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("select count(*) from runs")).scalar()
    engine.dispose()
    return n


def test_the_github_workflow_runs_on_two_runs(checkout, tmp_path):
    with open(WORKFLOW, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads 'on' as true
    first, second = _runs(tmp_path)

    statuses, outputs, failed = _github_job(workflow, checkout, first, "push")
    assert failed is None, failed and failed.stderr
    assert outputs["gate"]["status"] == "3", "an empty store: inconclusive, never a pass"
    assert "no run of branch main is stored" in (checkout / "gate.md").read_text()
    assert _store_runs(checkout) == 1, "the push's run is on the data branch"
    for export in ("times.json", "speedups.json"):
        assert (checkout / export).stat().st_size > 0
    assert "Change points" in (checkout / "changes.md").read_text()

    for name in ("quick.json", "times.json", "speedups.json", "gate.md", "changes.md"):
        (checkout / name).unlink()
    shutil.rmtree(checkout / "history")
    statuses, outputs, failed = _github_job(workflow, checkout, second, "pull_request")
    assert failed is None, failed and failed.stderr
    assert outputs["gate"]["status"] == "3", "one stored run: too few for a baseline"
    assert "1 clean run(s) in the baseline: needs 5" in (checkout / "gate.md").read_text()
    assert _store_runs(checkout) == 1, "a pull request does not write the store"
    assert not (checkout / "times.json").exists(), "nor publish"
    verdict = [v for k, v in statuses.items() if k.startswith("Verdict")]
    assert verdict == [0], "inconclusive is a warning, not a failure"


def test_the_github_verdict_fails_on_a_regression(checkout):
    with open(WORKFLOW, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    step = next(s for s in workflow["jobs"]["bench"]["steps"]
                if s.get("name", "").startswith("Verdict"))
    for gate, expected in (("0", 0), ("1", 1), ("2", 1), ("3", 0)):
        result = _bash(step["run"], checkout, dict(os.environ, GATE=gate))
        assert result.returncode == expected, (gate, result.stdout)


def test_the_ab_job_pools_interleaved_rounds(checkout, tmp_path):
    with open(WORKFLOW, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    first, second = _runs(tmp_path)
    (checkout / "ab").mkdir()
    for i in range(1, 3):
        shutil.copy(first, checkout / "ab" / f"base-{i}.json")
        shutil.copy(second, checkout / "ab" / f"head-{i}.json")
    step = workflow["jobs"]["ab"]["steps"][-1]
    result = _bash(step["run"], checkout, dict(os.environ))
    report = (checkout / "ab.md").read_text()
    assert result.returncode == 1, result.stderr
    assert "`cpu/threads/workers:2`" in report and "**FAIL**" in report


# --- GitLab CI ---------------------------------------------------------------------------------

def _rules_pass(job: dict, variables: dict) -> bool:
    """The recipe's rules: '$A == $B' comparisons of CI variables."""
    for rule in job.get("rules", [{}]):
        condition = rule.get("if")
        if condition is None:
            return True
        left, right = (v.strip() for v in condition.split("=="))
        value = (lambda s: variables.get(s[1:], "") if s.startswith("$") else s.strip('"'))
        if value(left) == value(right):
            return True
    return False


def _gitlab_pipeline(recipe, checkout, cache, run, variables):
    """Runs the pipeline's jobs in stage order: {job: exit status}. The cache folder is put in
    place before each job with a cache and saved after it when its policy is pull-push."""
    statuses = {}
    env = dict(os.environ, **{k: str(v) for k, v in recipe["variables"].items()}, **variables)
    jobs = [(name, job) for name, job in recipe.items()
            if isinstance(job, dict) and "script" in job and not name.startswith(".")]
    for stage in recipe["stages"]:
        for name, job in jobs:
            if job["stage"] != stage or not _rules_pass(job, variables):
                continue
            if name == "bench":
                shutil.copy(run, checkout / "quick.json")
                continue
            cached = job.get("cache")
            if cached:
                shutil.rmtree(checkout / "history", ignore_errors=True)
                if os.path.isdir(cache):
                    shutil.copytree(cache, checkout / "history")
            result = _bash("\n".join(job["script"]), checkout, env)
            statuses[name] = result.returncode
            if cached and cached.get("policy") == "pull-push" and result.returncode == 0:
                shutil.rmtree(cache, ignore_errors=True)
                shutil.copytree(checkout / "history", cache)
            allowed = job.get("allow_failure", {}).get("exit_codes", [])
            assert result.returncode in [0] + allowed or name == "gate", result.stderr
    return statuses


def test_the_gitlab_recipe_runs_on_two_runs(checkout, tmp_path):
    with open(GITLAB, encoding="utf-8") as f:
        recipe = yaml.safe_load(f)
    cache = tmp_path / "cache"
    first, second = _runs(tmp_path)
    main = {"CI_DEFAULT_BRANCH": "main", "CI_COMMIT_BRANCH": "main",
            "CI_PIPELINE_SOURCE": "push"}
    statuses = _gitlab_pipeline(recipe, checkout, cache, first, main)
    assert statuses == {"gate": 3, "store": 0}
    assert 3 in recipe["gate"]["allow_failure"]["exit_codes"], "inconclusive: a warning"
    assert os.path.exists(cache / "history.sqlite")
    assert (checkout / "bmf.json").stat().st_size > 0
    merge = {"CI_DEFAULT_BRANCH": "main", "CI_MERGE_REQUEST_IID": "1",
             "CI_PIPELINE_SOURCE": "merge_request_event"}
    before = (cache / "history.sqlite").read_bytes()
    statuses = _gitlab_pipeline(recipe, checkout, cache, second, merge)
    assert statuses == {"gate": 3}, "a merge request gates and stores nothing"
    assert "1 clean run(s) in the baseline: needs 5" in (checkout / "gate.md").read_text()
    assert (cache / "history.sqlite").read_bytes() == before


def test_the_bencher_recipe_exports_what_bencher_reads(checkout, tmp_path):
    with open(BENCHER, encoding="utf-8") as f:
        recipe = yaml.safe_load(f)
    step = next(s for s in recipe["jobs"]["bench"]["steps"]
                if s.get("name", "").startswith("Export for Bencher"))
    shutil.copy(_runs(tmp_path)[0], checkout / "quick.json")
    result = _bash(step["run"], checkout, dict(os.environ))
    assert result.returncode == 0, result.stderr
    track = next(s for s in recipe["jobs"]["bench"]["steps"]
                 if s.get("name", "").startswith("Track in Bencher"))
    assert "--adapter json --file bmf.json" in track["run"]
