"""Files that CI dashboards read without glue. Counter directions and units come from the run's
manifest; without one, Google Benchmark's own rate counters and parbench's known throughputs are
taken as bigger-is-better."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import ToolError
from .gbench import TIME_UNITS, Benchmark, Run
from .manifest import Counter
from .speedup import speedup_tables
from .trust import MARK, MAX_INTERFERENCE, disturbed, interference

FORMATS = ("github-smaller", "github-bigger", "gbench", "bmf")
DISTURBED = ("mark", "drop")


@dataclass(frozen=True)
class Options:
    """What goes into an export: the entries whose name matches `pattern` (None: all), only
    times (no counters), and disturbed benchmarks marked or dropped."""

    pattern: re.Pattern | None = None
    times_only: bool = False
    disturbed: str = "mark"
    max_interference: float = MAX_INTERFERENCE

    def keeps(self, name: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(name))

    def flagged(self, b: Benchmark) -> bool:
        return disturbed(b, self.max_interference)


def _mark_text(b: Benchmark) -> str:
    return f"{MARK} disturbed (interference {interference(b):.0%})"


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


def github_smaller(run: Run, opt: Options = Options()) -> list[dict]:
    """github-action-benchmark 'customSmallerIsBetter': median time per benchmark in the unit
    the benchmark reports itself in (full precision), and (unless times only) counters the
    manifest says are smaller-is-better. A disturbed benchmark's 'extra' says so (or it is
    dropped)."""
    out = []
    for name, b in run.benchmarks.items():
        flagged = opt.flagged(b)
        if not b.measured or (flagged and opt.disturbed == "drop"):
            continue
        unit = b.time_unit
        entry = {"name": name, "unit": unit, "value": _in_unit(b.median, unit)}
        if len(b.samples) >= 2:
            spread = _in_unit((max(b.samples) - min(b.samples)) / 2, unit)
            entry["range"] = f"± {spread:.4g}"
        extra = []
        if b.repetitions:
            extra.append(f"{b.repetitions} repetitions" + (
                " (aggregates only)" if b.aggregates_only else ""))
        if flagged:
            extra.append(_mark_text(b))
        if extra:
            entry["extra"] = "; ".join(extra)
        if opt.keeps(name):
            out.append(entry)
        for key in ([] if opt.times_only else b.counters):
            meta = _counter_meta(run, b, key)
            value = b.counter(key)
            if meta is not None and not meta.bigger_is_better and value is not None \
                    and opt.keeps(f"{name} {key}"):
                out.append({"name": f"{name} {key}", "unit": meta.unit, "value": value})
    return out


def github_bigger(run: Run, opt: Options = Options()) -> list[dict]:
    """'customBiggerIsBetter': speedups against the baseline executor, and counters that are
    bigger-is-better (the manifest's direction; known throughputs without one)."""
    if opt.times_only:
        raise ToolError("--times-only", "github-bigger holds speedups and throughputs, no "
                                        "times: use github-smaller")
    out = []
    for t in speedup_tables(run, opt.max_interference):
        for c in t.cells:
            name = f"{t.label} {c.executor} workers:{c.workers} speedup"
            if c.speedup is None or c.executor == t.baseline or not opt.keeps(name) or (
                    c.flagged and opt.disturbed == "drop"):
                continue
            entry = {"name": name, "unit": "x", "value": c.speedup}
            if c.flagged:
                entry["extra"] = f"{MARK} disturbed"
            out.append(entry)
    for name, b in run.benchmarks.items():
        if b.error is not None or (opt.flagged(b) and opt.disturbed == "drop"):
            continue
        for key in b.counters:
            meta = _counter_meta(run, b, key)
            value = b.counter(key)
            if meta is not None and meta.bigger_is_better and value is not None \
                    and opt.keeps(f"{name} {key}"):
                entry = {"name": f"{name} {key}", "unit": meta.unit, "value": value}
                if opt.flagged(b):
                    entry["extra"] = _mark_text(b)
                out.append(entry)
    return out


def _gbench_row(name: str, b: Benchmark, opt: Options = Options()) -> dict:
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
    for key in ([] if opt.times_only else b.counters):
        row[key] = b.counter(key)
    if opt.flagged(b):
        row["label"] = _mark_text(b)
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


def gbench(run: Run, opt: Options = Options()) -> dict:
    """A Google-Benchmark-shaped file with one row per benchmark (the median over repetitions)
    and the run's whole context, always with caches (an empty list when the run recorded
    none), for github-action-benchmark's 'googlecpp' and Bencher's 'cpp_google'. A disturbed
    benchmark's label says so (or it is dropped)."""
    rows = [_gbench_row(name, b, opt) for name, b in run.benchmarks.items()
            if b.measured and opt.keeps(name)
            and not (opt.flagged(b) and opt.disturbed == "drop")]
    context = dict(run.context)
    if not isinstance(context.get("caches"), list):
        context["caches"] = []
    return {"context": _json_safe(context), "benchmarks": rows}


def bmf(run: Run, opt: Options = Options()) -> dict:
    """Bencher Metric Format: latency in ns with the repetitions' range as bounds; a disturbed
    benchmark also carries its interference as a measure of its own (or is dropped)."""
    out = {}
    for name, b in run.benchmarks.items():
        flagged = opt.flagged(b)
        if not b.measured or not opt.keeps(name) or (flagged and opt.disturbed == "drop"):
            continue
        values = b.samples or [b.median]
        out[name] = {"latency": {"value": b.median * 1e9, "lower_value": min(values) * 1e9,
                                 "upper_value": max(values) * 1e9}}
        if flagged:
            out[name]["interference"] = {"value": interference(b)}
    return out


def export(run: Run, fmt: str, opt: Options = Options()):
    """The export in format `fmt`; an export with nothing in it is a ToolError (dashboards
    fail on it with a less clear message)."""
    data = {"github-smaller": github_smaller, "github-bigger": github_bigger, "gbench": gbench,
            "bmf": bmf}[fmt](run, opt)
    rows = data["benchmarks"] if fmt == "gbench" else data
    if not rows:
        what = ("no speedup and no bigger-is-better counter" if fmt == "github-bigger"
                else "no benchmark with a time (every one failed or has no measurement)")
        raise ToolError(run.path, f"has {what}: the {fmt} export would be empty")
    return data
