"""Stored runs read back as the tools' Run objects (gbench.Run), so that the functions written for
files (machines.summarize, speedup_tables, compare) work on runs from the store: the context and
manifest as stored, each benchmark's repetitions (real and CPU time, iterations, interference
per repetition), its error, and its median aggregate when the file held no repetitions. Other
counters were stored as their median over the repetitions: each repetition gets that median."""

from __future__ import annotations

import json

from .gbench import Benchmark, Run, parse_name
from .manifest import parse_manifest
from .store import Store
from .trust import INTERFERENCE_COUNTERS


def _samples_by_result(store: Store, run_ids: list[int]) -> dict[tuple[int, int], list]:
    """(run id, result idx) -> the repetitions' rows, in repetition order."""
    import sqlalchemy as sa
    s = store.tables["samples"]
    query = (sa.select(s.c.run_id, s.c.idx, s.c.repetition, s.c.real_time, s.c.cpu_time,
                       s.c.interference_cpu_frac, s.c.steal_frac, s.c.iterations)
             .where(s.c.run_id.in_(run_ids)).order_by(s.c.run_id, s.c.idx, s.c.repetition))
    out: dict[tuple[int, int], list] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            out.setdefault((row.run_id, row.idx), []).append(row)
    return out


def _benchmark(row, reps: list, manifest) -> Benchmark:
    """One stored result (and its repetitions) as a Benchmark."""
    b = Benchmark(parse_name(row.benchmark, manifest), error=row.error)
    medians = json.loads(row.counters or "{}")
    b.samples = [r.real_time for r in reps]
    cpu = [r.cpu_time for r in reps]
    b.cpu_samples = cpu if reps and all(v is not None for v in cpu) else []
    b.iterations = [r.iterations or 0 for r in reps]
    n = len(reps) or 1
    b.counters = {k: [v] * n for k, v in medians.items() if v is not None}
    for key in INTERFERENCE_COUNTERS:
        values = [getattr(r, key) for r in reps]
        if reps and all(v is not None for v in values):
            b.counters[key] = values
    if not reps and row.error is None and row.real_median is not None:
        b.median_aggregate = {"real_time": row.real_median, "repetitions": row.repetitions,
                              "iterations": 0, "counters": medians}
        if row.cpu_median is not None:
            b.median_aggregate["cpu_time"] = row.cpu_median
    return b


def stored_runs(store: Store, run_ids: list[int]) -> dict[int, Run]:
    """The runs `run_ids` as Run objects, by id (their path: the file they were read from)."""
    import sqlalchemy as sa
    if not run_ids:
        return {}
    t = store.tables
    runs_t, results = t["runs"], t["results"]
    with store.engine.connect() as conn:
        heads = conn.execute(sa.select(runs_t.c.id, runs_t.c.context, runs_t.c.source)
                             .where(runs_t.c.id.in_(run_ids))).all()
        rows = conn.execute(sa.select(results).where(results.c.run_id.in_(run_ids))
                            .order_by(results.c.run_id, results.c.idx)).all()
    samples = _samples_by_result(store, run_ids)
    out: dict[int, Run] = {}
    for head in heads:
        context = json.loads(head.context)
        manifest = parse_manifest(head.source, context)
        out[head.id] = Run(head.source, context, {}, manifest, (head.source,))
    for row in rows:
        run = out[row.run_id]
        b = _benchmark(row, samples.get((row.run_id, row.idx), []), run.manifest)
        run.benchmarks[row.benchmark] = b
    return out
