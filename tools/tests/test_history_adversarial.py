"""history and publish against an adversarial user: a store that is only read is never
created (nor a schema written into an empty file), a read-only store, a gate of a run that is
the only stored one, Ctrl-C during an import, spaces and non-ASCII in paths: one line, a
non-zero status, no traceback, nothing left behind."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import fixture

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "parbench-tools")
ARCHIVE = os.path.join(os.path.dirname(TOOLS), "..", "results", "history", "runs.tar.xz")


def _one_line(status, err, *words):
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("command", [["history", "runs"], ["history", "changes"],
                                     ["history", "mark", "abc", "expected"],
                                     ["publish", "--out", "SITE"]])
@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_reading_a_store_never_creates_one(cli, tmp_path, command, kind):
    db = tmp_path / "store.sqlite"
    if kind == "empty":
        db.write_bytes(b"")
    args = [str(tmp_path / "site") if a == "SITE" else a for a in command]
    status, _, err = cli(*args, "--db", str(db))
    _one_line(status, err, str(db), "does not exist" if kind == "missing" else "is an empty file")
    assert (not db.exists()) if kind == "missing" else db.stat().st_size == 0
    assert sorted(os.listdir(tmp_path)) == ([] if kind == "missing" else ["store.sqlite"])


def test_a_read_only_store_is_one_line(cli, tmp_path):
    db = str(tmp_path / "ro.sqlite")
    assert cli("history", "add", "--db", db, fixture("reps6.json"))[0] == 0
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    status, _, err = cli("history", "add", "--db", url, fixture("run.json"))
    _one_line(status, err, "readonly database")
    assert cli("history", "runs", "--db", url)[0] == 0


def test_the_gate_of_the_only_stored_run_is_inconclusive(cli, tmp_path):
    db = str(tmp_path / "one.sqlite")
    assert cli("history", "add", "--db", db, fixture("reps6.json"))[0] == 0
    status, out, err = cli("history", "gate", fixture("reps6.json"), "--db", db)
    assert status == 3 and "Traceback" not in err
    assert "no other run of this machine and build" in out


def test_spaces_and_non_ascii_in_paths(cli, tmp_path):
    folder = tmp_path / "a b ü"
    folder.mkdir()
    run = folder / "rün 1.json"
    shutil.copy(fixture("reps6.json"), run)
    db = str(folder / "störe 1.sqlite")
    assert cli("history", "add", "--db", db, str(run))[0] == 0
    status, out, err = cli("publish", "--db", db, "--out", str(folder / "sïte x"))
    assert status == 0, err
    assert os.path.isfile(folder / "sïte x" / "index.html")


@pytest.mark.parametrize("delay", [0.2, 0.9])
def test_ctrl_c_during_an_import_is_one_line_and_the_store_stays_usable(tmp_path, delay):
    db = str(tmp_path / "c.sqlite")
    proc = subprocess.Popen(
        [TOOLS, "history", "import", ARCHIVE, "--db", db], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    # Ended by Ctrl-C: status 130 with one line, or killed by the signal itself (what a shell
    # also reports as 130), before the interpreter had started (nothing said) or after the line.
    if proc.returncode == -signal.SIGINT:
        assert err in ("", "parbench-tools: interrupted\n")
    elif proc.returncode != 0:  # else it finished first
        assert proc.returncode == 130 and err == "parbench-tools: interrupted\n"
    again = subprocess.run([TOOLS, "history", "import", ARCHIVE, "--db", db],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "31 run(s) added" in again.stdout or "already in the store" in again.stdout
    assert sorted(os.listdir(tmp_path)) in (["c.sqlite"], [], ["c.sqlite", "c.sqlite-shm",
                                                               "c.sqlite-wal"])
    assert sys.executable  # the tools run with Debian's python3 (parbench-tools)
