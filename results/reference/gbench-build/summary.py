#!/usr/bin/python3
"""The table of docs/gbench-build.md from run.sh's files: per benchmark, the median real time
of every repetition of both rounds against Debian's libbenchmark and against the Release
build, their difference, and each side's range."""
import glob
import gzip
import json
import os
import statistics
import sys

SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def times(pattern: str) -> tuple[dict, dict]:
    """run_name -> real times in ns (every repetition of every file), and the last context."""
    out: dict = {}
    context: dict = {}
    for path in sorted(glob.glob(pattern)):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        context = data["context"]
        for b in data["benchmarks"]:
            if b.get("run_type") == "iteration":
                out.setdefault(b["run_name"], []).append(b["real_time"] * SCALE[b["time_unit"]])
    return out, context


def fmt(ns: float) -> str:
    return f"{ns / 1e3:.4g} µs" if ns >= 1e3 else f"{ns:.3g} ns"


def main(folder: str) -> int:
    print("| benchmark | Debian's (debug) | Release | difference | range, Debian's | "
          "range, Release |")
    print("|---|---|---|---|---|---|")
    for kind in ("micro", "bench"):
        debian, dc = times(os.path.join(folder, f"{kind}_debian_*.json.gz"))
        release, rc = times(os.path.join(folder, f"{kind}_release_*.json.gz"))
        assert dc["library_build_type"] == "debug" and rc["library_build_type"] == "release"
        for name, d in debian.items():
            r = release[name]
            md, mr = statistics.median(d), statistics.median(r)
            print(f"| `{name}` | {fmt(md)} | {fmt(mr)} | {(md / mr - 1) * 100:+.1f}% | "
                  f"{fmt(min(d))}–{fmt(max(d))} | {fmt(min(r))}–{fmt(max(r))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))))
