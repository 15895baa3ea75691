#!/usr/bin/python3
"""How fast `parbench-tools publish` is, and how large its site (a benchmark of the tools, not a
test: it asserts nothing and prints numbers). Run from the repository's top folder:

    tools/bench_publish.py [--runs 200] [--benchmarks 300] [--reps 5]

A store of RUNS synthetic runs x BENCHMARKS benchmarks x REPS repetitions is made as
results/history/speed.py makes its stores (lognormal, 3% noise, 10 series stepping +10% at run
150, 1% of results disturbed; 9 benchmarks per family: serial, threads and processes at 1-4
workers, so every family has speedup and efficiency series too). Then `publish` writes the
site twice: the whole command (Python's start and imports included) and in-process. The
site's size is the sum of its files' sizes; its disk usage is what `du` counts. Everything is
written under a temporary folder, removed at the end."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from parbench_tools.publish import publish  # noqa: E402
from parbench_tools.publish_data import Options  # noqa: E402


def _speed_module():
    """results/history/speed.py: its synthetic runs (the store issue 22's numbers came from)."""
    path = os.path.join(ROOT, "results", "history", "speed.py")
    spec = importlib.util.spec_from_file_location("history_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_size(folder: str) -> tuple[int, int, int]:
    """(files, bytes of their content, bytes on disk)."""
    files = total = 0
    for root, _dirs, names in os.walk(folder):
        for n in names:
            files += 1
            total += os.path.getsize(os.path.join(root, n))
    disk = subprocess.run(["du", "-sb", "--apparent-size", folder], capture_output=True,
                          text=True).stdout.split()[0]
    used = subprocess.run(["du", "-sk", folder], capture_output=True, text=True).stdout.split()[0]
    return files, total, int(used) * 1024 if disk else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--benchmarks", type=int, default=300)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    speed = _speed_module()
    with open(os.path.join(ROOT, "tools", "tests", "fixtures", "reps6.json")) as f:
        context = {k: v for k, v in json.load(f)["context"].items()
                   if k != "parbench_manifest"}
    work = tempfile.mkdtemp(prefix="parbench-publish-speed-")
    try:
        db = os.path.join(work, "store.sqlite")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
              f"python {platform.python_version()}")
        seconds = speed.ingest(db, args.runs, speed.names(args.benchmarks), args.reps, context)
        print(f"store: {args.runs} runs x {args.benchmarks} benchmarks x {args.reps} reps, "
              f"ingested in {seconds:.1f} s")
        site = os.path.join(work, "site")
        start = time.perf_counter()
        result = subprocess.run([os.path.join(ROOT, "tools", "parbench-tools"), "publish",
                                 "--db", db, "--out", site], capture_output=True, text=True)
        command = time.perf_counter() - start
        print(f"publish (the command): {command:.2f} s, exit {result.returncode}: "
              f"{result.stdout.strip()}")
        start = time.perf_counter()
        counts = publish(db, site, Options())
        inside = time.perf_counter() - start
        print(f"publish (in-process, replacing the site): {inside:.2f} s; {counts['series']} "
              f"series, {counts['change_points']} change points")
        files, total, used = site_size(site)
        print(f"site: {files} files, {total / 2**20:.1f} MiB of content, {used / 2**20:.1f} MiB "
              "on disk")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
