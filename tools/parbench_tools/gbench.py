"""Reading Google Benchmark JSON (any file written with --benchmark_out) into plain records.

Pure functions over parsed data; the only I/O is load_run(). Handles repetitions, aggregates,
errored runs and every time_unit; names follow parbench's scheme
``workload/executor[/workers:W][/key:value...]`` with Google Benchmark's own suffixes
(``/real_time``, ``/repeats:N``...) stripped.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .errors import ToolError

EXECUTORS = ("serial", "threads", "processes")
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Name parts Google Benchmark appends; they are not parbench arguments.
_GBENCH_SUFFIXES = ("real_time", "manual_time", "process_time")
_GBENCH_KEYS = ("repeats", "threads", "min_time", "iterations", "min_warmup_time")


@dataclass(frozen=True)
class Name:
    """A parsed benchmark name."""

    full: str  # the run_name without Google Benchmark's suffixes
    workload: str
    executor: str | None  # None: not an executor benchmark (cpu_scaling, api_server)
    workers: int
    args: tuple[tuple[str, str], ...]  # the remaining key:value parts, in order

    @property
    def group(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Benchmarks comparable by speedup: same workload, same arguments."""
        return (self.workload, self.args)


def parse_name(run_name: str) -> Name:
    parts = [p for p in run_name.split("/") if p]
    kept = [
        p for p in parts
        if p not in _GBENCH_SUFFIXES and not (":" in p and p.split(":", 1)[0] in _GBENCH_KEYS)
    ]
    if not kept:
        return Name(run_name, run_name, None, 1, ())
    workload, rest = kept[0], kept[1:]
    executor = rest[0] if rest and rest[0] in EXECUTORS else None
    if executor:
        rest = rest[1:]
    workers = 1
    args: list[tuple[str, str]] = []
    for part in rest:
        key, _, value = part.partition(":")
        if key == "workers" and executor and value.isdigit():
            workers = int(value)
        else:
            args.append((key, value))
    return Name("/".join(kept), workload, executor, workers, tuple(args))


def group_label(group: tuple[str, tuple[tuple[str, str], ...]]) -> str:
    """'io mode:durable payload:local' for a group key."""
    workload, args = group
    return " ".join([workload] + [f"{k}:{v}" for k, v in args])


@dataclass
class Benchmark:
    """One benchmark of a run: its samples (one per repetition) in seconds, or its error."""

    name: Name
    samples: list[float] = field(default_factory=list)  # real time per iteration, seconds
    counters: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    iterations: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cv(self) -> float | None:
        """Coefficient of variation of the samples; None with fewer than 2."""
        if len(self.samples) < 2:
            return None
        mean = statistics.fmean(self.samples)
        return statistics.stdev(self.samples) / mean if mean > 0 else None

    def counter(self, key: str) -> float | None:
        values = self.counters.get(key)
        return statistics.median(values) if values else None


@dataclass
class Run:
    """A whole benchmark file: its context and benchmarks by name, in file order."""

    path: str
    context: dict[str, Any]
    benchmarks: dict[str, Benchmark]


def _reject_constant(path: str):
    def reject(token: str):
        raise ToolError(path, f"contains {token}, which JSON does not allow")
    return reject


def load_json(path: str) -> Any:
    """Reads a JSON file; every failure is a ToolError naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ToolError(path, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ToolError(path, "is not text (not UTF-8)") from None
    if not text.strip():
        raise ToolError(path, "is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant(path))
    except json.JSONDecodeError as e:
        raise ToolError(path, f"is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno};"
                              " truncated?)") from None


def _number(path: str, entry: dict, key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ToolError(path, f"benchmark '{entry.get('name')}' has no finite '{key}'")
    return float(value)


def parse_run(path: str, data: Any) -> Run:
    """Builds a Run from parsed Google Benchmark JSON; raises ToolError if it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ToolError(path, "is not a Google Benchmark JSON file (no 'benchmarks' list)")
    context = data.get("context")
    if not isinstance(context, dict):
        raise ToolError(path, "is not a Google Benchmark JSON file (no 'context' object)")
    benchmarks: dict[str, Benchmark] = {}
    medians: dict[str, dict] = {}  # aggregate-only files: the median aggregate per name
    for entry in data["benchmarks"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ToolError(path, "has a benchmark entry without a name")
        run_name = entry.get("run_name") or entry["name"]
        name = parse_name(run_name)
        bench = benchmarks.setdefault(name.full, Benchmark(name))
        if entry.get("error_occurred"):
            bench.error = str(entry.get("error_message") or "error")
            continue
        run_type = entry.get("run_type", "iteration")
        if run_type == "aggregate":
            if entry.get("aggregate_name") == "median":
                medians[name.full] = entry
            continue
        bench.samples.append(_seconds(path, entry))
        bench.iterations += int(entry.get("iterations", 0))
        _add_counters(bench, entry)
    for full, entry in medians.items():
        bench = benchmarks[full]
        if not bench.samples and bench.error is None:
            bench.samples.append(_seconds(path, entry))
            _add_counters(bench, entry)
    if not benchmarks:
        raise ToolError(path, "has no benchmarks")
    return Run(path, context, benchmarks)


_STANDARD_KEYS = {
    "name", "run_name", "run_type", "family_index", "per_family_instance_index", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
}


def _seconds(path: str, entry: dict) -> float:
    unit = entry.get("time_unit", "ns")
    if unit not in TIME_UNITS:
        raise ToolError(path, f"benchmark '{entry['name']}' has unknown time_unit '{unit}'")
    value = _number(path, entry, "real_time") * TIME_UNITS[unit]
    if value < 0:
        raise ToolError(path, f"benchmark '{entry['name']}' has a negative time")
    return value


def _add_counters(bench: Benchmark, entry: dict) -> None:
    for key, value in entry.items():
        if key in _STANDARD_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            bench.counters.setdefault(key, []).append(float(value))


def load_run(path: str) -> Run:
    return parse_run(path, load_json(path))


def noise_warning(run: Run) -> str | None:
    """A warning when the noise probe saw a busy machine before the run (a core taken away
    reads as a slow executor); None when it was quiet or not recorded."""
    value = run.context.get("parbench_noise_efficiency")
    try:
        eff = float(value)
    except (TypeError, ValueError):
        return None
    if eff < 0.9:
        return (f"The noise probe measured a parallel efficiency of {eff:.2f} before the run: "
                "the machine was busy or a core was taken away. Read speedups with care.")
    return None


def cores(run: Run) -> int | None:
    """The machine's core count, from parbench's context or Google Benchmark's."""
    for key in ("parbench_cores", "num_cpus"):
        try:
            return int(run.context[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None
