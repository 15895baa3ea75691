"""What the anchor scripts (futures.py, api.py) share: their errors and exit codes, the
checkout's revision, one-line argument errors, and writing the Google Benchmark document whole
or not at all."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Callable

EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130


class UsageError(Exception):
    """Bad input: one line on stderr, exit 2."""


class TaskError(Exception):
    """A task returned a wrong result (or a pool broke): one line on stderr, exit 1."""


class ArgParser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message)


def git_revision(directory: str) -> str:
    """The checkout's short revision, '-dirty' when it has changes; 'unknown' without git."""
    try:
        rev = subprocess.run(["git", "-C", directory, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = subprocess.run(["git", "-C", directory, "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev.strip() + ("-dirty" if dirty.strip() else "")


def check_writable(path: str) -> None:
    """UsageError unless `path` can be written (checked before anything is measured)."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--out {path}: is a directory")
    if not os.path.isdir(directory):
        raise UsageError(f"--out {path}: directory {directory} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".anchors-"):
            pass
    except OSError as e:
        raise UsageError(f"--out {path}: cannot write there ({e.strerror})") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"--out {path}: not writable")


def write_json(path: str, data: dict) -> None:
    """Written whole or not at all (a temporary file renamed)."""
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", dir=directory, prefix=".anchors-", suffix=".json",
                                     delete=False, encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(f.name, path)


def run_main(prog: str, argv: list[str] | None, parse_args: Callable, run: Callable,
             interrupted: str) -> int:
    """A script's main(): parse, measure, write --out; every failure is one line on stderr
    and its exit status (2 bad input, 1 a task failed, 130 interrupted)."""
    try:
        args = parse_args(argv)
        document = run(args)
        try:
            write_json(args.out, document)
        except OSError as e:
            raise UsageError(f"--out {args.out}: {e.strerror or e}") from None
    except UsageError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TaskError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
