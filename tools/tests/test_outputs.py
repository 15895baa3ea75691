"""timeline, plot, machines, export, report: the files they write are what dashboards, people
and browsers read."""

import json
import os
import re
import shutil
import subprocess

import pytest
from conftest import fixture, load_fixture, planted, write_json


def test_timeline_writes_png_and_svg_per_workload_and_worker_count(cli, tmp_path):
    status, out, err = cli("timeline", fixture("run.trace.json"), "--out-dir", str(tmp_path))
    assert status == 0, err
    names = sorted(os.listdir(tmp_path))
    for w in (1, 2):
        assert f"timeline_cpu_w{w}.png" in names and f"timeline_cpu_w{w}.svg" in names
    assert "timeline_io_mode_durable_payload_local_w2.png" in names
    with open(tmp_path / "timeline_cpu_w2.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_writes_speedup_figures(cli, tmp_path):
    status, out, err = cli("plot", fixture("run.json"), "--out", str(tmp_path / "speedup"))
    assert status == 0, err
    assert (tmp_path / "speedup.png").stat().st_size > 1000
    assert (tmp_path / "speedup.svg").read_text().lstrip().startswith("<?xml")


def test_machines_puts_contexts_and_times_side_by_side(cli, tmp_path):
    data = load_fixture("run.json")
    data["context"]["host_name"] = "other-machine"
    data["context"]["parbench_cpu_model"] = "Other CPU"
    for b in data["benchmarks"]:
        if "real_time" in b:
            b["real_time"] *= 2
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    status, out, err = cli("machines", fixture("run.json"), str(other))
    assert status == 0, err
    assert "other-machine" in out and "Other CPU" in out
    row = next(x for x in out.splitlines() if x.startswith("| `cpu/serial`"))
    assert row.rstrip().endswith("| 2.00 |"), row
    assert "## Speedups" in out
    # Every time doubled, so every speedup is the same: the ratio between machines is 1.
    speedup_row = next(x for x in out.split("## Speedups")[1].splitlines()
                       if x.startswith("| cpu threads x2"))
    assert speedup_row.rstrip().endswith("| 1.00 |"), speedup_row


def test_export_formats_parse_and_hold_no_nan(cli, tmp_path):
    for fmt in ("github-smaller", "github-bigger", "gbench", "bmf"):
        path = tmp_path / f"{fmt}.json"
        status, _, err = cli("export", fixture("run.json"), "--format", fmt, "--out", str(path))
        assert status == 0, err
        text = path.read_text()
        assert "NaN" not in text and "Infinity" not in text
        data = json.loads(text)
        if fmt == "github-smaller":
            assert all({"name", "unit", "value"} <= set(e) for e in data)
            assert any(e["name"] == "cpu/serial" and e["unit"] == "ms" for e in data)
        elif fmt == "github-bigger":
            assert any(e["name"].endswith("speedup") and e["unit"] == "x" for e in data)
        elif fmt == "gbench":
            names = [b["name"] for b in data["benchmarks"]]
            assert len(names) == len(set(names)), "one row per benchmark"
            # Three repetitions each: written as Google Benchmark writes a median aggregate.
            assert all(b["run_type"] == "aggregate" and b["aggregate_name"] == "median"
                       and b["repetitions"] == b["iterations"] == 3 and b["time_unit"] == "ns"
                       for b in data["benchmarks"])
            assert data["context"]["caches"], "Bencher's cpp_google adapter requires caches"
        else:
            lat = data["cpu/serial"]["latency"]
            assert lat["lower_value"] <= lat["value"] <= lat["upper_value"]


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (scripts/deps installs it)")
    return path


def test_report_is_self_contained_and_renders_every_image_in_chromium(cli, tmp_path):
    page = tmp_path / "report.html"
    status, _, err = cli("report", fixture("run.json"), "--out", str(page))
    assert status == 0, err
    html = page.read_text()
    assert "http://" not in html and "https://" not in html, "no network needed to view it"
    expected_images = html.count("<img ")
    assert expected_images > 5
    profile = tmp_path / "profile"
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout).group(0)
    assert f'data-images-total="{expected_images}"' in body, body
    assert f'data-images-loaded="{expected_images}"' in body, body
    assert "data-errors" not in body, body
    assert "Speedups and costs against serial" in result.stdout


def test_the_report_answers_first_and_keeps_the_machine_and_the_goals_for_last(cli, tmp_path):
    page = tmp_path / "report.html"
    status, _, err = cli("report", fixture("run.json"), "--out", str(page))
    assert status == 0, err
    html = page.read_text()
    order = [html.index(mark) for mark in (
        "<ul class='verdicts'>", "<nav><h2>Contents</h2>", "<h2 id='tables'>",
        "<h2 id='machine'>", "<h2 id='goals'>parbench's own goals (about its executors)")]
    assert order == sorted(order), order
    for anchor in ("tables", "machine", "goals"):
        assert f"<a href='#{anchor}'>" in html, anchor
    goals = html.split("<h2 id='goals'>")[1]
    assert "`" not in goals and "**" not in goals, "no Markdown marks in the HTML"
    assert "not a fault of this machine" in goals


@pytest.mark.parametrize("command", ["speedup", "timeline", "plot", "compare", "machines",
                                     "export", "goals", "report", "granularity",
                                     "publish"])
def test_every_subcommand_has_help(cli, command):
    status, out, _ = cli(command, "--help")
    assert status == 0
    assert "usage:" in out


def test_timeline_formats_can_be_chosen(cli, tmp_path):
    status, _, err = cli("timeline", fixture("run.trace.json"), "--out-dir", str(tmp_path),
                         "--formats", "png")
    assert status == 0, err
    assert all(name.endswith(".png") for name in os.listdir(tmp_path))
    status, _, err = cli("timeline", fixture("run.trace.json"), "--out-dir", str(tmp_path),
                         "--formats", "gif")
    assert status == 2 and "--formats" in err and err.count("\n") == 1


def test_exports_filter_and_mark_or_drop_disturbed_benchmarks(cli, tmp_path):
    quiet = planted(load_fixture("reps6.json"), 0.0)
    data = planted(quiet, 0.4, match=lambda n: "threads" in n)
    path = write_json(tmp_path, "run.json", data)

    def export(*args):
        status, out, err = cli("export", path, *args)
        assert status == 0, err
        return json.loads(out)

    rows = {r["name"]: r for r in export("--format", "github-smaller")}
    assert "⚠ disturbed (interference 40%)" in rows["cpu/threads/workers:2"]["extra"]
    assert "⚠" not in rows["cpu/serial"].get("extra", "")
    assert any(" " in name for name in rows), "counters are there by default"
    times = export("--format", "github-smaller", "--times-only", "--disturbed", "drop")
    assert {r["name"] for r in times} == set(rows) - {"cpu/threads/workers:2"} - {
        n for n in rows if " " in n}
    only = export("--format", "bmf", "--filter", "^cpu/(serial|threads)")
    assert set(only) == {"cpu/serial", "cpu/threads/workers:2"}
    assert only["cpu/threads/workers:2"]["interference"]["value"] == 0.4
    assert "interference" not in only["cpu/serial"]
    dropped = export("--format", "bmf", "--disturbed", "drop")
    assert "cpu/threads/workers:2" not in dropped and "cpu/serial" in dropped
    gbench = export("--format", "gbench", "--times-only")
    assert isinstance(gbench["context"]["caches"], list)
    row = next(r for r in gbench["benchmarks"] if r["name"] == "cpu/threads/workers:2")
    assert row["label"].startswith("⚠ disturbed") and "tasks_per_second" not in row
    bigger = {r["name"]: r for r in export("--format", "github-bigger", "--filter", "speedup")}
    assert bigger and all(n.endswith(" speedup") for n in bigger)
    assert bigger["cpu threads workers:2 speedup"]["extra"] == "⚠ disturbed"
    status, _, err = cli("export", path, "--format", "github-bigger", "--times-only")
    assert status == 2 and "no times" in err


def test_the_gbench_export_always_carries_caches(cli, tmp_path):
    data = load_fixture("reps6.json")
    del data["context"]["caches"]
    status, out, err = cli("export", write_json(tmp_path, "r.json", data), "--format", "gbench")
    assert status == 0, err
    result = json.loads(out)
    assert result["context"]["caches"] == []
    assert len(result["benchmarks"]) == len({b["run_name"] for b in data["benchmarks"]})
