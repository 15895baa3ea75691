"""The executors' own speed against the goals parbench sets itself (docs/executor-speed.md):
dispatch, round trip, start-up, transfer, cpu scaling and api overlap, each read
from the benchmarks of one run. Goals whose benchmarks the run does not hold are left out.
The goals are the suite's own, about its own executors, so they name them; the raw-pipe floor
of the round trip is found through the manifest's references when the run has a manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

from .gbench import Benchmark, Run, cores
from .speedup import format_seconds
from .trust import MARK, MAX_INTERFERENCE, disturbed, interference, rule

GIB = float(1 << 30)
# "Not slower with 1 GiB held": the start-up median may exceed the plain one by this much, the
# run-to-run spread of that benchmark on the reference machine.
STARTUP_TOLERANCE = 0.10
API_GOAL = 0.90
API_MAX_WORKERS = 32
API_GOAL_LATENCY_MS = 10
# The article's finding, reproduced (issue 11): a pure-Python loop gains nothing from threads
# (the GIL) and scales with processes.
PY_PROCESSES_EFFICIENCY = 0.90
PY_THREADS_MAX_SPEEDUP = 1.1
# A plugin's empty task against bench's own, through the same executor in the same run.
PLUGIN_TOLERANCE = 0.10
# Python's own start-up here (python3 -c pass) is 14-18 ms; a worker's interpreter stays below.
INTERPRETER_START_MS = 18.0


@dataclass
class Goal:
    quantity: str
    benchmark: str
    goal: str
    measured: str
    met: bool
    sources: tuple[str, ...] = ()  # the benchmarks it was read from
    disturbed: dict[str, float] = field(default_factory=dict)  # name -> interference, flagged


def _get(run: Run, name: str) -> Benchmark | None:
    return run.benchmarks.get(name)


def _failed(*benches: Benchmark) -> str | None:
    """Why these benchmarks give no usable time (an error, no time, a time of 0), or None."""
    for b in benches:
        if b.error is not None:
            return f"error in {b.name.full}: {b.error}"
        if b.median is None:
            return f"no measurements for {b.name.full} ({b.status})"
        if b.median <= 0:
            return f"{b.name.full} measured 0 s"
    return None


def _reference(run: Run, family: str, compare_to: str, default: str) -> str:
    """The name of the family's reference benchmark for `compare_to` (manifest), or the
    suite's name for it in runs without a manifest."""
    ref = run.manifest.reference(family, compare_to)
    return f"{family}/{ref.name}" if ref is not None else f"{family}/{default}"


def _dispatch(run: Run, executor: str, limit_ns: float) -> Goal | None:
    name = f"overhead/{executor}/workers:2"
    b = _get(run, name)
    if b is None:
        return None
    goal = f"≤ {format_seconds(limit_ns * 1e-9)} per task"
    pool = "thread" if executor == "threads" else "process"
    quantity = f"{pool} pool dispatch, streamed empty tasks"
    problem = _failed(b)
    ns = b.counter("ns_per_task")
    if problem or ns is None:
        return Goal(quantity, name, goal, problem or "no ns_per_task counter", False, (name,))
    return Goal(quantity, name, goal, f"{format_seconds(ns * 1e-9)} per task", ns <= limit_ns,
                (name,))


def _roundtrip(run: Run) -> Goal | None:
    pipe_name = _reference(run, "roundtrip", "processes", "raw_pipe")
    pool, pipe = _get(run, "roundtrip/processes/workers:1"), _get(run, pipe_name)
    if pool is None or pipe is None:
        return None
    quantity = "process pool single-task round trip"
    names = f"roundtrip/processes/workers:1 vs {pipe_name}"
    goal = "≤ 1.5 × a raw pipe ping-pong"
    problem = _failed(pool, pipe)
    sources = (pool.name.full, pipe.name.full)
    if problem:
        return Goal(quantity, names, goal, problem, False, sources)
    ratio = pool.median / pipe.median
    return Goal(quantity, names, goal, f"{format_seconds(pool.median)} vs "
                f"{format_seconds(pipe.median)}: {ratio:.2f}×", ratio <= 1.5, sources)


def _startup(run: Run) -> list[Goal]:
    plain = _get(run, "startup/processes/workers:4")
    held = _get(run, "startup/processes/workers:4/parent_mem:1GiB")
    goals = []
    if plain is not None:
        problem = _failed(plain)
        goals.append(Goal("process pool start-up, 4 workers, one task each", plain.name.full,
                          "≤ 8 ms", problem or format_seconds(plain.median),
                          problem is None and plain.median <= 8e-3, (plain.name.full,)))
    if plain is not None and held is not None:
        quantity = "... with 1 GiB of touched parent memory"
        goal = f"not slower (within {STARTUP_TOLERANCE:.0%})"
        problem = _failed(plain, held)
        sources = (plain.name.full, held.name.full)
        if problem:
            goals.append(Goal(quantity, held.name.full, goal, problem, False, sources))
        else:
            ratio = held.median / plain.median
            goals.append(Goal(quantity, held.name.full, goal,
                              f"{format_seconds(held.median)}: {ratio:.2f}× the plain start-up",
                              ratio <= 1 + STARTUP_TOLERANCE, sources))
    return goals


def _transfer(run: Run) -> Goal | None:
    names = {"pipe": "transfer/processes/workers:1/size:16MiB",
             "shm": "transfer/processes/workers:1/size:16MiB/transport:shm"}
    found = {t: _get(run, n) for t, n in names.items() if _get(run, n) is not None}
    if not found:
        return None
    parts, best = [], 0.0
    for transport, b in found.items():
        problem = _failed(b)
        rate = b.counter("bytes_per_second")
        if problem or rate is None:
            parts.append(f"{transport}: {problem or 'no bytes_per_second counter'}")
            continue
        parts.append(f"{transport} {rate / GIB:.2f} GiB/s")
        best = max(best, rate)
    return Goal("16 MiB to a process worker and back",
                "transfer/processes/workers:1/size:16MiB[/transport:shm]", "≥ 1.5 GiB/s",
                "; ".join(parts), best >= 1.5 * GIB,
                tuple(b.name.full for b in found.values()))


def _cpu(run: Run) -> list[Goal]:
    n = cores(run)
    serial = _get(run, "cpu/serial")
    if n is None or serial is None:
        return []
    goals = []
    for executor, limit in (("threads", 0.90), ("processes", 0.85)):
        b = _get(run, f"cpu/{executor}/workers:{n}")
        if b is None:
            continue
        quantity = f"cpu scaling at workers = cores ({n}), {executor}"
        goal = f"efficiency ≥ {limit:.2f}"
        problem = _failed(serial, b)
        sources = (serial.name.full, b.name.full)
        if problem:
            goals.append(Goal(quantity, b.name.full, goal, problem, False, sources))
            continue
        eff = serial.median / (n * b.median)
        goals.append(Goal(quantity, b.name.full, goal, f"{eff:.3f}", eff >= limit, sources))
    return goals


def _api(run: Run) -> Goal | None:
    benches = sorted((b for b in run.benchmarks.values()
                      if b.name.workload == "api" and b.name.executor == "threads"
                      and not b.name.args and b.name.workers <= API_MAX_WORKERS),
                     key=lambda b: b.name.workers)
    if not benches:
        return None
    latency = run.context.get("parbench_api_latency_ms")
    quantity = f"api overlap, latency {latency} ms, up to {API_MAX_WORKERS} workers"
    if str(latency) != str(API_GOAL_LATENCY_MS):
        quantity += f" (the goal is set at {API_GOAL_LATENCY_MS} ms)"
    parts, met = [], True
    for b in benches:
        problem = _failed(b)
        fraction = b.counter("ideal_fraction")
        if problem or fraction is None:
            parts.append(f"{problem or 'no ideal_fraction counter'} ({b.name.workers})")
            met = False
            continue
        parts.append(f"{fraction:.3f} ({b.name.workers})")
        met = met and fraction >= API_GOAL
    return Goal(quantity, "api/threads/workers:W", f"≥ {API_GOAL:.2f} of ceil(tasks/W) × latency",
                ", ".join(parts), met, tuple(b.name.full for b in benches))


def _python(run: Run) -> list[Goal]:
    n = cores(run)
    serial = _get(run, "py_cpu/serial")
    if n is None or serial is None:
        return []
    goals = []
    for executor in ("threads", "processes"):
        b = _get(run, f"py_cpu/{executor}/workers:{n}")
        if b is None:
            continue
        sources = (serial.name.full, b.name.full)
        problem = _failed(serial, b)
        if executor == "threads":
            quantity = f"pure-Python loop, {n} threads (the GIL)"
            goal = f"speedup ≤ {PY_THREADS_MAX_SPEEDUP:.1f}×"
        else:
            quantity = f"pure-Python loop, {n} processes"
            goal = f"efficiency ≥ {PY_PROCESSES_EFFICIENCY:.2f}"
        if problem:
            goals.append(Goal(quantity, b.name.full, goal, problem, False, sources))
            continue
        speedup = serial.median / b.median
        if executor == "threads":
            goals.append(Goal(quantity, b.name.full, goal, f"{speedup:.2f}×",
                              speedup <= PY_THREADS_MAX_SPEEDUP, sources))
        else:
            eff = speedup / n
            goals.append(Goal(quantity, b.name.full, goal, f"{eff:.3f}",
                              eff >= PY_PROCESSES_EFFICIENCY, sources))
    return goals


def _plugin(run: Run) -> list[Goal]:
    goals = []
    for executor in ("serial", "threads", "processes"):
        suffix = "" if executor == "serial" else "/workers:2"
        plugin = _get(run, f"plugin/{executor}{suffix}/name:example")
        builtin = _get(run, f"overhead/{executor}{suffix}")
        if plugin is None or builtin is None:
            continue
        quantity = f"example plugin's empty task vs overhead, {executor}"
        goal = f"within {PLUGIN_TOLERANCE:.0%} of overhead"
        sources = (plugin.name.full, builtin.name.full)
        problem = _failed(plugin, builtin)
        a, b = plugin.counter("ns_per_task"), builtin.counter("ns_per_task")
        if problem or a is None or b is None:
            goals.append(Goal(quantity, plugin.name.full, goal,
                              problem or "no ns_per_task counter", False, sources))
            continue
        ratio = a / b
        goals.append(Goal(quantity, plugin.name.full, goal,
                          f"{a:.0f} vs {b:.0f} ns per task: {ratio:.2f}×",
                          ratio <= 1 + PLUGIN_TOLERANCE, sources))
    return goals


def _interpreter(run: Run) -> Goal | None:
    benches = [b for b in run.benchmarks.values()
               if b.name.workload == "startup" and b.name.executor == "processes"
               and b.counter("interpreter_start_ms") is not None
               and "parent_mem:1GiB" not in b.name.full]
    if not benches:
        return None
    b = min(benches, key=lambda x: x.name.workers)
    ms = b.counter("interpreter_start_ms")
    problem = _failed(b)
    return Goal("Python interpreter start-up per process worker", b.name.full,
                f"≤ {INTERPRETER_START_MS:.0f} ms", problem or f"{ms:.1f} ms",
                problem is None and ms <= INTERPRETER_START_MS, (b.name.full,))


def evaluate(run: Run, max_interference: float = MAX_INTERFERENCE) -> list[Goal]:
    """Every goal this run has the benchmarks for, in the docs' order; each notes which of
    its benchmarks ran with interference above `max_interference`."""
    goals: list[Goal | None] = [
        _dispatch(run, "threads", 1000.0),
        _dispatch(run, "processes", 5000.0),
        _roundtrip(run),
        *_startup(run),
        _transfer(run),
        *_cpu(run),
        _api(run),
        *_python(run),
        *_plugin(run),
        _interpreter(run),
    ]
    found = [g for g in goals if g is not None]
    for g in found:
        for name in g.sources:
            b = run.benchmarks.get(name)
            if disturbed(b, max_interference):
                g.disturbed[name] = interference(b)
    return found


def verdict_text(g: Goal) -> str:
    """'met', '**missed**', and '⚠ disturbed' when a benchmark it reads ran disturbed."""
    verdict = "met" if g.met else "**missed**"
    return verdict + (f" {MARK} disturbed" if g.disturbed else "")


def disturbed_text(g: Goal) -> str:
    return ", ".join(f"`{name}` {value:.0%}" for name, value in g.disturbed.items())


def to_markdown(goals: list[Goal], max_interference: float = MAX_INTERFERENCE) -> str:
    lines = ["| quantity | benchmark | goal | measured (median) | |", "|---|---|---|---|---|"]
    for g in goals:
        lines.append(f"| {g.quantity} | `{g.benchmark}` | {g.goal} | {g.measured} | "
                     f"{verdict_text(g)} |")
    flagged = [g for g in goals if g.disturbed]
    if flagged:
        which = "; ".join(f"{g.quantity}: {disturbed_text(g)}" for g in flagged)
        lines += ["", f"{MARK} disturbed: {rule(max_interference)}; a miss there may be the "
                      f"machine's, not the executor's. {which}."]
    return "\n".join(lines) + "\n"
