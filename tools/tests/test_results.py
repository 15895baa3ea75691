"""The committed results stay small and true: results/ within its size budget, no absolute path
of the machine a file was made on in any committed file, and every table, plot and quoted
output regenerates from the committed runs (scripts/regenerate --check)."""

import gzip
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUDGET = 8 * 1024 * 1024  # bytes: results/ must stay a small part of a clone
# A machine's home or work folders (built, so that this file does not name them itself), and
# in data files a path under /tmp as a run records its outputs.
MACHINE_PATH = re.compile("/(" + "|".join(["wo" + "rk", "ho" + "me", "ro" + "ot"]) + ")/")
TMP_PATH = re.compile(r"/tm" + r"p/[A-Za-z0-9]")
DATA = ("results/", "tools/tests/fixtures/")


def committed_files() -> list[str]:
    """The repository's files: git's list in a checkout, else every file outside build trees
    and .git (a tarball has no .git)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
        if files:
            return [f for f in files if os.path.isfile(os.path.join(ROOT, f))]
    except (OSError, subprocess.CalledProcessError):
        pass
    found = []
    for top, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d != ".git" and not d.startswith("build")]
        found += [os.path.relpath(os.path.join(top, n), ROOT) for n in names]
    return found


def text_of(path: str) -> str | None:
    """The file's text (a .gz file's contents), or None for a binary file."""
    full = os.path.join(ROOT, path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(full, "rb") as f:
            return f.read().decode("utf-8")
    except (UnicodeDecodeError, OSError, EOFError):
        return None


FILES = committed_files()


def test_results_stay_within_their_size_budget():
    sizes = {f: os.path.getsize(os.path.join(ROOT, f)) for f in FILES if f.startswith("results/")}
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert total <= BUDGET, (f"results/ holds {total / 2**20:.1f} MiB, above its "
                             f"{BUDGET / 2**20:.0f} MiB budget; largest: {largest}")


def test_no_committed_file_names_a_path_of_the_machine_it_was_made_on():
    found = []
    for path in FILES:
        if path == "tools/tests/test_results.py":
            continue
        text = text_of(path)
        if text is None:
            continue
        for lineno, line in enumerate(text.split("\n"), 1):
            if MACHINE_PATH.search(line) or (path.startswith(DATA) and TMP_PATH.search(line)):
                found.append(f"{path}:{lineno}: {line.strip()[:120]}")
    assert not found, "absolute paths of a machine in committed files:\n" + "\n".join(found[:20])


def test_the_path_check_finds_what_it_looks_for():
    assert MACHINE_PATH.search("\"executable\": \"/" + "work/main/build/bench\"")
    assert MACHINE_PATH.search("/" + "root/parbench/build")
    assert TMP_PATH.search("\"parbench_timeline_out\": \"/" + "tmp/t.trace.json\"")
    assert not MACHINE_PATH.search("build/bench") and not TMP_PATH.search("\"/tmp\"")


@pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "build", "bench")),
                    reason="build/bench is not built (scripts/build build): some docs examples "
                           "run it")
def test_regenerate_check_names_a_stale_table_and_nothing_else(tmp_path):
    """In a copy of the tree with one table edited by hand, --check names that table, and only
    it: every other derived file and quoted output is what the committed runs give."""
    for name in ("scripts", "tools", "results", "docs", "README.md"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, tmp_path / name)
    for name in ("build", "examples", "include"):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    stale = tmp_path / "results" / "reference" / "speedup.md"
    stale.write_text(stale.read_text().replace("serial", "serial (edited)", 1))
    result = subprocess.run([str(tmp_path / "scripts" / "regenerate"), "--check"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "stale: results/reference/speedup.md (scripts/regenerate rewrites it from the committed "
        "runs)"], result.stdout + result.stderr
