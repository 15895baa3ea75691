"""How far a run's numbers can be trusted: the interference bench measured on each benchmark
(CPU time other processes took on the usable CPUs, and the hypervisor's steal time, as
fractions of the CPUs' capacity), and the noise probes before and after the run. A benchmark
that ran while someone else held a core reads as a slow executor; these flags say so."""

from __future__ import annotations

import math
import statistics

from .errors import ToolError
from .gbench import Benchmark, Run

# bench's per-benchmark counters (bench/suite.cc CpuMeter), fractions of the usable CPUs' time.
INTERFERENCE_COUNTERS = ("interference_cpu_frac", "steal_frac")
# Flag a benchmark when others took more than this share of the usable CPUs while it ran: on
# 2 CPUs, 0.10 is a fifth of a core; the same benchmark on a quiet machine reads 0.00-0.03.
MAX_INTERFERENCE = 0.10
# The noise probe (parallel efficiency of a known spin on every usable CPU) reads ~1.0 quiet.
QUIET_PROBE = 0.90
MARK = "⚠"  # the mark of a flagged cell in every table


def check_max_interference(where: str, text: str) -> float:
    """--max-interference: a fraction >= 0 (1 = never flag what bench can measure)."""
    try:
        value = float(text)
    except ValueError:
        raise ToolError(where, f"'{text}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ToolError(where, f"must be a finite fraction >= 0 (e.g. 0.10), not '{text}'")
    return value


def check_confidence(text: str) -> float:
    """--confidence: a level at least 0.5 and below 1 (e.g. 0.95)."""
    try:
        value = float(text)
    except ValueError:
        raise ToolError("--confidence", f"'{text}' is not a number") from None
    if not 0.5 <= value < 1:
        raise ToolError("--confidence", f"must be at least 0.5 and below 1, not '{text}'")
    return value


def interference(b: Benchmark) -> float | None:
    """interference_cpu_frac + steal_frac of `b`, the median over its repetitions (per
    repetition summed, then the median); None when bench did not measure it (older or foreign
    files)."""
    series = [b.counters.get(key) for key in INTERFERENCE_COUNTERS]
    present = [s for s in series if s]
    if not present:
        return None
    if all(s and len(s) == len(present[0]) for s in series):
        return statistics.median(sum(values) for values in zip(*series))
    return sum(statistics.median(s) for s in present)


def disturbed(b: Benchmark | None, limit: float = MAX_INTERFERENCE) -> bool:
    """True when `b` ran while others took more than `limit` of the usable CPUs."""
    if b is None:
        return False
    value = interference(b)
    return value is not None and value > limit


def measured_interference(run: Run) -> bool:
    """Whether any benchmark of the run carries bench's interference counters."""
    return any(interference(b) is not None for b in run.benchmarks.values())


def rule(limit: float) -> str:
    """The flagging rule in words, for legends and warnings."""
    return (f"while it ran, other processes (and the hypervisor's steal) took more than "
            f"{limit:.0%} of the usable CPUs (interference_cpu_frac + steal_frac, median over "
            "the repetitions): it measured the machine's load as much as the executor")


def _probe(run: Run, key: str) -> float | None:
    try:
        value = float(run.context.get(key))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def noise_warnings(run: Run) -> list[str]:
    """A warning for each noise probe (before the run, after it) that saw a busy machine."""
    out = []
    before = _probe(run, "parbench_noise_efficiency")
    if before is not None and before < QUIET_PROBE:
        out.append(f"The noise probe measured a parallel efficiency of {before:.2f} before the "
                   "run: the machine was busy or a core was taken away. Read speedups with care.")
    after = _probe(run, "parbench_noise_efficiency_end")
    if after is not None and after < QUIET_PROBE:
        out.append(f"The noise probe measured a parallel efficiency of {after:.2f} after the "
                   "run: the machine was busy or a core was taken during the run. Read speedups "
                   "with care" + (f"; each benchmark's own interference is measured, and those "
                                  f"it disturbed are marked {MARK}."
                                  if measured_interference(run) else "."))
    return out


def disturbed_warning(run: Run, limit: float, names: list[str] | None = None) -> str | None:
    """One sentence when benchmarks of `run` (those named, or all) were disturbed."""
    benches = [run.benchmarks[n] for n in (names if names is not None else run.benchmarks)
               if n in run.benchmarks]
    measured = [b for b in benches if interference(b) is not None]
    hit = [b for b in measured if disturbed(b, limit)]
    if not hit:
        return None
    worst = max(interference(b) for b in hit)
    return (f"{len(hit)} of {len(measured)} benchmarks ran while other processes took more "
            f"than {limit:.0%} of the usable CPUs (up to {worst:.0%}); they are marked {MARK}. "
            "Their times say as much about the machine's load as about the executor.")
