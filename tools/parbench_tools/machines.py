"""Comparing machines. A summary first: per family the geometric mean of the time ratios
against the first run, with a bootstrap interval; each executor's speedup at workers = the
machine's usable CPUs; METG per executor when the runs swept task durations. Families are
compared only where the runs' workload settings agree (comparability below). Then each
machine's context side by side, then every benchmark. Pure functions over runs; the formats
(Markdown, CSV, JSON, HTML) and the figure are in machines_format.py."""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass, field

from .errors import ToolError
from .gbench import MPI_KEY, Benchmark, Run, cores, mpi_ranks
from .granularity import Metg, curves as sweep_curves, sweep_families
from .speedup import baseline_of
from .stats import CONFIDENCE
from .trust import MAX_INTERFERENCE, disturbed

# The row of the MPI hosts (computed from parbench_mpi, not a context key of its own).
MPI_HOSTS_ROW = "(mpi hosts)"

CONTEXT_ROWS = [
    ("host", "host_name"),
    ("CPU model", "parbench_cpu_model"),
    ("machine CPUs", "num_cpus"),
    ("usable CPUs", "parbench_usable_cpus"),  # affinity mask and cgroup quota applied
    ("affinity CPUs", "parbench_affinity_cpus"),
    ("cgroup CPU quota", "parbench_cgroup_cpu_quota"),
    ("MHz", "mhz_per_cpu"),
    ("caches", "caches"),
    ("OpenBLAS", "parbench_openblas_config"),
    ("OpenBLAS core", "parbench_openblas_core"),
    ("compiler", "parbench_compiler"),
    ("flags", "parbench_cxx_flags"),
    ("build", "parbench_build_type"),
    ("revision", "parbench_git_revision"),
    ("MPI hosts (a run across hosts shows each)", MPI_HOSTS_ROW),
    ("MPI ranks (every machine of the run)", "parbench_mpi"),
    ("noise probe efficiency", "parbench_noise_efficiency"),
    ("noise probe after the run", "parbench_noise_efficiency_end"),
    ("date", "date"),
]


def _caches(value) -> str:
    if not isinstance(value, list):
        return "—"
    parts = []
    for c in value:
        if isinstance(c, dict):
            size = c.get("size", 0)
            parts.append(f"L{c.get('level')}{c.get('type', '')[0:1]} {size // 1024} KiB")
    return ", ".join(parts) or "—"


def _rank_where(machine: dict) -> str:
    """", CPUs 0,1, eth0 10.231.0.2": the rank's affinity and network interfaces, where the
    run recorded them (runs before they were recorded: "")."""
    text = ""
    cpus = machine.get("cpus")
    if isinstance(cpus, list) and cpus:
        text += ", CPUs " + ",".join(str(c) for c in cpus)
    faces = machine.get("interfaces")
    if isinstance(faces, list):
        named = [f"{f.get('name', '?')} {f.get('address', '?')}" for f in faces
                 if isinstance(f, dict)]
        text += ", " + ("; ".join(named) if named else "no network interface")
    return text


def _rank_line(r: dict) -> str:
    machine = r.get("machine") if isinstance(r.get("machine"), dict) else {}
    offset = r.get("clock_offset_ns", 0)
    unc = r.get("clock_uncertainty_ns", 0)
    return (f"r{r.get('rank')} {r.get('host_name', '?')}: {machine.get('cpu_model', '?')}, "
            f"{machine.get('usable_cpus', '?')} usable CPUs{_rank_where(machine)}, clock "
            f"{r.get('clock', '?')} (offset {offset / 1e3:.1f} ± {unc / 1e3:.1f} µs)")


def mpi_hosts(context: dict) -> list[dict]:
    """The hosts of an MPI run, from its context, in rank 0's order: each host's name, its
    ranks, their CPUs and network interfaces (as recorded) and its clock offset to rank 0's
    host (the first rank's; 0 on rank 0's host); [] for a run without MPI."""
    text = context.get(MPI_KEY)
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return []
    ranks = data.get("ranks") if isinstance(data, dict) else None
    if not isinstance(ranks, list):
        return []
    hosts: dict[str, dict] = {}
    for r in ranks:
        if not isinstance(r, dict):
            continue
        machine = r.get("machine") if isinstance(r.get("machine"), dict) else {}
        h = hosts.setdefault(str(r.get("host_name", "?")), {
            "host": str(r.get("host_name", "?")), "ranks": [], "cpus": [], "interfaces": [],
            "clock_offset_ns": r.get("clock_offset_ns", 0),
            "clock_uncertainty_ns": r.get("clock_uncertainty_ns", 0)})
        h["ranks"].append(r.get("rank"))
        for cpu in machine.get("cpus") or []:
            if cpu not in h["cpus"]:
                h["cpus"].append(cpu)
        for face in machine.get("interfaces") or []:
            text = f"{face.get('name', '?')} {face.get('address', '?')}" \
                if isinstance(face, dict) else str(face)
            if text not in h["interfaces"]:
                h["interfaces"].append(text)
    return list(hosts.values())


def host_line(h: dict) -> str:
    """"pb-host1: ranks 1, CPUs 1, eth0 10.231.0.2, clock offset 12.0 ± 6.9 µs"."""
    cpus = ",".join(str(c) for c in h["cpus"]) or "?"
    faces = "; ".join(h["interfaces"]) or "no interface recorded"
    return (f"{h['host']}: ranks {','.join(str(r) for r in h['ranks'])}, CPUs {cpus}, {faces}, "
            f"clock offset {h['clock_offset_ns'] / 1e3:.1f} ± "
            f"{h['clock_uncertainty_ns'] / 1e3:.1f} µs")


def context_value(run: Run, key: str) -> str:
    value = run.context.get(key)
    if key == "caches":
        return _caches(value)
    if key == MPI_HOSTS_ROW:
        hosts = mpi_hosts(run.context)
        return "<br>".join(host_line(h) for h in hosts) if hosts else "—"
    if key == MPI_KEY:
        ranks = mpi_ranks(run)
        return "<br>".join(_rank_line(r) for r in ranks) if ranks else "—"
    return "—" if value is None else str(value)


def check_common(runs: list[Run]) -> None:
    """Refuses runs that share no benchmark with the first: a table of dashes compares
    nothing."""
    first = runs[0]
    for run in runs[1:]:
        if not set(run.benchmarks) & set(first.benchmarks):
            raise ToolError(run.path, f"shares no benchmark with {first.path}: nothing to "
                                      "compare between these machines")


# --- labels ----------------------------------------------------------------------------------

def parse_label(text: str) -> tuple[str, str]:
    """--label NAME=FILE -> (NAME, FILE)."""
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path:
        raise ToolError("--label", f"takes NAME=FILE, not '{text}'")
    return name.strip(), path


def labelled_files(paths: list[str], label_args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The files in order (the positional ones, then those only a --label names) and the label
    given to each (by file). A name or file labelled twice is refused."""
    files = list(paths)
    given: dict[str, str] = {}
    for text in label_args:
        name, path = parse_label(text)
        key = os.path.normpath(path)
        if name in given.values():
            raise ToolError("--label", f"'{name}' names two files")
        match = next((f for f in files if os.path.normpath(f) == key), None)
        if match is None:
            files.append(path)
            match = path
        if match in given:
            raise ToolError("--label", f"{path} is labelled twice")
        given[match] = name
    return files, given


def _int(value) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def cgroup_quota(run: Run) -> float | None:
    """The cgroup CPU quota bench read (CPUs, e.g. 1.5), None when there was none."""
    try:
        value = float(run.context.get("parbench_cgroup_cpu_quota"))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def machine_cpus(run: Run) -> int | None:
    return _int(run.context.get("parbench_cores")) or _int(run.context.get("num_cpus"))


def cpus_text(run: Run) -> str:
    """'2 CPUs', 'CPU 0 of 2' (an affinity mask), 'quota 1.5 of 2 CPUs' (a cgroup quota)."""
    machine, usable = machine_cpus(run), cores(run)
    affinity = [c for c in str(run.context.get("parbench_affinity_cpus") or "").split(",") if c]
    quota = cgroup_quota(run)
    if quota is not None and quota < (len(affinity) or machine or math.inf):
        return f"quota {quota:g} of {len(affinity) or machine} CPUs"
    if affinity and machine and len(affinity) < machine:
        return f"CPU{'s' if len(affinity) > 1 else ''} {','.join(affinity)} of {machine}"
    count = usable or machine
    return f"{count} CPU{'s' if count != 1 else ''}" if count else "? CPUs"


def machine_label(run: Run) -> str:
    """'vm, 2 CPUs', 'vm, CPU 0 of 2', 'vm, quota 1.5 of 2 CPUs'; the file's name when the
    run records neither its host nor its CPUs (a foreign Google Benchmark file)."""
    host, cpus = run.context.get("host_name"), cpus_text(run)
    if not host and cpus == "? CPUs":
        return os.path.basename(run.path) or "?"
    return f"{host or '?'}, {cpus}"


def _date(run: Run, minutes: bool) -> str:
    text = str(run.context.get("date") or "")
    return text[:16].replace("T", " ") if minutes else text[:10]


def _refined(base: str, more: str, run: Run) -> str:
    """`base` with `more` added; a label that is the file's name is replaced by a longer
    one that contains it (its folder), never repeated."""
    if more.endswith(base) and base == os.path.basename(run.path):
        return more
    return f"{base} {more}".rstrip()


def default_labels(runs: list[Run]) -> list[str]:
    """A label per run from its machine (host, usable CPUs, affinity mask or quota); where two
    would read the same, the date is added, else the date and time, else the file's folder and
    name, else #N."""
    base = [machine_label(r) for r in runs]
    labels = base
    refine = (lambda r: _date(r, False), lambda r: _date(r, True),
              lambda r: os.path.join(os.path.basename(os.path.dirname(r.path)),
                                     os.path.basename(r.path)))
    for more in refine:
        clash = {x for x in labels if labels.count(x) > 1}
        if not clash:
            return labels
        labels = [_refined(b, more(r), r) if x in clash else x
                  for x, b, r in zip(labels, base, runs)]
    seen: dict[str, int] = {}
    out = []
    for x in labels:
        seen[x] = seen.get(x, 0) + 1
        out.append(x if labels.count(x) == 1 else f"{x} #{seen[x]}")
    return out


# --- comparability ---------------------------------------------------------------------------
# Merge point: the history store's fingerprint module (branch history, fingerprint.py) checks
# settings, build and machine of whole runs; this adds which family a setting reaches.

# parbench_* context keys that describe the machine, the build's libraries or the run itself
# (not the work a benchmark does): never a workload setting.
NOT_SETTINGS = {
    "parbench_cpu_model", "parbench_cores", "parbench_usable_cpus", "parbench_affinity_cpus",
    "parbench_cgroup_cpu_quota", "parbench_openblas_core", "parbench_openblas_threads",
    "parbench_openblas_config", "parbench_smt", "parbench_memory_bytes", "parbench_kernel",
    "parbench_descriptor_limit", "parbench_git_revision", "parbench_revision_source",
    "parbench_manifest", "parbench_mpi", "parbench_noise_efficiency",
    "parbench_noise_efficiency_end", "parbench_end_time",
}
# The build as parbench's own CMake options set it: a difference changes every family.
BUILD_KEYS = (("build type", "parbench_build_type"), ("compiler flags", "parbench_cxx_flags"),
              ("compiler", "parbench_compiler"), ("sanitizers", "parbench_sanitizers"))
# Settings that choose which benchmarks run, not what one measures (names pair them anyway).
SELECTION = ("workers", "executors")
TASK_COUNTER = "tasks_per_second"
SAME_TASKS = 1.25  # task counts per iteration within this factor are the same work


def settings(run: Run) -> dict[str, str]:
    """bench's flags as the run recorded them (parbench_NAME -> NAME), without the machine's,
    the build's and the run's own keys, and without output files (*_out)."""
    build = {key for _, key in BUILD_KEYS}
    out = {}
    for key, value in run.context.items():
        if (not key.startswith("parbench_") or key in NOT_SETTINGS or key in build
                or key.endswith("_out") or key.endswith("_version")):
            continue
        out[key[len("parbench_"):]] = str(value)
    return out


@dataclass(frozen=True)
class Difference:
    """One setting or build field that differs from the reference run."""

    kind: str  # "setting", "selection" (worker or executor list), "build"
    name: str  # the flag (tasks) or build field (build type)
    reference: str
    other: str

    @property
    def text(self) -> str:
        name = f"--{self.name}" if self.kind != "build" else self.name
        return f"{name} {self.reference or '(none)'} vs {self.other or '(none)'}"


def differences(reference: Run, run: Run) -> list[Difference]:
    """Every workload setting and build field the two runs recorded differently (one that a
    run did not record is not a difference: foreign and older files record less)."""
    out = []
    a, b = settings(reference), settings(run)
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            out.append(Difference("selection" if name in SELECTION else "setting", name,
                                  a[name], b[name]))
    for title, key in BUILD_KEYS:
        va, vb = reference.context.get(key), run.context.get(key)
        if va is not None and vb is not None and str(va).strip() != str(vb).strip():
            out.append(Difference("build", title, str(va).strip(), str(vb).strip()))
    return out


def _prefixes(runs: list[Run], family: str) -> list[str]:
    """'cpu_scaling_', and its workload's 'cpu_': the flags a family owns start so (bench's
    rule for flag names; the workload's prefix is conservative: a family may not read all)."""
    out = [family + "_"]
    for run in runs:
        fam = run.manifest.family(family)
        if fam is not None and fam.workload and fam.workload + "_" not in out:
            out.append(fam.workload + "_")
    return out


def owner_families(name: str, families: list[str], runs: list[Run]) -> list[str]:
    """The families whose own flag `name` is (empty: a suite-wide flag, such as tasks)."""
    return [f for f in families if any(name.startswith(p) for p in _prefixes(runs, f))]


def tasks_per_iteration(b: Benchmark) -> float | None:
    """Tasks of one iteration, tasks_per_second x time, the median over the repetitions."""
    rates = b.counters.get(TASK_COUNTER)
    if not rates or len(rates) != len(b.samples):
        return None
    return statistics.median(r * t for r, t in zip(rates, b.samples))


def same_tasks(reference: Run, run: Run, family: str) -> tuple[bool, str]:
    """Whether every benchmark of `family` both runs measured did as many tasks per
    iteration in each, and the counts when not (or why it cannot be told)."""
    counts = []
    for name, b in reference.benchmarks.items():
        other = run.benchmarks.get(name)
        if b.name.workload != family or other is None:
            continue
        x, y = tasks_per_iteration(b), tasks_per_iteration(other)
        if x is None or y is None or x <= 0 or y <= 0:
            continue
        counts.append((x, y))
        if max(x / y, y / x) > SAME_TASKS:
            return False, f"{x:.0f} vs {y:.0f} tasks per iteration"
    if not counts:
        return False, "no task counts show that it leaves this family's work alone"
    return True, ""


@dataclass
class Comparison:
    """How one run compares with the reference: what differs, and the families left out."""

    differences: list[Difference] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)  # family -> why

    def comparable(self, family: str) -> bool:
        return family not in self.excluded


def compare_settings(reference: Run, run: Run, families: list[str]) -> Comparison:
    """A family is left out when a flag it owns differs (cpu_n for cpu), or when a suite-wide
    flag differs (tasks) and its benchmarks did not do as many tasks per iteration in both
    runs. Worker lists and the build are warned about, not left out (names pair the worker
    counts; a build difference changes every family alike)."""
    result = Comparison(differences(reference, run))
    known = list(dict.fromkeys(families + list(reference.manifest.families)
                               + list(run.manifest.families)))
    for d in result.differences:
        if d.kind != "setting":
            continue
        owners = owner_families(d.name, known, [reference, run])
        for family in owners:
            if family in families:
                result.excluded.setdefault(family, []).append(d.text)
        if owners:
            continue
        for family in families:
            same, why = same_tasks(reference, run, family)
            if not same:
                result.excluded.setdefault(family, []).append(f"{d.text} ({why})")
    return result


# --- geometric means with bootstrap intervals -----------------------------------------------

MIN_REPETITIONS = 3  # fewer on a side: no interval
RESAMPLES = 2000
SEED = 20231  # fixed: the same files give the same intervals


@dataclass
class Ratio:
    """A geometric mean of ratios of medians, with its interval."""

    value: float | None
    low: float | None = None
    high: float | None = None
    count: int = 0  # ratios in the mean
    left_out: int = 0  # disturbed pairs left out
    note: str = ""  # why there is no interval (or no value)


def geomean_ratio(pairs: list[tuple[list[float], list[float]]],
                  confidence: float = CONFIDENCE) -> Ratio:
    """exp(mean(log(median(numerator) / median(denominator)))) over `pairs`, and its
    percentile-bootstrap interval: each side's repetitions resampled with replacement,
    RESAMPLES times. No interval when a side has fewer than MIN_REPETITIONS."""
    import numpy as np
    pairs = [(n, d) for n, d in pairs if n and d and statistics.median(d) > 0
             and statistics.median(n) > 0]
    if not pairs:
        return Ratio(None, note="not run on both")
    logs = [math.log(statistics.median(n) / statistics.median(d)) for n, d in pairs]
    ratio = Ratio(math.exp(statistics.fmean(logs)), count=len(pairs))
    fewest = min(min(len(n), len(d)) for n, d in pairs)
    if fewest < MIN_REPETITIONS:
        ratio.note = f"no interval: {fewest} repetition{'s' if fewest != 1 else ''}"
        return ratio
    rng = np.random.default_rng(SEED)
    total = np.zeros(RESAMPLES)
    for num, den in pairs:
        medians = []
        for side in (np.asarray(num, dtype=float), np.asarray(den, dtype=float)):
            picks = rng.integers(0, len(side), size=(RESAMPLES, len(side)))
            medians.append(np.median(side[picks], axis=1))
        total += np.log(medians[0] / medians[1])
    low, high = np.quantile(np.exp(total / len(pairs)),
                            [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    ratio.low, ratio.high = float(low), float(high)
    return ratio


def _samples(b: Benchmark) -> list[float]:
    return b.samples or ([b.median] if b.median else [])


def _clean(pairs: list[tuple[list[float], list[float], bool]]) -> tuple[list, int]:
    """The pairs without the disturbed ones (all of them when every pair is disturbed), and
    how many were left out."""
    clean = [(n, d) for n, d, hit in pairs if not hit]
    if not clean:
        return [(n, d) for n, d, _ in pairs], 0
    return clean, len(pairs) - len(clean)


# --- the summary -----------------------------------------------------------------------------

def families_of(runs: list[Run]) -> list[str]:
    """The families of the reference run's benchmarks that another run also measured."""
    out: list[str] = []
    first = runs[0]
    for name, b in first.benchmarks.items():
        family = b.name.workload
        if family not in out and any(name in r.benchmarks for r in runs[1:]):
            out.append(family)
    return out


def time_ratio(reference: Run, run: Run, family: str, limit: float,
               confidence: float) -> Ratio:
    """run's time / the reference's, geometric mean over the family's benchmarks both
    measured (disturbed ones left out while others remain)."""
    pairs = []
    for name, b in reference.benchmarks.items():
        other = run.benchmarks.get(name)
        if b.name.workload != family or other is None or not b.measured or not other.measured:
            continue
        pairs.append((_samples(other), _samples(b), disturbed(b, limit) or disturbed(other, limit)))
    clean, left_out = _clean(pairs)
    ratio = geomean_ratio(clean, confidence)
    ratio.left_out = left_out
    return ratio


def pick_workers(counts: list[int], usable: int | None) -> int | None:
    """The worker count equal to the usable CPUs, else the largest below, else the smallest."""
    if not counts:
        return None
    if usable in counts:
        return usable
    fitting = [w for w in counts if usable is None or w <= usable]
    return fitting[-1] if fitting else min(counts)


def speedups_at_usable(run: Run, family: str, limit: float,
                       confidence: float) -> tuple[int | None, dict[str, Ratio]]:
    """Each executor's speedup against the run's own baseline at workers = its usable CPUs
    (the geometric mean over the family's axis values when it has several)."""
    base_name = run.manifest.baseline
    benches = [b for b in run.executor_benchmarks() if b.name.workload == family
               and b.name.executor != base_name and b.measured]
    workers = pick_workers(sorted({b.name.workers for b in benches}), cores(run))
    pairs: dict[str, list] = {}
    for b in benches:
        if b.name.workers != workers:
            continue
        base = baseline_of(run, b)
        if base is None or not base.measured:
            continue
        hit = disturbed(b, limit) or disturbed(base, limit)
        pairs.setdefault(b.name.executor, []).append((_samples(base), _samples(b), hit))
    out = {}
    for executor, found in pairs.items():
        clean, left_out = _clean(found)
        out[executor] = geomean_ratio(clean, confidence)
        out[executor].left_out = left_out
    return workers, out


@dataclass
class MetgCell:
    workers: int
    metg: Metg


def metg_at_usable(run: Run, family: str, limit: float) -> dict[tuple[str, str], MetgCell]:
    """METG per (executor, payload) of a sweep family, at workers = the usable CPUs."""
    found = [c for c in sweep_curves(run, limit) if c.family == family]
    workers = pick_workers(sorted({c.workers for c in found}), cores(run))
    return {(c.executor, c.payload): MetgCell(c.workers, c.analysis)
            for c in found if c.workers == workers}


@dataclass
class Summary:
    """Everything the summary shows, per family and machine (by label)."""

    labels: list[str]
    runs: list[Run]
    comparisons: list[Comparison]  # one per run after the reference
    families: list[str]
    sweeps: list[str]  # families that sweep task durations (METG)
    confidence: float
    time: dict[str, dict[str, Ratio]] = field(default_factory=dict)  # family -> label -> ratio
    speedup_workers: dict[str, dict[str, int | None]] = field(default_factory=dict)
    speedup: dict[str, dict[str, dict[str, Ratio]]] = field(default_factory=dict)
    metg: dict[str, dict[tuple[str, str], dict[str, MetgCell]]] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return self.labels[0]

    def comparable(self, label: str, family: str) -> bool:
        i = self.labels.index(label)
        return i == 0 or self.comparisons[i - 1].comparable(family)

    def excluded(self, label: str, family: str) -> list[str]:
        i = self.labels.index(label)
        return [] if i == 0 else self.comparisons[i - 1].excluded.get(family, [])

    def executors(self, family: str) -> list[str]:
        """The executors with a speedup on some machine, in the first manifest's order."""
        names = {e for per in self.speedup.get(family, {}).values() for e in per}
        order = self.runs[0].manifest
        return sorted(names, key=lambda e: (order.order(e), e))


def summarize(runs: list[Run], labels: list[str], limit: float = MAX_INTERFERENCE,
              confidence: float = CONFIDENCE) -> Summary:
    families = families_of(runs)
    comparisons = [compare_settings(runs[0], run, families) for run in runs[1:]]
    sweeps = [f for f in families if any(f in sweep_families(r) for r in runs)]
    s = Summary(labels, runs, comparisons, families, sweeps, confidence)
    for family in families:
        s.time[family] = {label: time_ratio(runs[0], run, family, limit, confidence)
                          for label, run in zip(labels[1:], runs[1:])}
        if family in sweeps:
            s.metg[family] = _metg_rows(runs, labels, family, limit)
            continue
        s.speedup_workers[family], s.speedup[family] = {}, {}
        for label, run in zip(labels, runs):
            workers, found = speedups_at_usable(run, family, limit, confidence)
            if found:
                s.speedup_workers[family][label] = workers
                s.speedup[family][label] = found
    return s


def _metg_rows(runs: list[Run], labels: list[str], family: str,
               limit: float) -> dict[tuple[str, str], dict[str, MetgCell]]:
    rows: dict[tuple[str, str], dict[str, MetgCell]] = {}
    for label, run in zip(labels, runs):
        for key, cell in metg_at_usable(run, family, limit).items():
            rows.setdefault(key, {})[label] = cell
    return rows
