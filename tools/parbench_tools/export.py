"""Files that CI dashboards read without glue."""

from __future__ import annotations

from .gbench import Run
from .speedup import speedup_tables

FORMATS = ("github-smaller", "github-bigger", "gbench", "bmf")


def github_smaller(run: Run) -> list[dict]:
    """github-action-benchmark 'customSmallerIsBetter': median time per benchmark, in ms."""
    out = []
    for name, b in run.benchmarks.items():
        if b.error or not b.samples:
            continue
        entry = {"name": name, "unit": "ms", "value": round(b.median * 1e3, 6)}
        if len(b.samples) >= 2:
            entry["range"] = f"± {(max(b.samples) - min(b.samples)) / 2 * 1e3:.3f}"
            entry["extra"] = f"{len(b.samples)} repetitions"
        out.append(entry)
    return out


def github_bigger(run: Run) -> list[dict]:
    """'customBiggerIsBetter': speedups against serial, and throughput counters."""
    out = []
    for t in speedup_tables(run):
        for c in t.cells:
            if c.speedup is not None and c.executor != "serial":
                out.append({"name": f"{t.label} {c.executor} workers:{c.workers} speedup",
                            "unit": "x", "value": round(c.speedup, 4)})
    for name, b in run.benchmarks.items():
        for key, unit in (("tasks_per_second", "tasks/s"), ("bytes_per_second", "bytes/s"),
                          ("gflops", "GFLOP/s")):
            value = b.counter(key)
            if value is not None and not b.error:
                out.append({"name": f"{name} {key}", "unit": unit, "value": round(value, 3)})
    return out


def gbench(run: Run) -> dict:
    """A Google-Benchmark-shaped file with one row per benchmark (the median over
    repetitions), for github-action-benchmark's 'googlecpp' and Bencher's 'cpp_google'."""
    rows = []
    for name, b in run.benchmarks.items():
        if b.error or not b.samples:
            continue
        row = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
               "repetition_index": 0, "threads": 1, "iterations": max(b.iterations, 1),
               "real_time": b.median * 1e9, "cpu_time": b.median * 1e9, "time_unit": "ns"}
        for key in b.counters:
            row[key] = b.counter(key)
        rows.append(row)
    context = {k: v for k, v in run.context.items() if isinstance(v, (str, int, float))}
    return {"context": context, "benchmarks": rows}


def bmf(run: Run) -> dict:
    """Bencher Metric Format: latency in ns with the repetitions' range as bounds."""
    out = {}
    for name, b in run.benchmarks.items():
        if b.error or not b.samples:
            continue
        out[name] = {"latency": {"value": b.median * 1e9, "lower_value": min(b.samples) * 1e9,
                                 "upper_value": max(b.samples) * 1e9}}
    return out


def export(run: Run, fmt: str):
    return {"github-smaller": github_smaller, "github-bigger": github_bigger, "gbench": gbench,
            "bmf": bmf}[fmt](run)
