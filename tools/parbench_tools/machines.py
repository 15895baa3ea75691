"""Comparing machines: their context side by side, then each benchmark's time and speedup."""

from __future__ import annotations

import json

from .errors import ToolError
from .gbench import Run
from .speedup import format_seconds, speedup_tables
from .trust import MARK, MAX_INTERFERENCE, disturbed, rule

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


MPI_KEY = "parbench_mpi"


def mpi_ranks(run: Run) -> list[dict]:
    """Every rank of an MPI run (bench under mpirun), from the context: rank, host name, CPU
    model, usable CPUs, clock offset; [] for a run without MPI or a malformed entry."""
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


def _rank_line(r: dict) -> str:
    machine = r.get("machine") if isinstance(r.get("machine"), dict) else {}
    offset = r.get("clock_offset_ns", 0)
    unc = r.get("clock_uncertainty_ns", 0)
    return (f"r{r.get('rank')} {r.get('host_name', '?')}: {machine.get('cpu_model', '?')}, "
            f"{machine.get('usable_cpus', '?')} usable CPUs, clock {r.get('clock', '?')} "
            f"(offset {offset / 1e3:.1f} ± {unc / 1e3:.1f} µs)")


def context_value(run: Run, key: str) -> str:
    value = run.context.get(key)
    if key == "caches":
        return _caches(value)
    if key == MPI_KEY:
        ranks = mpi_ranks(run)
        return "<br>".join(_rank_line(r) for r in ranks) if ranks else "—"
    return "—" if value is None else str(value)


def _speedups(run: Run) -> dict[str, float]:
    out = {}
    for t in speedup_tables(run):
        for c in t.cells:
            if c.speedup is not None and c.executor != t.baseline:
                out[f"{t.label} {c.executor} x{c.workers}"] = c.speedup
    return out


def check_common(runs: list[Run]) -> None:
    """Refuses runs that share no benchmark with the first: a table of dashes compares
    nothing."""
    first = runs[0]
    for run in runs[1:]:
        if not set(run.benchmarks) & set(first.benchmarks):
            raise ToolError(run.path, f"shares no benchmark with {first.path}: nothing to "
                                      "compare between these machines")


def to_markdown(runs: list[Run], labels: list[str],
                max_interference: float = MAX_INTERFERENCE) -> str:
    out = ["## Machines", "", "| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(runs)]
    for title, key in CONTEXT_ROWS:
        out.append(f"| {title} | " + " | ".join(context_value(r, key) for r in runs) + " |")
    base = runs[0]
    ratio_head = [f"{label}/{labels[0]}" for label in labels[1:]]
    out += ["", "## Times (median per iteration)", "",
            "| benchmark | " + " | ".join(labels + ratio_head) + " |",
            "|---|" + "---|" * (len(labels) + len(ratio_head))]
    for name, bench in base.benchmarks.items():
        cells, ratios = [], []
        for r in runs:
            b = r.benchmarks.get(name)
            if b is None or not b.measured:
                cells.append("error" if b is not None and b.error else "—")
                ratios.append(None)
            else:
                mark = f"{MARK} " if disturbed(b, max_interference) else ""
                cells.append(mark + format_seconds(b.median))
                ratios.append(b.median)
        ratio_cells = [f"{x / ratios[0]:.2f}" if x and ratios[0] else "—" for x in ratios[1:]]
        out.append(f"| `{name}` | " + " | ".join(cells + ratio_cells) + " |")
    if any(MARK in line for line in out):
        out += ["", f"{MARK}: {rule(max_interference)}."]
    speedups = [_speedups(r) for r in runs]
    baseline = runs[0].manifest.baseline
    out += ["", f"## Speedups against each machine's own {baseline} run", "",
            "| benchmark | " + " | ".join(labels + ratio_head) + " |",
            "|---|" + "---|" * (len(labels) + len(ratio_head))]
    for key in speedups[0]:
        values = [s.get(key) for s in speedups]
        cells = [f"{v:.2f}×" if v is not None else "—" for v in values]
        ratios = [f"{v / values[0]:.2f}" if v is not None and values[0] else "—"
                  for v in values[1:]]
        out.append(f"| {key} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(out) + "\n"
