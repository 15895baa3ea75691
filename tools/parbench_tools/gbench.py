"""Reading Google Benchmark JSON (any file written with --benchmark_out) into plain records.

Pure functions over parsed data; the only I/O is load_json() / load_run(). Every field the tools
use is validated here, once: damaged input is one ToolError naming the file and the problem.
Handles repetitions, aggregates (also aggregates-only files), complexity fits, errored runs,
every time_unit, and several files of one configuration merged into one sample. Names follow
parbench's scheme ``FAMILY/EXECUTOR[/workers:W][/AXIS:VALUE...]`` (the run's manifest says
which executors exist); Google Benchmark's own parts that make a benchmark distinct
(``/threads:N``, ``/repeats:N``, ``/iterations:N``, ``/min_time:X``...) are kept in the name,
and only its time-type part (``/real_time``, ``/manual_time``, ``/process_time``) is dropped.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics
import zlib
from dataclasses import dataclass, field
from typing import Any

from .errors import ToolError
from .manifest import CONTEXT_KEY, FALLBACK, Manifest, parse_manifest

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
METRICS = ("real_time", "cpu_time")
# Name parts that say how Google Benchmark timed a benchmark; dropped from the name.
_TIME_TYPE_PARTS = ("real_time", "manual_time", "process_time")
# Name parts Google Benchmark appends that make a distinct benchmark; kept, but not axes.
_GBENCH_KEYS = ("repeats", "threads", "min_time", "iterations", "min_warmup_time")
# Aggregates that are complexity fits, not times.
_COMPLEXITY = ("BigO", "RMS")
# Context keys that differ between runs of one configuration (merging several files): when and
# where it ran, what the machine's load and noise probes saw, output file names
# (parbench_timeline_out, ...), and which revision it was: runs of several revisions pool
# into one baseline (a revision is not configuration; its manifest may list more families).
_VOLATILE_CONTEXT = ("date", "load_avg", "host_name", "executable", "mhz_per_cpu",
                     "parbench_git_revision", "parbench_revision_source", "parbench_end_time",
                     CONTEXT_KEY)


def _volatile(key: str) -> bool:
    return (key in _VOLATILE_CONTEXT or key.startswith("parbench_noise_efficiency")
            or key.endswith("_out"))


@dataclass(frozen=True)
class Name:
    """A parsed benchmark name."""

    full: str  # the name without Google Benchmark's time-type part: the benchmark's identity
    workload: str  # the family (first part)
    executor: str | None  # None: not an executor benchmark (api_server, a reference, foreign)
    workers: int
    args: tuple[tuple[str, str], ...]  # the family's AXIS:VALUE parts, in order
    gbench: tuple[str, ...] = ()  # Google Benchmark's parts (threads:2, repeats:5, ...)

    @property
    def group(self) -> tuple:
        """Benchmarks comparable by speedup: same family, same axes, same Google Benchmark
        parts."""
        return (self.workload, self.args, self.gbench)


def parse_name(run_name: str, manifest: Manifest = FALLBACK) -> Name:
    """A name split into family, executor (one of the manifest's), workers and axes."""
    parts = run_name.split("/")
    kept = [p for p in parts if p not in _TIME_TYPE_PARTS]
    if not kept or not kept[0]:
        return Name(run_name, run_name, None, 1, ())
    workload, rest = kept[0], kept[1:]
    family = manifest.family(workload)
    axes = {a.name for a in family.axes} if family else set()
    gbench = tuple(p for p in rest if ":" in p and p.partition(":")[0] in _GBENCH_KEYS
                   and p.partition(":")[0] not in axes)
    rest = [p for p in rest if p not in gbench]
    executor = rest[0] if rest and rest[0] in manifest.executor_names else None
    if executor:
        rest = rest[1:]
    workers = 1
    args: list[tuple[str, str]] = []
    for part in rest:
        key, _, value = part.partition(":")
        if key == "workers" and executor and value.isdigit() and not args:
            workers = int(value)
        else:
            args.append((key, value))
    return Name("/".join(kept), workload, executor, workers, tuple(args), gbench)


def group_label(group: tuple) -> str:
    """'io mode:durable payload:local' for a group key (Google Benchmark's parts last)."""
    workload, args, gbench = group
    return " ".join([workload] + [f"{k}:{v}" for k, v in args] + list(gbench))


@dataclass
class Benchmark:
    """One benchmark of a run: per repetition its times (seconds) and counters, or its error;
    for aggregates-only files the median aggregate; for complexity fits the fit."""

    name: Name
    samples: list[float] = field(default_factory=list)  # real time per iteration, seconds
    cpu_samples: list[float] = field(default_factory=list)  # cpu time per iteration, seconds
    counters: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    iterations: list[int] = field(default_factory=list)  # per repetition
    time_unit: str = "ns"  # the unit the file reports it in
    threads: int = 1
    median_aggregate: dict[str, Any] | None = None  # seconds; only read without repetitions
    complexity: dict[str, Any] = field(default_factory=dict)  # BigO / RMS rows

    def values(self, metric: str = "real_time") -> list[float]:
        """The per-repetition values of `metric` (real_time or cpu_time), seconds."""
        return self.samples if metric == "real_time" else self.cpu_samples

    def median_of(self, metric: str = "real_time") -> float | None:
        values = self.values(metric)
        if values:
            return statistics.median(values)
        if self.median_aggregate is not None:
            return self.median_aggregate.get(metric)
        return None

    @property
    def median(self) -> float | None:
        """Median real time per iteration in seconds (None: nothing measured)."""
        return self.median_of("real_time")

    @property
    def measured(self) -> bool:
        """No error and a time to show."""
        return self.error is None and self.median is not None

    @property
    def aggregates_only(self) -> bool:
        return not self.samples and self.median_aggregate is not None

    @property
    def repetitions(self) -> int:
        if self.samples:
            return len(self.samples)
        if self.median_aggregate is not None:
            return int(self.median_aggregate.get("repetitions", 0))
        return 0

    @property
    def status(self) -> str:
        """Why the benchmark has no per-repetition times, in a few words ('' when it has)."""
        if self.error is not None:
            return f"error: {self.error}"
        if self.samples:
            return ""
        if self.aggregates_only:
            return "aggregates only (no per-repetition times)"
        if self.complexity:
            return "a complexity fit (BigO/RMS), not a time"
        return "no measurements"

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
    """A whole benchmark file (or several of one configuration, merged): its context, its
    manifest and its benchmarks by name, in file order."""

    path: str
    context: dict[str, Any]
    benchmarks: dict[str, Benchmark]
    manifest: Manifest = FALLBACK
    sources: tuple[str, ...] = ()  # the files merged into this run

    def executor_benchmarks(self) -> list[Benchmark]:
        return [b for b in self.benchmarks.values() if b.name.executor is not None]


def is_finite_number(value: Any) -> bool:
    """An int or float (not a bool) that is neither NaN nor infinite."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def load_json(path: str) -> Any:
    """Reads a JSON file, gzip-compressed or not; every failure is a ToolError naming the file.
    NaN and Infinity are read (Google Benchmark writes them for counters, e.g. a rate over no
    time, and for the cv of a zero mean); where a time must be a number, the reader below
    refuses them."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":  # gzip's magic: a compressed run (results/machines/)
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except OSError as e:
        raise ToolError(path, f"cannot read: {e.strerror or e}") from None
    except (EOFError, zlib.error):
        raise ToolError(path, "is a damaged gzip file (truncated?)") from None
    except UnicodeDecodeError:
        raise ToolError(path, "is not text (not UTF-8)") from None
    if not text.strip():
        raise ToolError(path, "is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolError(path, f"is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno};"
                              " truncated?)") from None
    except RecursionError:
        raise ToolError(path, "is nested too deeply to be benchmark results") from None


class _Entry:
    """One entry of 'benchmarks' with typed, validated access to its fields."""

    def __init__(self, path: str, entry: Any, index: int):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ToolError(path, f"has a benchmark entry (#{index + 1}) without a name")
        self.path, self.entry, self.label = path, entry, entry["name"]

    def fail(self, problem: str):
        raise ToolError(self.path, f"benchmark '{self.label}' {problem}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.entry.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(f"has a {key} that is not a string ({json.dumps(value)[:40]})")
        return value

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.entry.get(key, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"has a {key} that is not an integer >= {minimum} ({value!r})")
        return value

    def number(self, key: str) -> float:
        value = self.entry.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"has a {key} of {'NaN' if math.isnan(value) else 'Infinity'}")
        if not is_finite_number(value):
            self.fail(f"has no numeric '{key}'")
        return float(value)

    def unit(self) -> str:
        unit = self.text("time_unit", "ns")
        if unit not in TIME_UNITS:
            self.fail(f"has unknown time_unit '{unit}'")
        return unit

    def seconds(self, key: str) -> float:
        value = self.number(key) * TIME_UNITS[self.unit()]
        if value < 0:
            self.fail(f"has a negative {key}")
        return value

    def has(self, key: str) -> bool:
        return key in self.entry

    def counters(self) -> dict[str, float]:
        out = {}
        for key, value in self.entry.items():
            if key not in _STANDARD_KEYS and is_finite_number(value):
                out[key] = float(value)
        return out


_STANDARD_KEYS = {
    "name", "run_name", "run_type", "family_index", "per_family_instance_index", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
    "real_coefficient", "cpu_coefficient", "rms", "big_o",
}


def _run_name(e: _Entry) -> str:
    run_name = e.text("run_name")
    if run_name:
        return run_name
    name, aggregate = e.label, e.text("aggregate_name")
    if e.text("run_type") == "aggregate" and aggregate and name.endswith("_" + aggregate):
        return name[:-len(aggregate) - 1]  # files older than run_name: 'BM_x_mean'
    return name


def _keys(run_names: list[str], manifest: Manifest) -> dict[str, Name]:
    """Each run_name's Name; where dropping the time-type part would make two benchmarks one
    ('BM_x' and 'BM_x/real_time'), those keep their full run_name."""
    names = {r: parse_name(r, manifest) for r in dict.fromkeys(run_names)}
    by_full: dict[str, list[str]] = {}
    for run_name, name in names.items():
        by_full.setdefault(name.full, []).append(run_name)
    for full, clash in by_full.items():
        if len(clash) > 1:
            for run_name in clash:
                n = names[run_name]
                names[run_name] = Name(run_name, n.workload, n.executor, n.workers, n.args,
                                       n.gbench)
    return names


def parse_run(path: str, data: Any) -> Run:
    """Builds a Run from parsed Google Benchmark JSON; raises ToolError if it is not one or if
    a field the tools read is damaged."""
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ToolError(path, "is not a Google Benchmark JSON file (no 'benchmarks' list)")
    context = data.get("context")
    if not isinstance(context, dict):
        raise ToolError(path, "is not a Google Benchmark JSON file (no 'context' object)")
    manifest = parse_manifest(path, context)
    entries = [_Entry(path, entry, i) for i, entry in enumerate(data["benchmarks"])]
    run_names = [_run_name(e) for e in entries]
    names = _keys(run_names, manifest)
    benchmarks: dict[str, Benchmark] = {}
    for e, run_name in zip(entries, run_names):
        name = names[run_name]
        bench = benchmarks.setdefault(name.full, Benchmark(name))
        bench.threads = e.integer("threads", bench.threads, 1)
        run_type = e.text("run_type", "iteration")
        if e.entry.get("error_occurred"):
            bench.error = str(e.entry.get("error_message") or "error")
            continue
        if run_type == "aggregate":
            _add_aggregate(bench, e)
            continue
        bench.time_unit = e.unit()
        bench.samples.append(e.seconds("real_time"))
        if e.has("cpu_time"):
            bench.cpu_samples.append(e.seconds("cpu_time"))
        bench.iterations.append(e.integer("iterations", 0, 0))
        for key, value in e.counters().items():
            bench.counters.setdefault(key, []).append(value)
    for bench in benchmarks.values():
        if bench.samples and len(bench.cpu_samples) != len(bench.samples):
            bench.cpu_samples = []  # cpu_time on some repetitions only: not a sample
        if not bench.samples and bench.median_aggregate is not None and not bench.counters:
            bench.counters = {k: [v] for k, v in bench.median_aggregate["counters"].items()}
    if not benchmarks:
        raise ToolError(path, "has no benchmarks")
    times = [b.median for b in benchmarks.values() if b.error is None and b.median is not None]
    if times and not any(times):
        raise ToolError(path, "has only zero times (every real_time is 0): nothing was measured")
    return Run(path, context, benchmarks, manifest, (path,))


def _add_aggregate(bench: Benchmark, e: _Entry) -> None:
    aggregate = e.text("aggregate_name", "")
    if aggregate in _COMPLEXITY:
        bench.complexity[aggregate] = {k: v for k, v in e.entry.items()
                                       if k in ("big_o", "real_coefficient", "cpu_coefficient",
                                                "rms")}
        return
    if aggregate != "median":
        return  # mean, stddev, cv, user statistics: the tools take the median
    value = e.entry.get("real_time")
    if isinstance(value, float) and not math.isfinite(value):
        return  # a NaN median: the benchmark then has no time
    bench.time_unit = e.unit()
    median = {"real_time": e.seconds("real_time"),
              "repetitions": e.integer("repetitions", 0, 0),
              "iterations": e.integer("iterations", 0, 0),
              "counters": e.counters()}
    if is_finite_number(e.entry.get("cpu_time")):
        median["cpu_time"] = e.seconds("cpu_time")
    bench.median_aggregate = median


def load_run(path: str) -> Run:
    return parse_run(path, load_json(path))


def merge_runs(runs: list[Run]) -> Run:
    """Several files of one configuration as one run: each benchmark's repetitions from every
    file make one sample. Files whose settings differ, or that hold aggregates only, are
    refused (a median of medians is not a sample)."""
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    for run in runs[1:]:
        for key in sorted(set(first.context) | set(run.context)):
            if _volatile(key):
                continue
            a, b = first.context.get(key), run.context.get(key)
            if a != b:
                shown = (f"'{str(a)[:60]}' there and '{str(b)[:60]}' here" if key != CONTEXT_KEY
                         else "different there")
                raise ToolError(run.path, f"is not the same configuration as {first.path} "
                                          f"(context {key}: {shown}); only repetitions of one "
                                          "configuration can be merged")
    merged: dict[str, Benchmark] = {}
    for run in runs:
        for name, b in run.benchmarks.items():
            if b.aggregates_only:
                raise ToolError(run.path, f"holds only aggregates for '{name}' (written with "
                                          "--benchmark_report_aggregates_only): its repetitions "
                                          "cannot be merged")
            m = merged.setdefault(name, Benchmark(b.name, time_unit=b.time_unit,
                                                  threads=b.threads))
            m.error = m.error or b.error
            m.samples += b.samples
            m.iterations += b.iterations
            m.complexity.update(b.complexity)
            for key, values in b.counters.items():
                m.counters.setdefault(key, []).extend(values)
    for name, m in merged.items():
        parts = [r.benchmarks[name] for r in runs if name in r.benchmarks]
        if all(len(p.cpu_samples) == len(p.samples) for p in parts):
            m.cpu_samples = [s for p in parts for s in p.cpu_samples]
    paths = tuple(p for r in runs for p in r.sources)
    return Run(" + ".join(paths), first.context, merged, first.manifest, paths)


MPI_KEY = "parbench_mpi"


def mpi_ranks(run: Run) -> list[dict]:
    """Every rank of an MPI run (bench under mpirun), from the context: rank, host name, CPU
    model, usable CPUs, CPUs and network interfaces (when recorded), clock offset; [] for a
    run without MPI or a malformed entry."""
    text = run.context.get(MPI_KEY)
    if not isinstance(text, str):
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    ranks = data.get("ranks") if isinstance(data, dict) else None
    if not isinstance(ranks, list):
        return []
    return [r for r in ranks if isinstance(r, dict)]


def rank_cpus(run: Run, workers: int) -> int | None:
    """The CPUs worker ranks 1..WORKERS of an MPI run could use, over every host they ran on:
    the union of their CPUs (affinity, per host), or where a rank did not record them, its
    usable CPUs (the most of its host's ranks). None for a run without MPI or with fewer ranks."""
    ranks = {r.get("rank"): r for r in mpi_ranks(run)}
    if not all(w in ranks for w in range(1, workers + 1)):
        return None
    cpus: set[tuple[str, int]] = set()
    usable: dict[str, int] = {}
    for w in range(1, workers + 1):
        host = str(ranks[w].get("host_name", "?"))
        machine = ranks[w].get("machine") if isinstance(ranks[w].get("machine"), dict) else {}
        listed = machine.get("cpus")
        if isinstance(listed, list) and listed:
            cpus.update((host, c) for c in listed if isinstance(c, int))
        elif isinstance(machine.get("usable_cpus"), int):
            usable[host] = max(usable.get(host, 0), machine["usable_cpus"])
    total = len(cpus) + sum(n for h, n in usable.items() if not any(c[0] == h for c in cpus))
    return total or None


def cores(run: Run) -> int | None:
    """The CPUs the run could use (parbench_usable_cpus: its affinity mask and cgroup quota
    applied), else the machine's CPU count, from parbench's context or Google Benchmark's."""
    for key in ("parbench_usable_cpus", "parbench_cores", "num_cpus"):
        try:
            value = int(run.context[key])
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        if value > 0:
            return value
    return None
