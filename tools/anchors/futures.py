#!/usr/bin/python3
"""Python's own executors as the baseline parbench is read against: concurrent.futures'
ThreadPoolExecutor and ProcessPoolExecutor, run through bench's `granularity` and `overhead`
sweeps and written as Google Benchmark JSON named like bench's, so that parbench-tools puts
`granularity/py_threads/...` beside `granularity/threads/...`.

    /usr/bin/python3 tools/anchors/futures.py --out anchors.json [--durations 1us,10us]
        [--workers 2] [--dispatch per_task,adaptive] [--repetitions 5] [--min-time 0.2]
        [--work-ms 10] [--min-tasks 32] [--overhead-tasks 10000]
        [--start-method forkserver|spawn]

The task is the article's pure-Python loop (`count += i` for i in range(n)), n calibrated once
per run so that it lasts the nominal duration here; every result is checked. Executors are
driven in the article's shape, `list(ex.map(f, args))`. The process pool runs in both of
bench's dispatch modes (the `dispatch` axis): `per_task`, chunksize 1 (one pickled call per
message, the article's default), and `adaptive`, chunksize from bench's process pool rule; every
point reports `tasks_per_message`. Standard library only.
"""

from __future__ import annotations

import signal

if __name__ == "__main__":
    # A Ctrl-C before run() starts (during the imports, a heavy second) ends the script
    # quietly by the signal; nothing has started that would need shutting down.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from time import perf_counter_ns  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # anchor_common, beside it
from anchor_common import (ArgParser, TaskError, UsageError, check_writable,  # noqa: E402
                           git_revision, run_main)

# bench's sweep from 100 ns, in its order and spelling (the `task` axis values of its
# granularity family). bench's 10 ns and 30 ns are left out: one step of the Python loop takes
# tens of ns, so no Python task can be that short.
DURATIONS = ("100ns", "300ns", "1us", "3us", "10us", "30us", "100us", "300us", "1ms", "3ms",
             "10ms")
UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000}
MAX_TASKS = 20_000  # bench's upper clamp of tasks per iteration
EXECUTORS = ("py_serial", "py_threads", "py_processes")
BASELINE = "py_serial"
START_METHODS = ("forkserver", "spawn")
# bench's dispatch axis for executors that send tasks in messages (here py_processes only):
# per_task = one task per message; adaptive = bench's process pool rule (adaptive_chunksize).
DISPATCHES = ("per_task", "adaptive")
MESSAGE_EXECUTORS = ("py_processes",)  # the executors the dispatch axis applies to
FRAME_WORK_NS = 200_000  # bench's kMessageWorkNs (executors/remote/dispatcher.h): work per message
MAX_CHUNK = 65_536  # bench's upper clamp of tasks per message
CALIBRATION_TRIAL_S = 0.02
CALIBRATION_TRIALS = 5


# --- the tasks (module level: the process pool pickles them by name) ------------------------

def spin(n: int) -> tuple[int, int]:
    """The article's CPU-bound task: n steps of `count += i`. Returns (count, span in ns of
    the loop, measured inside the worker)."""
    start = perf_counter_ns()
    count = 0
    for i in range(n):
        count += i
    return count, perf_counter_ns() - start


def empty(i: int) -> int:
    """overhead's task: nothing but returning its index."""
    return i


def ignore_sigint() -> None:
    """Process workers' initializer: Ctrl-C (sent to the whole foreground group) is the
    parent's to handle; it shuts the pool down cleanly. A worker starts with SIGINT blocked
    (see spawning_workers): one that arrived before this ran is pending, and is dropped here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class DeferredSigint:
    """Ctrl-C as a request honoured at safe points (between iterations), not as an exception
    raised at any bytecode: an asynchronous KeyboardInterrupt can land inside threading's own
    locks (Semaphore.acquire in ThreadPoolExecutor.submit) and leave one held, and the pool's
    shutdown() then waits forever. A second Ctrl-C raises at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raises KeyboardInterrupt here, a safe point, once Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self._old)


@contextlib.contextmanager
def spawning_workers(pool):
    """Around a call that may start process workers: SIGINT blocked in this thread, so a
    worker (and the forkserver) inherits the mask and a Ctrl-C that lands between its start
    and its initializer cannot kill it half-started (which can leave the pool's shutdown
    waiting forever). This process still gets the signal once the mask is restored."""
    if not isinstance(pool, concurrent.futures.ProcessPoolExecutor):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- the sweep ------------------------------------------------------------------------------

def parse_duration(text: str) -> int:
    """A duration of bench's sweep ("100ns", "1us", "10ms") in ns; UsageError otherwise."""
    if text not in DURATIONS:
        raise UsageError(f"unknown task duration {text!r}; bench's sweep has "
                         f"{', '.join(DURATIONS)}")
    return int(text[:-2]) * UNIT_NS[text[-2:]]


def parse_durations(text: str) -> list[str]:
    """A comma list of durations, returned in the sweep's order without repeats."""
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    if not wanted:
        raise UsageError("--durations is empty")
    for t in wanted:
        parse_duration(t)
    return [d for d in DURATIONS if d in wanted]


def parse_workers(text: str) -> list[int]:
    """A comma list of worker counts (each >= 1), in the given order without repeats."""
    out = []
    for part in text.split(","):
        try:
            w = int(part.strip())
        except ValueError:
            raise UsageError(f"--workers: {part.strip()!r} is not a whole number") from None
        if w < 1:
            raise UsageError(f"--workers must be >= 1, not {w}")
        if w not in out:
            out.append(w)
    return out


def tasks_per_iteration(duration_ns: int, work_ns: float, min_tasks: int) -> int:
    """bench's formula: clamp(ceil(work_ns / duration_ns), min_tasks, 20000)."""
    return max(min_tasks, min(MAX_TASKS, math.ceil(work_ns / duration_ns)))


def steps_for(duration_ns: int, steps_per_ns: float) -> int:
    return max(1, round(duration_ns * steps_per_ns))


def adaptive_chunksize(mean_task_ns: float, tasks: int, workers: int) -> int:
    """bench's process pool rule for tasks per message (Dispatcher::ChunkSize in
    executors/remote/dispatcher.cc): about FRAME_WORK_NS of work per message, at most half of a
    fair share of the tasks (tasks / (2 x workers)), clamped to 1 .. MAX_CHUNK. bench recomputes the
    fair share from the tasks still to send before each message; ex.map takes one chunksize for
    the whole batch, so the fair share here is that of the whole batch."""
    by_work = FRAME_WORK_NS / max(mean_task_ns, 1.0)
    fair = tasks / (2.0 * workers)
    return int(min(max(min(by_work, fair), 1.0), MAX_CHUNK))


def parse_dispatches(text: str) -> list[str]:
    """A comma list of dispatch modes, returned in DISPATCHES' order without repeats."""
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    if not wanted:
        raise UsageError("--dispatch is empty")
    for t in wanted:
        if t not in DISPATCHES:
            raise UsageError(f"unknown dispatch mode {t!r}; bench's are {', '.join(DISPATCHES)}")
    return [d for d in DISPATCHES if d in wanted]


def calibrate(trial_s: float = CALIBRATION_TRIAL_S, trials: int = CALIBRATION_TRIALS) -> float:
    """spin's steps per ns in this interpreter: the fastest of `trials` runs of ~trial_s."""
    n = 1_000
    while True:
        count, span = spin(n)
        check_spin([(count, span)], n)
        if span >= 2_000_000 or n >= 1 << 40:
            break
        n *= 4
    n = max(1, int(n * trial_s * 1e9 / max(span, 1)))
    best = None
    for _ in range(trials):
        result = spin(n)
        check_spin([result], n)
        best = result[1] if best is None else min(best, result[1])
    return n / max(best, 1)


@dataclass(frozen=True)
class Case:
    """One benchmark: family, executor, workers (1 for py_serial), the task axis value ("" for
    overhead), tasks per iteration, spin steps per task (0 for overhead) and the dispatch mode
    ("" for executors without the axis)."""

    family: str
    executor: str
    workers: int
    task: str
    tasks: int
    steps: int = 0
    dispatch: str = ""

    @property
    def run_name(self) -> str:
        """bench's scheme: FAMILY/EXECUTOR[/workers:W][/task:VALUE][/dispatch:MODE]."""
        parts = [self.family, self.executor]
        if self.executor != BASELINE:
            parts.append(f"workers:{self.workers}")
        if self.task:
            parts.append(f"task:{self.task}")
        if self.dispatch:
            parts.append(f"dispatch:{self.dispatch}")
        return "/".join(parts)

    @property
    def name(self) -> str:
        return self.run_name + "/real_time"


def make_cases(durations: list[str], workers: list[int], work_ns: float, min_tasks: int,
               overhead_tasks: int, steps_per_ns: float,
               dispatches: tuple[str, ...] | list[str] = DISPATCHES) -> list[Case]:
    """The sweep in bench's order: per duration every executor (py_processes once per dispatch
    mode), then overhead."""
    executors = [(BASELINE, 1, "")] + [
        (e, w, d) for w in workers for e in EXECUTORS[1:]
        for d in (dispatches if e in MESSAGE_EXECUTORS else ("",))]
    cases = []
    for task in durations:
        ns = parse_duration(task)
        for e, w, d in executors:
            cases.append(Case("granularity", e, w, task,
                              tasks_per_iteration(ns, work_ns, min_tasks),
                              steps_for(ns, steps_per_ns), d))
    cases += [Case("overhead", e, w, "", overhead_tasks, 0, d) for e, w, d in executors]
    return cases


def check_spin(results: list, n: int) -> int:
    """Checks every spin result against n(n-1)/2; returns the sum of the spans (ns)."""
    expected = n * (n - 1) // 2
    total = 0
    for count, span in results:
        if count != expected:
            raise TaskError(f"a spin task of {n} steps returned {count}, not {expected}")
        total += span
    return total


def check_overhead(results: list, tasks: int) -> None:
    if results != list(range(tasks)):
        raise TaskError(f"the {tasks} empty tasks did not return their indices in order")


# --- measuring ------------------------------------------------------------------------------

def groups(cases: list[Case]) -> list[list[Case]]:
    """The cases compared with one another (one family and task value, every executor), in
    order: their repetitions are interleaved."""
    out: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        out.setdefault((c.family, c.task), []).append(c)
    return list(out.values())


def run_once(pool, fn, args: list, chunksize: int = 1) -> list:
    """One iteration: a plain loop for py_serial, the article's list(ex.map(f, args)) else
    (ThreadPoolExecutor ignores chunksize: one task per work item)."""
    if pool is None:
        return [fn(a) for a in args]
    with spawning_workers(pool):  # map() submits every task (and starts workers) at once
        results = pool.map(fn, args, chunksize=chunksize)
    return list(results)


def tasks_per_message(tasks: int, chunksize: int) -> float:
    """The mean tasks per message when ex.map cuts `tasks` into chunks of `chunksize`."""
    return tasks / math.ceil(tasks / chunksize)


def measure(case: Case, pool, min_time: float, sigint: DeferredSigint | None = None,
            chunksize: int = 1) -> dict:
    """Whole iterations until min_time (s) of timed work, as Google Benchmark does; results
    are checked between iterations, outside the timed region. Times in seconds."""
    fn, args = (spin, [case.steps] * case.tasks) if case.steps else (empty, range(case.tasks))
    args = list(args)
    iterations, real, cpu, span = 0, 0.0, 0.0, 0
    while True:
        c0, t0 = time.process_time(), time.perf_counter()
        results = run_once(pool, fn, args, chunksize)
        t1, c1 = time.perf_counter(), time.process_time()
        real, cpu, iterations = real + (t1 - t0), cpu + (c1 - c0), iterations + 1
        if sigint is not None:
            sigint.check()
        if case.steps:
            span += check_spin(results, case.steps)
        else:
            check_overhead(results, case.tasks)
        if real >= min_time:
            break
    return {"iterations": iterations, "real_s": real / iterations, "cpu_s": cpu / iterations,
            "span_ns": span / (iterations * case.tasks), "verified": iterations * case.tasks,
            "chunksize": chunksize}


def warm_up(case: Case, pool, sigint: DeferredSigint | None = None) -> int:
    """One untimed, checked iteration, one task per message (as bench's process pool before it
    has timed a task); returns the chunksize the case's timed iterations use: 1, or for
    adaptive dispatch bench's rule on the mean task duration this iteration measured (empty
    tasks count as 0 ns: the fair share decides)."""
    m = measure(case, pool, 0.0, sigint)
    if case.dispatch != "adaptive":
        return 1
    return adaptive_chunksize(m["span_ns"], case.tasks, case.workers)


def counters(case: Case, m: dict, steps_per_ns: float) -> dict:
    """bench's counters for the family, plus tasks_verified (a check, not a metric).
    tasks_per_message, as bench reports it on every point: py_processes the mean of its
    chunks; 1 for py_serial and py_threads, which take one task at a time (no messages)."""
    out = {"tasks_per_second": case.tasks / m["real_s"],
           "tasks_per_message": tasks_per_message(case.tasks, m["chunksize"])}
    if case.family == "granularity":
        out.update(steps_per_ns=steps_per_ns, task_ns=m["span_ns"],
                   task_ns_nominal=float(parse_duration(case.task)))
    else:
        out["ns_per_task"] = m["real_s"] * 1e9 / case.tasks
    out["tasks_verified"] = m["verified"]
    return out


def entries(case: Case, index: int, reps: list[dict], steps_per_ns: float) -> list[dict]:
    """Google Benchmark's JSON entries of one benchmark, one per repetition; the time unit
    (ms or us) chosen from the first repetition, shared by all."""
    unit, scale = ("us", 1e6) if reps[0]["real_s"] < 1e-3 else ("ms", 1e3)
    return [{"name": case.name, "family_index": index, "per_family_instance_index": 0,
             "run_name": case.name, "run_type": "iteration", "repetitions": len(reps),
             "repetition_index": i, "threads": 1, "iterations": m["iterations"],
             "real_time": m["real_s"] * scale, "cpu_time": m["cpu_s"] * scale,
             "time_unit": unit, **counters(case, m, steps_per_ns)}
            for i, m in enumerate(reps)]


def make_pool(executor: str, workers: int, start_method: str):
    if executor == "py_threads":
        return concurrent.futures.ThreadPoolExecutor(workers)
    if executor == "py_processes":
        return concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(start_method),
            initializer=ignore_sigint)
    return None


def shut_down(pools: dict) -> None:
    """Every pool shut down: queued tasks cancelled, workers joined (no orphans)."""
    for pool in pools.values():
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- the run's description ------------------------------------------------------------------

_TRAITS = ("shares_memory", "single_worker", "transport_axis", "starts_processes",
           "remote_workers", "sends_messages", "async")


def _executor(name: str, summary: str, dispatch: str, **traits: bool) -> dict:
    return {"name": name, "summary": summary, "dispatch": dispatch,
            "traits": {t: traits.get(t, False) for t in _TRAITS}}


def manifest() -> dict:
    """The run manifest (schema 1, bench/manifest.cc), as bench writes it."""
    executors = list(EXECUTORS)
    dispatch = {"name": "dispatch", "values": list(DISPATCHES),
                "executors": list(MESSAGE_EXECUTORS)}
    return {
        "schema": 1,
        "name_scheme": "FAMILY/EXECUTOR[/workers:W][/AXIS:VALUE...]",
        "baseline": BASELINE,
        "executors": [
            _executor("py_serial", "a plain Python loop calling the task: the baseline",
                      "one task at a time, in the caller", shares_memory=True,
                      single_worker=True),
            _executor("py_threads", "concurrent.futures.ThreadPoolExecutor(W), "
                      "list(ex.map(f, args))", "one task at a time: a work item per task "
                      "(map ignores chunksize for threads)", shares_memory=True),
            _executor("py_processes", "concurrent.futures.ProcessPoolExecutor(W), "
                      "list(ex.map(f, args, chunksize=c))", "tasks in pickled chunks: "
                      "per_task c = 1, adaptive c = bench's process pool rule (about 200 us of "
                      "work per message, at most tasks / (2 W))", starts_processes=True,
                      sends_messages=True),
        ],
        "families": [
            {"name": "granularity", "workload": "python_loop", "time_unit": "ms",
             "summary": "pure-Python loops (count += i) calibrated to last 100 ns .. 10 ms: "
                        "from which task size does each of Python's executors pay off?",
             "executors": executors,
             "axes": [{"name": "task", "values": list(DURATIONS)}, dispatch],
             "counters": {"task_ns": {"unit": "ns", "bigger_is_better": False},
                          "task_ns_nominal": {"unit": "ns", "bigger_is_better": False},
                          "steps_per_ns": {"unit": "1/ns", "bigger_is_better": True}},
             "references": []},
            {"name": "overhead", "workload": "overhead", "time_unit": "ms",
             "summary": "an empty Python task (returns its index), --overhead-tasks per "
                        "iteration", "executors": executors, "axes": [dispatch],
             "counters": {"ns_per_task": {"unit": "ns", "bigger_is_better": False}},
             "references": []},
        ],
        "counters": {"tasks_per_second": {"unit": "1/s", "bigger_is_better": True},
                     # How tasks reached the workers, per message (1: one at a time), as bench.
                     "tasks_per_message": {"unit": "", "bigger_is_better": True}},
    }


def context(args, steps_per_ns: float, verified: int) -> dict:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": sys.executable,
        "num_cpus": os.cpu_count(),
        "load_avg": list(os.getloadavg()),
        "library_build_type": "release",
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        # relative to the checkout: a committed run names no machine path
        "anchors_script": os.path.relpath(os.path.abspath(__file__), os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..")),
        "anchors_start_method": args.start_method,
        "anchors_dispatch": "py_processes' ex.map chunksize: per_task 1; adaptive from bench's "
                            "process pool rule, min(200 us / mean task duration, tasks / "
                            "(2 W)) clamped to 1..65536, the mean measured in the benchmark's "
                            "warm-up iteration (run with chunksize 1)",
        "anchors_cpu_time": "time.process_time() of the parent process: all its threads "
                            "(so py_threads' workers count), not py_processes' workers",
        "anchors_steps_per_ns": f"{steps_per_ns:.6g}",
        "anchors_tasks_verified": str(verified),
        "anchors_verification": "every spin task's count was checked against n(n-1)/2 and "
                                "every empty task's result against its index (tasks_verified "
                                "per repetition)",
        "parbench_cores": str(len(os.sched_getaffinity(0))),
        "parbench_workers": ",".join(map(str, args.workers)),
        "parbench_executors": ",".join(EXECUTORS),
        "parbench_git_revision": git_revision(os.path.dirname(os.path.abspath(__file__))),
        "parbench_granularity_work_ms": f"{args.work_ms:g}",
        "parbench_granularity_min_tasks": str(args.min_tasks),
        "parbench_overhead_tasks": str(args.overhead_tasks),
        "parbench_manifest": json.dumps(manifest(), sort_keys=True, separators=(",", ":")),
    }


# --- reading it back: the efficiency table --------------------------------------------------

def medians(benchmarks: list[dict]) -> dict[str, float]:
    """run_name -> median real time (s) over its repetitions."""
    scale = {"us": 1e-6, "ms": 1e-3}
    times: dict[str, list[float]] = {}
    for b in benchmarks:
        times.setdefault(b["run_name"], []).append(b["real_time"] * scale[b["time_unit"]])
    return {k: statistics.median(v) for k, v in times.items()}


def _column(e: str, w: int, d: str) -> str:
    """'py_processes/w2/adaptive': an executor's column heading."""
    return f"{e}/w{w}" + (f"/{d}" if d else "")


def efficiency_table(cases: list[Case], benchmarks: list[dict]) -> str:
    """Efficiency = serial time / (W x executor time) per duration, plus overhead per task."""
    med = medians(benchmarks)
    serial = {c.task: med[c.name] for c in cases if c.executor == BASELINE}
    columns = [(c.executor, c.workers, c.dispatch) for c in cases
               if c.family == "overhead" and c.executor != BASELINE]
    width = max([18] + [len(_column(*c)) + 2 for c in columns])
    head = "task".ljust(8) + "".join(_column(*c).rjust(width) for c in columns)
    lines = ["efficiency = py_serial time / (W x executor time), medians:", head]
    for task in dict.fromkeys(c.task for c in cases if c.family == "granularity"):
        row = task.ljust(8)
        for e, w, d in columns:
            t = med[Case("granularity", e, w, task, 0, 0, d).name]
            row += f"{serial[task] / (w * t):{width}.3f}"
        lines.append(row)
    over = {(c.executor, c.workers, c.dispatch): med[c.name] / c.tasks * 1e9 for c in cases
            if c.family == "overhead"}
    lines.append("overhead, ns per empty task: " + ", ".join(
        (_column(e, w, d) if e != BASELINE else e) + f" {ns:.0f}"
        for (e, w, d), ns in over.items()))
    return "\n".join(lines) + "\n"


# --- the command ----------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = ArgParser(prog="futures.py", description=__doc__.split("\n\n")[0],
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the Google Benchmark JSON file to write")
    p.add_argument("--durations", default=",".join(DURATIONS),
                   help="task durations to run, of bench's sweep (default: all of "
                        f"{','.join(DURATIONS)})")
    p.add_argument("--workers", default=str(len(os.sched_getaffinity(0))),
                   help="worker counts, comma separated (default: the CPUs this process may "
                        "use)")
    p.add_argument("--dispatch", default=",".join(DISPATCHES),
                   help="py_processes' dispatch modes: per_task (chunksize 1), adaptive "
                        "(bench's rule) (default: both)")
    p.add_argument("--repetitions", type=int, default=5, help="per benchmark (default 5)")
    p.add_argument("--min-time", type=float, default=0.2,
                   help="seconds of timed iterations per repetition (default 0.2)")
    p.add_argument("--work-ms", type=float, default=10.0,
                   help="granularity: work per iteration, ms (default 10)")
    p.add_argument("--min-tasks", type=int, default=32,
                   help="granularity: fewest tasks per iteration (default 32)")
    p.add_argument("--overhead-tasks", type=int, default=10_000,
                   help="overhead: empty tasks per iteration (default 10000)")
    p.add_argument("--start-method", default="forkserver", choices=START_METHODS,
                   help="py_processes' multiprocessing start method (default forkserver)")
    args = p.parse_args(argv)
    args.durations = parse_durations(args.durations)
    args.workers = parse_workers(args.workers)
    args.dispatch = parse_dispatches(args.dispatch)
    for flag, value, low in (("--repetitions", args.repetitions, 1),
                             ("--min-tasks", args.min_tasks, 1),
                             ("--overhead-tasks", args.overhead_tasks, 1)):
        if value < low:
            raise UsageError(f"{flag} must be >= {low}, not {value}")
    if args.min_tasks > MAX_TASKS:
        raise UsageError(f"--min-tasks must be <= {MAX_TASKS}, not {args.min_tasks}")
    if not (math.isfinite(args.min_time) and args.min_time >= 0):
        raise UsageError(f"--min-time must be >= 0 seconds, not {args.min_time}")
    if not (math.isfinite(args.work_ms) and args.work_ms > 0):
        raise UsageError(f"--work-ms must be > 0, not {args.work_ms}")
    check_writable(args.out)
    return args


def run(args, out=sys.stdout) -> dict:
    """Calibrates, measures every case (pools created and warmed first, shut down after) and
    returns the Google Benchmark document."""
    sigint = DeferredSigint()
    pools: dict = {}
    benchmarks, verified = [], 0
    try:
        steps_per_ns = calibrate()
        print(f"calibrated: {steps_per_ns:.4g} loop steps per ns "
              f"({1 / steps_per_ns:.1f} ns per step)", file=out, flush=True)
        cases = make_cases(args.durations, args.workers, args.work_ms * 1e6, args.min_tasks,
                           args.overhead_tasks, steps_per_ns, args.dispatch)
        for c in cases:  # create and warm every pool before any timing
            sigint.check()
            if (c.executor, c.workers) not in pools:
                pools[(c.executor, c.workers)] = make_pool(c.executor, c.workers,
                                                           args.start_method)
                warm_up(c, pools[(c.executor, c.workers)], sigint)
        for group in groups(cases):
            chunks = {c: warm_up(c, pools[(c.executor, c.workers)], sigint) for c in group}
            reps = {c: [] for c in group}
            for _ in range(args.repetitions):  # interleaved: load drift hits every executor
                for c in group:
                    reps[c].append(measure(c, pools[(c.executor, c.workers)], args.min_time,
                                           sigint, chunks[c]))
            for c in group:
                verified += sum(m["verified"] for m in reps[c])
                benchmarks += entries(c, cases.index(c), reps[c], steps_per_ns)
                m = statistics.median(r["real_s"] for r in reps[c])
                print(f"{c.name:<70} {m * 1e3:10.3f} ms  x{args.repetitions}  "
                      f"{tasks_per_message(c.tasks, chunks[c]):g} tasks/message", file=out,
                      flush=True)
    except concurrent.futures.BrokenExecutor as e:
        raise TaskError(f"a pool broke: {e}") from None
    finally:
        shut_down(pools)
        sigint.restore()
    print(efficiency_table(cases, benchmarks), file=out, end="", flush=True)
    return {"context": context(args, steps_per_ns, verified), "benchmarks": benchmarks}


def main(argv: list[str] | None = None) -> int:
    return run_main("futures.py", argv, parse_args, run, "pools shut down, nothing written")


if __name__ == "__main__":
    sys.exit(main())
