#!/usr/bin/python3
"""How fast the run store is, at the sizes issue 22 names (a benchmark of the tools, not a
test: it asserts nothing and prints times). Run from the repository's top folder:

    results/history/speed.py [--runs 1000] [--benchmarks 300] [--reps 5]

1. ingest: RUNS runs x BENCHMARKS benchmarks x REPS repetitions into a new SQLite store, as
   `history add` does it (each run parsed by the tools' reader, its executor series derived,
   written in one transaction); then one `history add` of a new file on the full store, and
   the same file again (nothing to add).
2. changes: `history changes` over BENCHMARKS series x 200 runs (a store of the first 200
   runs), without and with the executor series; and over the full store.
3. gate: one `history gate` decision on a new run against the full store, in-process and as
   the command (Python's start and imports included).

The series are lognormal with 3% noise; 10 of them step +10% at run 150, and 1% of the
benchmark results are disturbed. Everything is written under a temporary folder, removed at
the end."""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from parbench_tools import changes as ch  # noqa: E402
from parbench_tools import gate  # noqa: E402
from parbench_tools.gbench import load_run  # noqa: E402
from parbench_tools.ingest import Meta, record_from_data, store_record  # noqa: E402
from parbench_tools.store import open_store  # noqa: E402

TOOLS = os.path.join(ROOT, "tools", "parbench-tools")


def names(count: int) -> list[str]:
    """FAMILY/serial and FAMILY/{threads,processes}/workers:{1..4}: 9 per family."""
    out = []
    family = 0
    while len(out) < count:
        f = f"fam{family}"
        out.append(f"{f}/serial")
        out += [f"{f}/{e}/workers:{w}" for e in ("threads", "processes") for w in (1, 2, 3, 4)]
        family += 1
    return out[:count]


def run_data(index: int, benchmarks: list[str], levels: np.ndarray, reps: int,
             rng: np.random.Generator, context: dict) -> dict:
    ctx = dict(context, parbench_git_revision=f"{index:040x}",
               date=f"2026-{1 + index // 800:02d}-{1 + index // 28 % 28:02d}T"
                    f"{index % 24:02d}:{index % 60:02d}:00+00:00")
    rows = []
    disturbed = rng.random(len(benchmarks)) < 0.01
    for k, name in enumerate(benchmarks):
        level = levels[k] * rng.lognormal(0, 0.03)
        for r in range(reps):
            t = level * rng.lognormal(0, 0.01)
            rows.append({"name": name, "run_name": name, "run_type": "iteration",
                         "repetitions": reps, "repetition_index": r, "threads": 1,
                         "iterations": 100, "real_time": t * 1e9, "cpu_time": t * 1e9,
                         "time_unit": "ns",
                         "interference_cpu_frac": 0.5 if disturbed[k] else 0.0,
                         "steal_frac": 0.0})
    return {"context": ctx, "benchmarks": rows}


def levels_of(benchmarks: list[str]) -> np.ndarray:
    """Each benchmark's level: a serial one 4x its family's two-worker one."""
    return np.array([4e-6 if "/serial" in n else 4e-6 / min(int(n[-1]), 2) * 1.1
                     for n in benchmarks])


def ingest(db: str, count: int, benchmarks, reps, context, seed=1) -> float:
    rng = np.random.default_rng(seed)
    levels = levels_of(benchmarks)
    start = time.perf_counter()
    with open_store(db) as store:
        for i in range(count):
            step = levels * np.where(np.arange(len(levels)) < 10, 1.1, 1.0) if i >= 150 \
                else levels
            data = run_data(i, benchmarks, step, reps, rng, context)
            store_record(store, record_from_data(f"run{i}.json", data,
                                                 Meta(branch="main", commit_order=i)))
    return time.perf_counter() - start


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def command(*args) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run([TOOLS, *args], capture_output=True, text=True)
    return time.perf_counter() - start, result.returncode


def changes_time(db: str, metrics) -> tuple[float, int, int]:
    with open_store(db) as store:
        seconds, reports = timed(lambda: ch.find_changes(store, ch.Options(metrics=metrics)))
    found = sum(len(r.found) for r in reports)
    return seconds, len(reports), found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--benchmarks", type=int, default=300)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args()
    with open(os.path.join(ROOT, "tools", "tests", "fixtures", "reps6.json")) as f:
        context = {k: v for k, v in json.load(f)["context"].items()
                   if k != "parbench_manifest"}
    benchmarks = names(args.benchmarks)
    work = tempfile.mkdtemp(prefix="parbench-speed-")
    try:
        small, full = os.path.join(work, "small.sqlite"), os.path.join(work, "full.sqlite")
        print(f"machine: {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} CPUs; python {platform.python_version()}")
        seconds = ingest(full, args.runs, benchmarks, args.reps, context)
        samples = args.runs * args.benchmarks * args.reps
        print(f"ingest {args.runs} runs x {args.benchmarks} benchmarks x {args.reps} reps "
              f"({samples:,} samples): {seconds:.1f} s ({seconds / args.runs * 1e3:.0f} ms "
              f"per run); store {os.path.getsize(full) / 2**20:.0f} MiB")
        new = os.path.join(work, "new.json")
        data = run_data(args.runs, benchmarks, levels_of(benchmarks), args.reps,
                        np.random.default_rng(99), context)
        for b in data["benchmarks"]:
            b["interference_cpu_frac"] = 0.0
        with open(new, "w") as f:
            json.dump(data, f)
        add = os.path.join(work, "add.sqlite")
        shutil.copy(full, add)
        t1, _ = command("history", "add", new, "--db", add, "--order", str(args.runs))
        t2, _ = command("history", "add", new, "--db", add, "--order", str(args.runs))
        print(f"history add of one more run (the command): {t1:.2f} s; the same file again "
              f"(adds nothing): {t2:.2f} s")
        ingest(small, 200, benchmarks, args.reps, context)
        t, n, found = changes_time(small, ("real_time",))
        print(f"changes over {n} series x 200 runs (times): {t:.2f} s, {found} change points")
        t, n, found = changes_time(small, ("real_time",) + ch.EXECUTOR_KINDS)
        print(f"changes over {n} series x 200 runs (times and executor series): {t:.2f} s, "
              f"{found} change points")
        t, n, found = changes_time(full, ("real_time",))
        print(f"changes over {n} series x {args.runs} runs (times): {t:.2f} s, {found} change "
              "points")
        run = load_run(new)
        with open_store(full) as store:
            options = gate.Options(thresholds=None)
            gate.decide(store, copy.deepcopy(run), options)  # warm: imports, first queries
            times = []
            for _ in range(5):
                t, decision = timed(lambda: gate.decide(store, run, gate.Options()))
                times.append(t)
        print(f"gate decision on {len(decision.rows)} benchmarks against {args.runs} runs "
              f"(in-process, median of 5): {sorted(times)[2]:.2f} s, result {decision.gate}")
        t, status = command("history", "gate", new, "--db", full)
        print(f"history gate (the command, Python's start and imports included): {t:.2f} s, "
              f"exit {status}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
