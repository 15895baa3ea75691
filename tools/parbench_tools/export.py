"""Files that CI dashboards read without glue. Counter directions and units come from the run's
manifest; without one, Google Benchmark's own rate counters and parbench's known throughputs are
taken as bigger-is-better."""

from __future__ import annotations

import math

from .errors import ToolError
from .gbench import TIME_UNITS, Benchmark, Run
from .manifest import Counter
from .speedup import speedup_tables

FORMATS = ("github-smaller", "github-bigger", "gbench", "bmf")

# Without a manifest: counters known to be throughputs (bigger is better), with their units.
FALLBACK_COUNTERS = {
    "tasks_per_second": Counter("tasks/s", True),
    "bytes_per_second": Counter("bytes/s", True),
    "items_per_second": Counter("items/s", True),
    "gflops": Counter("GFLOP/s", True),
}


def _counter_meta(run: Run, b: Benchmark, key: str) -> Counter | None:
    if run.manifest.declared:
        return run.manifest.counter(key, b.name.workload)
    return FALLBACK_COUNTERS.get(key)


def _in_unit(seconds: float, unit: str) -> float:
    return seconds / TIME_UNITS[unit]


def github_smaller(run: Run) -> list[dict]:
    """github-action-benchmark 'customSmallerIsBetter': median time per benchmark in the unit
    the benchmark reports itself in (full precision), and counters the manifest says are
    smaller-is-better."""
    out = []
    for name, b in run.benchmarks.items():
        if not b.measured:
            continue
        unit = b.time_unit
        entry = {"name": name, "unit": unit, "value": _in_unit(b.median, unit)}
        if len(b.samples) >= 2:
            spread = _in_unit((max(b.samples) - min(b.samples)) / 2, unit)
            entry["range"] = f"± {spread:.4g}"
        if b.repetitions:
            entry["extra"] = f"{b.repetitions} repetitions" + (
                " (aggregates only)" if b.aggregates_only else "")
        out.append(entry)
        for key in b.counters:
            meta = _counter_meta(run, b, key)
            value = b.counter(key)
            if meta is not None and not meta.bigger_is_better and value is not None:
                out.append({"name": f"{name} {key}", "unit": meta.unit, "value": value})
    return out


def github_bigger(run: Run) -> list[dict]:
    """'customBiggerIsBetter': speedups against the baseline executor, and counters that are
    bigger-is-better (the manifest's direction; known throughputs without one)."""
    out = []
    for t in speedup_tables(run):
        for c in t.cells:
            if c.speedup is not None and c.executor != t.baseline:
                out.append({"name": f"{t.label} {c.executor} workers:{c.workers} speedup",
                            "unit": "x", "value": c.speedup})
    for name, b in run.benchmarks.items():
        if b.error is not None:
            continue
        for key in b.counters:
            meta = _counter_meta(run, b, key)
            value = b.counter(key)
            if meta is not None and meta.bigger_is_better and value is not None:
                out.append({"name": f"{name} {key}", "unit": meta.unit, "value": value})
    return out


def _gbench_row(name: str, b: Benchmark) -> dict:
    """One row per benchmark, its fields meaning what Google Benchmark's mean: a single
    repetition is written as that run (iterations: its iterations); several as their median
    aggregate (real and cpu time: the medians; iterations: the number of repetitions, as
    Google Benchmark writes for aggregates)."""
    ns = TIME_UNITS["ns"]
    row = {"name": name, "run_name": name}
    if len(b.samples) == 1:
        row.update(run_type="iteration", repetitions=1, repetition_index=0, threads=b.threads,
                   iterations=b.iterations[0] if b.iterations else 0)
    else:
        row.update(run_type="aggregate", repetitions=b.repetitions, threads=b.threads,
                   aggregate_name="median", aggregate_unit="time", iterations=b.repetitions)
    row["real_time"] = b.median / ns
    cpu = b.median_of("cpu_time")
    if cpu is not None:
        row["cpu_time"] = cpu / ns
    row["time_unit"] = "ns"
    for key in b.counters:
        row[key] = b.counter(key)
    return row


def _json_safe(value):
    """`value` with NaN and infinities replaced by null (strict JSON readers refuse them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def gbench(run: Run) -> dict:
    """A Google-Benchmark-shaped file with one row per benchmark (the median over repetitions)
    and the run's whole context (caches included), for github-action-benchmark's 'googlecpp'
    and Bencher's 'cpp_google'."""
    rows = [_gbench_row(name, b) for name, b in run.benchmarks.items() if b.measured]
    return {"context": _json_safe(run.context), "benchmarks": rows}


def bmf(run: Run) -> dict:
    """Bencher Metric Format: latency in ns with the repetitions' range as bounds."""
    out = {}
    for name, b in run.benchmarks.items():
        if not b.measured:
            continue
        values = b.samples or [b.median]
        out[name] = {"latency": {"value": b.median * 1e9, "lower_value": min(values) * 1e9,
                                 "upper_value": max(values) * 1e9}}
    return out


def export(run: Run, fmt: str):
    """The export in format `fmt`; an export with nothing in it is a ToolError (dashboards
    fail on it with a less clear message)."""
    data = {"github-smaller": github_smaller, "github-bigger": github_bigger, "gbench": gbench,
            "bmf": bmf}[fmt](run)
    rows = data["benchmarks"] if fmt == "gbench" else data
    if not rows:
        what = ("no speedup and no bigger-is-better counter" if fmt == "github-bigger"
                else "no benchmark with a time (every one failed or has no measurement)")
        raise ToolError(run.path, f"has {what}: the {fmt} export would be empty")
    return data
