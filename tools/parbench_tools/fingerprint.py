"""What makes two runs comparable, read from their contexts: the machine (measured by bench: CPU
model, CPUs, cgroup quota, SMT, memory, caches, kernel; never the host name, which is only a
label), the build (compiler, flags, build type, sanitizers, library versions) and the workload
parameters (every bench flag that changes what a benchmark measures). Each has a fingerprint,
a short hash of its fields, so that the run store can keep one series per machine and build.
Pure functions over a context dict."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

# (field, context keys tried in order). Google Benchmark's own keys stand in for foreign files.
MACHINE_FIELDS = (
    ("cpu_model", ("parbench_cpu_model",)),
    ("machine_cpus", ("parbench_cores", "num_cpus")),
    ("usable_cpus", ("parbench_usable_cpus",)),
    ("cgroup_cpu_quota", ("parbench_cgroup_cpu_quota",)),
    ("smt", ("parbench_smt",)),
    ("memory_bytes", ("parbench_memory_bytes",)),
    ("caches", ("caches",)),
    ("kernel", ("parbench_kernel",)),
)
BUILD_FIELDS = (
    ("compiler", ("parbench_compiler",)),
    ("cxx_flags", ("parbench_cxx_flags",)),
    ("build_type", ("parbench_build_type",)),
    ("sanitizers", ("parbench_sanitizers",)),
    ("google_benchmark", ("parbench_google_benchmark_version", "library_version")),
    ("google_benchmark_build_type", ("library_build_type",)),
    ("boost", ("parbench_boost_version",)),
    ("libcurl", ("parbench_libcurl_version",)),
    ("openblas", ("parbench_openblas_config",)),
)
# parbench_* keys that are neither workload parameters nor machine or build: what the run is
# (revision, manifest), what it saw (noise probes, MPI ranks), where it wrote, when it ended.
_NOT_SETTINGS = {
    "parbench_git_revision", "parbench_revision_source", "parbench_manifest", "parbench_mpi",
    "parbench_noise_efficiency", "parbench_noise_efficiency_end", "parbench_end_time",
    "parbench_commit_order", "parbench_commit_time",
    "parbench_affinity_cpus", "parbench_openblas_core", "parbench_descriptor_limit",
    "parbench_openblas_threads",  # bench sets it from the usable CPUs: the machine's
}
# Workload parameters that choose which benchmarks run, not what one of them measures: a run
# with another worker list still continues the series of the benchmarks both have.
SELECTION_SETTINGS = ("workers", "executors")


def _value(context: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in context and context[key] not in (None, ""):
            return _normal(key, context[key])
    return None


def _normal(key: str, value: Any) -> Any:
    """One spelling per value: numbers as numbers, caches as a sorted list of plain tuples."""
    if key == "caches" and isinstance(value, list):
        rows = [[c.get("level"), c.get("type"), c.get("size"), c.get("num_sharing")]
                for c in value if isinstance(c, dict)]
        return sorted(rows, key=lambda r: json.dumps(r))
    if isinstance(value, str):
        text = value.strip()
        return int(text) if re.fullmatch(r"-?[0-9]+", text) else text
    return value


def compatible(a: dict, b: dict) -> bool:
    """Whether two machines' (or builds') fields agree on every field both recorded: a run of
    an older bench records less of the same machine."""
    return all(a[k] == b[k] for k in set(a) & set(b) if a[k] is not None and b[k] is not None)


def agreeing(a: dict, b: dict) -> int:
    """How many fields both recorded (and agree on, when compatible)."""
    return sum(1 for k in set(a) & set(b) if a[k] is not None and b[k] is not None)


def resolve(known: list[tuple[int, str, dict]], fields: dict) -> tuple[int, str, dict] | None:
    """The stored (id, fingerprint, fields) that `fields` are compatible with, the one that
    shares the most recorded fields (then the oldest); None when none is."""
    fits = [k for k in known if compatible(k[2], fields)]
    return max(fits, key=lambda k: (agreeing(k[2], fields), -k[0]), default=None)


def digest(fields: dict) -> str:
    """A 16-hex-digit hash of `fields` (sorted keys, canonical JSON)."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def machine(context: dict) -> dict:
    """The machine's measured fields (None where the run did not record one)."""
    return {name: _value(context, keys) for name, keys in MACHINE_FIELDS}


def build(context: dict) -> dict:
    """The build's fields (None where the run did not record one)."""
    return {name: _value(context, keys) for name, keys in BUILD_FIELDS}


def settings(context: dict) -> dict:
    """The workload parameters: every bench flag in the context (parbench_NAME, under NAME)
    except those that say where output goes, and the machine's and build's own keys."""
    own = {k for _, keys in MACHINE_FIELDS + BUILD_FIELDS for k in keys}
    out = {}
    for key, value in context.items():
        if not key.startswith("parbench_") or key in _NOT_SETTINGS or key in own:
            continue
        name = key[len("parbench_"):]
        if name.endswith("_out"):  # where a file went (timeline_out)
            continue
        out[name] = _normal(key, value)
    return out


def family_settings(all_settings: dict, family: str, families: set[str]) -> dict:
    """The workload parameters a benchmark of `family` depends on: the family's own
    (FAMILY_x, the longest family name that prefixes it) and the general ones (tasks,
    task_timeout_s...), without the worker and executor selection."""
    return {k: v for k, v in all_settings.items()
            if k not in SELECTION_SETTINGS and _relevant(k, families, {family})}


def changed(a: dict, b: dict) -> list[str]:
    """'cpu_n: 200000 vs 3000000' for each parameter both record with different values (one a
    newer bench added is not a change: its default was the behaviour before)."""
    return [f"{k}: {_shown(a[k])} vs {_shown(b[k])}" for k in sorted(set(a) & set(b))
            if a[k] != b[k]]


def series_settings(context: dict) -> dict:
    """The workload parameters that split a series (those that change what a benchmark
    measures): settings() without the worker and executor selection."""
    return {k: v for k, v in settings(context).items() if k not in SELECTION_SETTINGS}


@dataclass(frozen=True)
class Fingerprints:
    machine: str
    build: str
    settings: str


def fingerprints(context: dict) -> Fingerprints:
    return Fingerprints(digest(machine(context)), digest(build(context)),
                        digest(series_settings(context)))


def _shown(value: Any) -> str:
    if value is None:
        return "not recorded"
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def differences(a: dict, b: dict, what: str) -> list[str]:
    """'cpu_n: 200000 vs 3000000' for each field whose values differ (a field one side did not
    record is not a difference: older and foreign runs record less)."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if va is None or vb is None or va == vb:
            continue
        out.append(f"{what} {key}: {_shown(va)} vs {_shown(vb)}")
    return out


def _family_names(context: dict) -> set[str]:
    from .manifest import parse_manifest
    try:
        return set(parse_manifest("", context).families)
    except Exception:  # a damaged manifest: its run's reader says so; here, no families
        return set()


def _relevant(name: str, families: set[str], compared: set[str] | None) -> bool:
    """A parameter FAMILY_x (the longest family name that prefixes it) matters only when
    FAMILY is among the compared families; the others (tasks, workers) always."""
    if compared is None:
        return True
    owner = max((f for f in families if name.startswith(f + "_")), key=len, default=None)
    return owner is None or owner in compared


def comparability(a: dict, b: dict, with_machine: bool = True,
                  families: set[str] | None = None) -> list[str]:
    """What differs between two runs' contexts that makes their times incomparable: workload
    parameters (those of `families` and the general ones, or all; the executor selection
    aside, since a benchmark only one side has is not compared), build, and (with_machine)
    the machine. Empty: comparable."""
    known = _family_names(a) | _family_names(b)
    sa_, sb = ({k: v for k, v in settings(c).items()
                if k != "executors" and _relevant(k, known, families)} for c in (a, b))
    out = differences(sa_, sb, "workload parameter")
    out += differences(build(a), build(b), "build")
    if with_machine:
        out += differences(machine(a), machine(b), "machine")
    return out
