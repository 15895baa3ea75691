"""One sentence per family (and per group of its axis values) from the speedup tables:
'cpu: threads and processes 1.98× at 2 workers; more workers add nothing on 2 CPUs.' A cost
family says what a unit of work costs; a task-duration sweep is read by its METG
(granularity.py), so it is left to that verdict."""

from __future__ import annotations

from .gbench import Run, cores
from .speedup import Cell, Table, ratio_text
from .trust import MARK

# Speedups within this factor of each other read as one ("threads and processes 1.98×").
SAME = 1.05
# Below this a speedup is a loss, up to its inverse no gain: a dispatch costs something.
NO_GAIN = 1.1
# More workers than CPUs pay off when the best count beats the usable CPUs' by this factor.
PAYS_BEYOND = 1.1


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _nearest(t: Table, executor: str, cpus: int) -> Cell | None:
    """The executor's measured cell at the usable CPUs, else at the nearest count."""
    cells = [c for c in t.cells if c.executor == executor and c.speedup is not None]
    return min(cells, key=lambda c: (abs(c.workers - cpus), c.workers), default=None)


def _usable(t: Table, executor: str, cpus: int) -> int:
    """The CPUs the executor's workers could use: the run's, or more where its cells' efficiency
    divisors say so (MPI's worker ranks across hosts use every host's CPUs)."""
    return max([c.cpus for c in t.cells if c.executor == executor and c.cpus] + [cpus])


def _clusters(at: dict[str, Cell]) -> list[tuple[list[str], float]]:
    """Executors whose speedups are within SAME of each other, fastest first, with the
    cluster's median speedup."""
    ordered = sorted(at.items(), key=lambda kv: -kv[1].speedup)
    out: list[tuple[list[str], list[float]]] = []
    for name, cell in ordered:
        if out and out[-1][1][0] <= cell.speedup * SAME:
            out[-1][0].append(name)
            out[-1][1].append(cell.speedup)
        else:
            out.append(([name], [cell.speedup]))
    return [(names, sorted(s)[len(s) // 2]) for names, s in out]


def _claim(names: list[str], speedup: float) -> str:
    text = f"{_and(names)} {speedup:.3g}×"
    if speedup < 1 / NO_GAIN:
        return text + " (slower than the baseline)"
    if speedup < NO_GAIN:
        return text + " (no gain)"
    return text


def _beyond(t: Table, at: dict[str, Cell], cpus: int) -> str:
    """What counts above the usable CPUs did: the executors they paid off for, or nothing."""
    more = [c for c in t.cells if c.workers > _usable(t, c.executor, cpus)
            and c.speedup is not None]
    if not more:
        return ""
    gains = []
    for executor, cell in at.items():
        best = max((c for c in more if c.executor == executor), key=lambda c: c.speedup,
                   default=None)
        if best is not None and best.speedup > max(cell.speedup * PAYS_BEYOND, NO_GAIN):
            gains.append(f"{executor} reaches {best.speedup:.3g}× at {best.workers}")
    if gains:
        return "; more workers than CPUs pay off (the tasks wait): " + ", ".join(gains)
    return f"; more workers add nothing on {cpus} CPU{'s' if cpus != 1 else ''}"


def _trust(t: Table) -> str:
    flagged = [c for c in t.cells if c.flagged and c.executor != t.baseline]
    failed = [c for c in t.cells if c.error is not None]
    notes = []
    if t.baseline_disturbed:
        notes.append(f"{MARK} the baseline ran disturbed: every number here is suspect")
    elif flagged:
        notes.append(f"{MARK} {len(flagged)} of {len(t.cells)} ran disturbed")
    if failed:
        notes.append(f"{len(failed)} failed")
    return f" ({'; '.join(notes)})" if notes else ""


def speedup_verdict(t: Table, cpus: int) -> str | None:
    """'cpu: threads and processes 1.98× at 2 workers; more workers add nothing on 2 CPUs.'"""
    at = {e: c for e in t.executors if (c := _nearest(t, e, _usable(t, e, cpus))) is not None}
    if not at:
        return None
    counts = {c.workers for c in at.values()}
    where = f"at {_and([str(w) for w in sorted(counts)])} worker{'s' if max(counts) > 1 else ''}"
    claims = "; ".join(_claim(names, s) for names, s in _clusters(at))
    return f"{t.label}: {claims} {where}{_beyond(t, at, cpus)}{_trust(t)}."


def cost_verdict(t: Table, cpus: int) -> str | None:
    """'overhead: per task, serial 63.8 ns; at 2 workers threads 104 ns (1.63× serial's),
    processes 1.2 µs (19×).'"""
    parts = []
    for executor in t.executors:
        c = _nearest(t, executor, cpus) or next(
            (x for x in t.cells if x.executor == executor and x.cost_text), None)
        if c is None or c.cost_text is None:
            continue
        ratio = (f" ({ratio_text(c.floor_ratio)} {c.floor}'s)" if c.floor_ratio is not None
                 else "")
        parts.append(f"{executor} {c.cost_text.replace(' ' + t.cost.per, '')}{ratio}")
    if not parts:
        return None
    base = f", {t.baseline} {t.baseline_cost_text.replace(' ' + t.cost.per, '')}" \
        if t.baseline_cost_text else ""
    return (f"{t.label}: {t.cost.per}{base}; at {cpus} worker{'s' if cpus != 1 else ''} "
            f"{', '.join(parts)}{_trust(t)}.")


def verdicts(run: Run, tables: list[Table]) -> list[str]:
    """One sentence per table that has something to say, in table order; sweeps excluded."""
    cpus = cores(run) or 1
    out = []
    for t in tables:
        if t.sweep or t.baseline_s is None:
            continue
        sentence = cost_verdict(t, cpus) if t.cost is not None else speedup_verdict(t, cpus)
        if sentence:
            out.append(sentence)
    return out
