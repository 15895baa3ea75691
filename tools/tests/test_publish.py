"""parbench-tools publish: a static site of the run store, opened from file:// in headless
Chromium with the network off. Built from the committed real runs (results/history's archive of
parbench's own history, and the other committed runs of results/: 31 runs); the checks read
the page as Chromium rendered it (--dump-dom), and screenshots are kept for a person to look
at ($PARBENCH_SCREENSHOTS, else pytest's tmp_path). The compare page's statistics (ported to
JavaScript) are checked against compare.py on stored runs. Bad input: one line, exit 2, no
leftover temporary folder."""

import glob
import html
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import synthetic_run

from parbench_tools import compare as compare_mod
from parbench_tools.store import open_store
from parbench_tools.stored_run import stored_runs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ARCHIVE = os.path.join(ROOT, "results", "history", "runs.tar.xz")
MACHINES = [os.path.join(ROOT, "results", "machines", f"{n}.json.gz")
            for n in ("two_cpus", "taskset_0", "quota_1.5")]
# Other committed runs of this machine (not of the history's revisions): another branch, so that
# the history's series on main stay as docs/history.md describes them.
REFERENCE = [os.path.join(ROOT, "results", "reference", p) for p in (
    "trust/quiet.json", "trust/busy.json", "trust/one_cpu.json", "quick.json", "run.json.gz",
    "metg/shared_memory.json.gz", "metg/processes.json.gz", "executors/run.json")]


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (scripts/deps installs it)")
    return path


def render(page: str, shot: str | None = None, size=(1400, 1100)) -> str:
    """The page's DOM after its scripts ran (and a screenshot), in headless Chromium with the
    network off: every host name resolves to nothing and the proxy refuses."""
    out = None
    for mode in (["--screenshot=" + shot] if shot else []) + ["--dump-dom"]:
        profile = tempfile.mkdtemp(prefix="parbench-chromium-")
        result = subprocess.run(
            [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
             f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
             "--virtual-time-budget=20000", mode, page],
            capture_output=True, text=True, timeout=180, cwd=profile)
        shutil.rmtree(profile, ignore_errors=True)
        assert result.returncode == 0, result.stderr[-2000:]
        out = result.stdout
    body = re.search(r"<body[^>]*>", out).group(0)
    assert 'data-ready="1"' in body, body
    assert "data-errors" not in body, html.unescape(body)
    return out


def _shots(tmp_path) -> str:
    folder = os.environ.get("PARBENCH_SCREENSHOTS") or str(tmp_path / "screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


def _publish(cli, db, out, *args):
    status, stdout, err = cli("publish", "--db", db, "--out", str(out), *args)
    assert status == 0, err
    return stdout


def _data(site, name):
    """A data file's value (data/NAME.js: parbenchData("...", VALUE);)."""
    with open(os.path.join(site, "data", name + ".js"), encoding="utf-8") as f:
        text = f.read()
    return json.loads(text[text.index(",") + 1:text.rindex(")")])


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """The committed real runs in one store: 21 of parbench's own history on main, 10 more."""
    from parbench_tools.cli import main
    db = str(tmp_path_factory.mktemp("real") / "store.sqlite")
    assert main(["history", "import", ARCHIVE, "--db", db]) == 0
    assert main(["history", "add", *REFERENCE, *MACHINES, "--db", db, "--branch", "reference",
                 "--order", "0"]) == 0
    return db


@pytest.fixture(scope="module")
def real_site(real_store, tmp_path_factory):
    from parbench_tools.cli import main
    site = str(tmp_path_factory.mktemp("site") / "site")
    assert main(["publish", "--db", real_store, "--out", site, "--pin", "b092ac8"]) == 0
    return site


def _series_id(site, name, metric="real_time", branch="main"):
    return next(s["id"] for s in _data(site, "site")["series"]
                if s["name"] == name and s["metric"] == metric and s["branch"] == branch)


def test_the_real_store_has_30_runs_and_the_site_needs_no_network(real_site):
    runs = _data(real_site, "site")["runs"]
    assert len(runs) >= 30
    for page in glob.glob(os.path.join(real_site, "*.html")) + glob.glob(
            os.path.join(real_site, "*.js")):
        with open(page, encoding="utf-8") as f:
            text = f.read()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), page
    assert os.path.getsize(os.path.join(real_site, "vendor", "chart.min.js")) > 100_000


def test_overview_lists_every_series_regressions_first(real_site, tmp_path):
    shot = os.path.join(_shots(tmp_path), "overview.png")
    dom = render(f"file://{real_site}/index.html", shot)
    series = _data(real_site, "site")["series"]
    rows = re.findall(r'<tr class="series-row" data-status="([^"]+)"', dom)
    assert len(rows) == len(series)
    order = ["regressed", "improved", "disturbed", "too few runs", "stable"]
    assert [order.index(s) for s in rows] == sorted(order.index(s) for s in rows)
    assert "improved" in rows and "vs b092ac897791" in dom
    dom = render(f"file://{real_site}/index.html#changed=1&metric=real_time")
    shown = re.findall(r'<tr class="series-row" data-status="([^"]+)"', dom)
    assert 0 < len(shown) < len(rows) and "improved" in shown


def test_the_trend_shows_the_thread_pools_change_point_and_disturbed_runs(real_site, tmp_path):
    sid = _series_id(real_site, "overhead/threads/workers:2")
    dom = render(f"file://{real_site}/trend.html#s={sid}",
                 os.path.join(_shots(tmp_path), "trend.png"), (1400, 1300))
    drawn = json.loads(html.unescape(re.search(
        r'<canvas id="trend-chart"[^>]*data-datasets="([^"]+)"', dom).group(1)))
    # Two changes, both where the thread pool's code changed: the cache-line change and the
    # redesign (merged in db9068b).
    assert drawn["change points"] == 2 and drawn["median (clean runs)"] >= 10
    assert drawn["disturbed (left out)"] >= 1 and drawn["repetitions"] >= 50
    rows = re.findall(r'<tr class="cp improvement">(.*?)</tr>', dom, flags=re.S)
    assert len(rows) == 2, rows
    cache_line = next(r for r in rows if "3359a9d2a3bc" in r)
    assert "481f6be735bc" in cache_line and "confirmed" in cache_line
    assert re.search(r"[−-]2\d\.\d%", cache_line), cache_line  # about -23%: 99 to 76 ns
    assert any("27edcec26f56" in r for r in rows), rows
    disturbed = re.findall(r'<li class="disturbed-run">', dom)
    assert len(disturbed) == drawn["disturbed (left out)"]
    # The same view again, by date, as a band, zoomed and on a log scale: the link reopens it.
    dom = render(f"file://{real_site}/trend.html#s={sid}&x=date&show=band&log=1"
                 "&zoom=1795633200000,1795658400000")
    canvas = html.unescape(re.search(r'<canvas id="trend-chart"[^>]*>', dom).group(0))
    assert '"median\'s interval":' in canvas and 'data-y-scale="logarithmic"' in canvas
    assert 'data-x-range="1795633200000,1795658400000"' in canvas


def test_the_executors_page_shows_speedups_their_trends_and_the_crossover(real_site, tmp_path):
    dom = render(f"file://{real_site}/executors.html#f=overhead",
                 os.path.join(_shots(tmp_path), "executors.png"), (1400, 1800))
    for chart in ("latest-chart", "trend-chart", "crossover-chart"):
        assert f'<canvas id="{chart}"' in dom, chart
    latest = json.loads(html.unescape(re.search(
        r'<canvas id="latest-chart"[^>]*data-datasets="([^"]+)"', dom).group(1)))
    assert latest["threads"] >= 2 and latest["processes"] >= 2
    assert re.search(r"[1-9]\d* change point\(s\) in these", dom)
    machines = _data(real_site, "executors")
    sweeps = max(range(len(machines)), key=lambda i: sum(  # the machine with the most curves
        len(f["metg"]) for f in machines[i]["families"] if f["family"] == "granularity"))
    dom = render(f"file://{real_site}/executors.html#m={sweeps}&f=granularity")
    metg = json.loads(html.unescape(re.search(
        r'<canvas id="metg-chart"[^>]*data-datasets="([^"]+)"', dom).group(1)))
    assert sum(metg.values()) >= 3


def test_the_machines_page_warns_of_one_name_for_different_machines(real_site, tmp_path):
    dom = render(f"file://{real_site}/machines.html",
                 os.path.join(_shots(tmp_path), "machines.png"), (1400, 2400))
    warning = html.unescape(re.search(r'<div class="warning same-host">(.*?)</div>', dom)
                            .group(1))
    assert "Host name 'vm' stands for" in warning and "usable_cpus" in warning
    assert '<table id="fingerprints">' in dom and 'class="differs"' in dom
    assert '<canvas id="ratio"' in dom


def test_the_machines_page_of_the_three_committed_machines(cli, tmp_path):
    db = str(tmp_path / "machines.sqlite")
    for path in MACHINES:
        assert cli("history", "add", path, "--db", db)[0] == 0
    site = tmp_path / "site"
    _publish(cli, db, site)
    dom = html.unescape(render(f"file://{site}/machines.html",
                               os.path.join(_shots(tmp_path), "machines3.png"), (1400, 2400)))
    warning = re.search(r'<div class="warning same-host">(.*?)</div>', dom).group(1)
    assert "3 different machines" in warning
    assert "usable_cpus: 2 vs 1" in warning and "cgroup_cpu_quota: none vs 1.500000" in warning
    summary = _data(str(site), "machines")["summary"]
    assert summary["reference"].startswith("vm, 2 CPUs")
    ratio = {(r["family"], r["machine"][:14]): r for r in summary["summary"]
             if r["section"] == "time_ratio"}
    slow = ratio[("roundtrip", "vm, CPU 0 of 2")]
    assert slow["value"] > 2 and slow["low"] < slow["value"] < slow["high"]
    assert "3.5" in dom and "slower" in dom


def test_the_machines_page_shows_a_run_across_hosts_as_its_hosts(cli, tmp_path):
    db = str(tmp_path / "hosts.sqlite")
    hosts_run = os.path.join(ROOT, "tools", "tests", "fixtures", "hosts.json")
    for path in (MACHINES[0], hosts_run):
        assert cli("history", "add", path, "--db", db)[0] == 0
    site = tmp_path / "site"
    _publish(cli, db, site)
    machines = _data(str(site), "machines")["machines"]
    across = [m for m in machines if m["mpi_hosts"]]
    assert len(across) == 1, machines
    hosts = across[0]["mpi_hosts"]
    assert [(h["host"], h["ranks"], h["cpus"], h["interfaces"]) for h in hosts] == [
        ("pb-host0", [0, 1], [0], ["eth0 10.231.0.1"]), ("pb-host1", [2], [1], ["eth0 10.231.0.2"])]
    assert [m["mpi_hosts"] for m in machines if m is not across[0]] == [[]]
    dom = html.unescape(render(f"file://{site}/machines.html"))
    assert '<ul class="mpi-hosts">' in dom
    assert "pb-host1: ranks 2, CPUs 1, eth0 10.231.0.2, clock offset" in dom


def test_the_compare_page_agrees_with_compare_py(real_store, real_site, tmp_path):
    dom = render(f"file://{real_site}/compare.html#a=5&b=6",
                 os.path.join(_shots(tmp_path), "compare.png"))
    rows = re.findall(r'<tr class="cmp gate-\w+" data-name="([^"]+)" data-change="([^"]*)" '
                      r'data-p="([^"]*)" data-gate="(\w+)" data-verdict="([^"]+)"', dom)
    with open_store(real_store) as store:
        runs = stored_runs(store, [5, 6])
    result = compare_mod.compare(runs[5], runs[6])
    compare_mod.apply_gate(result, compare_mod.threshold_lookup([], 5.0))
    expected = {r.name: r for r in result.rows}
    assert len(rows) == len(expected) > 10
    for name, change, p, gate, verdict in rows:
        r = expected[name]
        assert float(change) == pytest.approx(r.change_pct, rel=1e-5, abs=1e-4), name
        assert float(p) == pytest.approx(r.p_value, rel=1e-5), name
        assert (gate, verdict) == (r.gate, r.verdict), name
    gates = [g for _, _, _, g, _ in rows]
    assert gates == sorted(gates, key=["fail", "inconclusive", "pass"].index)
    assert f">{result.gate.upper()}<" in dom


def test_the_run_page_shows_probes_and_interference(real_site, tmp_path):
    dom = html.unescape(render(f"file://{real_site}/run.html#run=9",
                               os.path.join(_shots(tmp_path), "run.png"), (1400, 1400)))
    assert "619a764fee98" in dom and "busy (below 0.90)" in dom
    assert '<canvas id="interference-chart"' in dom and "⚠ disturbed" in dom


def _synthetic_store(tmp_path, steps: int = 30) -> str:
    """A store of `steps` runs of three benchmarks; synthetic/slower steps +20% at run 18."""
    db = str(tmp_path / "synthetic.sqlite")
    from parbench_tools.cli import main
    rng = np.random.default_rng(7)
    for i in range(steps):
        levels = {"synthetic/slower": 100e-9 * (1.2 if i >= 18 else 1.0) * rng.lognormal(0, 0.02),
                  "synthetic/steady": 50e-9 * rng.lognormal(0, 0.02)}
        path = synthetic_run(tmp_path / f"run{i}.json", i, levels)
        assert main(["history", "add", path, "--db", db, "--order", str(i)]) == 0
    return db


def test_regressions_feeds_and_marks(cli, tmp_path):
    db = _synthetic_store(tmp_path)
    site = tmp_path / "site"
    out = _publish(cli, db, site, "--site-url", "https://perf.example/parbench/")
    assert "1 open regression(s)" in out
    feed = json.loads((site / "feed.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and len(feed["items"]) == 1
    item = feed["items"][0]
    assert "synthetic/slower" in item["title"] and item["url"].startswith(
        "https://perf.example/parbench/trend.html#s=")
    assert item["_parbench"]["change_pct"] == pytest.approx(20, abs=5)
    atom = ET.parse(site / "feed.atom").getroot()
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and "synthetic/slower" in entries[0].find(
        "{http://www.w3.org/2005/Atom}title").text
    text = (site / "regressions.txt").read_text().splitlines()
    assert text[0].startswith("# parbench: 1 open regression(s)") and len(text) == 3
    cid = text[2].split()[0]
    dom = render(f"file://{site}/regressions.html", os.path.join(_shots(tmp_path),
                                                                 "regressions.png"))
    assert re.search(r'<tr class="cp regression" data-status="open">.*?synthetic/slower', dom)
    status, _, err = cli("history", "mark", cid, "fixed", "--db", db, "--note", "reverted")
    assert status == 0, err
    _publish(cli, db, site)  # replaces the site it wrote before
    assert json.loads((site / "feed.json").read_text())["items"] == []
    dom = render(f"file://{site}/regressions.html#which=all")
    assert re.search(r'data-status="fixed">.*?reverted', dom)


def _leftovers(folder) -> list[str]:
    return [p for p in os.listdir(folder) if p.startswith(".parbench-")]


@pytest.mark.parametrize("case", ["missing db", "db is a folder", "out is a file",
                                  "out under a file", "out holds other files", "empty store",
                                  "unknown pin", "bad threshold file"])
def test_bad_input_is_one_line_and_leaves_nothing(cli, tmp_path, case):
    db = str(tmp_path / "store.sqlite")
    out = tmp_path / "site"
    args = []
    if case == "empty store":
        open_store(db).close()
    elif case not in ("missing db", "db is a folder"):
        db = _synthetic_store(tmp_path, steps=2)
    if case == "db is a folder":
        db = str(tmp_path)
    elif case == "out is a file":
        out.write_text("not a folder")
    elif case == "out under a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "site"
    elif case == "out holds other files":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif case == "unknown pin":
        args = ["--pin", "deadbeef"]
    elif case == "bad threshold file":
        (tmp_path / "t.txt").write_text("only-one-field\n")
        args = ["--threshold-file", str(tmp_path / "t.txt")]
    status, stdout, err = cli("publish", "--db", db, "--out", str(out), *args)
    assert status == 2, (stdout, err)
    assert err.count("\n") == 1 and err.startswith("parbench-tools: "), err
    assert "Traceback" not in err
    assert not _leftovers(tmp_path)
    if case == "out holds other files":
        assert os.listdir(out) == ["notes.txt"]
    if case == "missing db":
        assert not os.path.exists(db), "publish never creates a store"


def test_interval_of_five_repetitions_is_their_range(tmp_path):
    from parbench_tools.publish_data import interval
    lo, hi, cov = interval([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (lo, hi) == (1.0, 5.0) and cov == pytest.approx(1 - 2 / 32, abs=1e-4)
    assert interval([1.0]) is None
    lo, hi, cov = interval([float(x) for x in range(1, 12)])
    assert lo > 1 and hi < 11 and cov >= 0.95 and math.isfinite(cov)
