#!/usr/bin/python3
"""Python's answers to bench's api experiment, against the same loopback server: the
article's ThreadPoolExecutor + urllib, and today's asyncio + aiohttp. Writes Google Benchmark
JSON named like bench's (`api/py_threads/workers:W`, `api/py_asyncio/workers:W`), so
parbench-tools reads it like a bench run and its rows sit beside `api/threads/...` and
`api/async/...`.

    /usr/bin/python3 tools/anchors/api.py --out py_api.json [--workers 32,256] [--tasks 1024]
        [--latency-ms 10] [--bytes 65536] [--repetitions 5] [--min-time 0.5]
        [--executors py_threads,py_asyncio] [--server build/api_server]

The server is bench's own (harness/api_server.cc), started as `build/api_server`: it waits
--latency-ms, then sends --bytes of body, and reports the delay it added and its own CPU time.
One iteration runs --tasks GETs with W in flight; every answer's status and body size are
checked. Debian's python3 with python3-aiohttp; nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # anchor_common, beside it
from anchor_common import (ArgParser, TaskError, UsageError, check_writable,  # noqa: E402
                           git_revision, run_main)

EXECUTORS = ("py_serial", "py_threads", "py_asyncio")
DEFAULT_EXECUTORS = ("py_threads", "py_asyncio")
BASELINE = "py_serial"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SERVER = os.path.normpath(os.path.join(HERE, "..", "..", "build", "api_server"))


# --- the server -----------------------------------------------------------------------------

class Server:
    """bench's loopback server as a child process (build/api_server): its base URL, and its
    statistics on request. Stopped (stdin closed, then waited for) by close()."""

    def __init__(self, exe: str):
        if not os.access(exe, os.X_OK):
            raise UsageError(f"--server {exe}: not an executable (build it: scripts/build build)")
        self.proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.base = self.proc.stdout.readline().strip()
        if not self.base.startswith("http://"):
            self.close()
            raise TaskError(f"{exe} did not print its URL (got {self.base!r})")

    def url(self, latency_ms: int, nbytes: int) -> str:
        return f"{self.base}/?latency_ms={latency_ms}&bytes={nbytes}"

    def command(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# --- the tasks ------------------------------------------------------------------------------

def check_answer(status: int, body: bytes, nbytes: int) -> None:
    if status != 200:
        raise TaskError(f"the server answered HTTP {status}")
    if len(body) != nbytes:
        raise TaskError(f"a body had {len(body)} bytes, expected {nbytes}")


def load_url(url: str, timeout: float) -> tuple[int, bytes]:
    """The article's task (Python's concurrent.futures documentation): urllib, one GET."""
    with urllib.request.urlopen(url, timeout=timeout) as conn:
        return conn.status, conn.read()


class ThreadsRunner:
    """py_threads: ThreadPoolExecutor(W), list(ex.map(load_url, urls)). urllib opens a new
    connection per request (it sends Connection: close), as the article's code does."""

    def __init__(self, workers: int, timeout: float):
        self.pool = concurrent.futures.ThreadPoolExecutor(workers)
        self.timeout = timeout

    def run(self, url: str, tasks: int, nbytes: int) -> None:
        for status, body in self.pool.map(load_url, [url] * tasks, [self.timeout] * tasks):
            check_answer(status, body, nbytes)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class SerialRunner:
    """py_serial: a plain loop of load_url (the baseline; slow: tasks x latency)."""

    def __init__(self, workers: int, timeout: float):
        self.timeout = timeout

    def run(self, url: str, tasks: int, nbytes: int) -> None:
        for _ in range(tasks):
            check_answer(*load_url(url, self.timeout), nbytes)

    def close(self) -> None:
        pass


class AsyncioRunner:
    """py_asyncio: one event loop, one aiohttp ClientSession whose connector keeps at most W
    connections (so W requests in flight), kept alive across iterations; every GET is a
    coroutine, gathered."""

    def __init__(self, workers: int, timeout: float):
        import aiohttp  # Debian's python3-aiohttp; only this executor needs it

        self.aiohttp = aiohttp
        self.loop = asyncio.new_event_loop()
        self.timeout = timeout

        async def make():
            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=workers, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=timeout))

        self.session = self.loop.run_until_complete(make())

    async def _fetch(self, url: str) -> tuple[int, bytes]:
        async with self.session.get(url) as response:
            return response.status, await response.read()

    async def _all(self, url: str, tasks: int) -> list:
        return await asyncio.gather(*(self._fetch(url) for _ in range(tasks)))

    def run(self, url: str, tasks: int, nbytes: int) -> None:
        for status, body in self.loop.run_until_complete(self._all(url, tasks)):
            check_answer(status, body, nbytes)

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()


RUNNERS = {"py_serial": SerialRunner, "py_threads": ThreadsRunner, "py_asyncio": AsyncioRunner}


# --- measuring ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One benchmark: executor and workers (1 for py_serial)."""

    executor: str
    workers: int

    @property
    def run_name(self) -> str:
        """bench's scheme: api/EXECUTOR[/workers:W] (api has no axes)."""
        if self.executor == BASELINE:
            return f"api/{self.executor}"
        return f"api/{self.executor}/workers:{self.workers}"

    @property
    def name(self) -> str:
        return self.run_name + "/real_time"


def make_cases(executors: list[str], workers: list[int]) -> list[Case]:
    cases = []
    for e in EXECUTORS:
        if e not in executors:
            continue
        cases += [Case(e, 1)] if e == BASELINE else [Case(e, w) for w in workers]
    return cases


def ideal_s(tasks: int, workers: int, latency_ms: int) -> float:
    """Perfect overlap: ceil(tasks / W) rounds of one latency each (bench's ideal_fraction)."""
    return math.ceil(tasks / workers) * latency_ms / 1e3


def measure(runner, url: str, tasks: int, nbytes: int, min_time: float) -> dict:
    """Whole iterations until min_time seconds of timed work, as Google Benchmark does.
    Times in seconds; CPU is time.process_time() of this process (every thread)."""
    iterations, real, cpu = 0, 0.0, 0.0
    while True:
        c0, t0 = time.process_time(), time.perf_counter()
        runner.run(url, tasks, nbytes)
        t1, c1 = time.perf_counter(), time.process_time()
        real, cpu, iterations = real + (t1 - t0), cpu + (c1 - c0), iterations + 1
        if real >= min_time:
            break
    return {"iterations": iterations, "real_s": real / iterations, "cpu_s": cpu / iterations,
            "verified": iterations * tasks}


def counters(case: Case, m: dict, server: dict, server_cpu_s: float, args) -> dict:
    """bench's api counters, plus tasks_verified (a check, not a metric)."""
    requests = m["iterations"] * args.tasks
    return {
        "tasks_per_second": args.tasks / m["real_s"],
        "ideal_fraction": ideal_s(args.tasks, case.workers, args.latency_ms) / m["real_s"],
        "cpu_per_request_us": m["cpu_s"] * 1e6 / args.tasks,
        "server_cpu_per_request_us": server_cpu_s * 1e6 / requests,
        "server_delay_ms_median": server["delay_ms_median"],
        "tasks_verified": m["verified"],
    }


def entries(case: Case, index: int, reps: list[dict]) -> list[dict]:
    """Google Benchmark's JSON entries of one benchmark, one per repetition, in ms."""
    return [{"name": case.name, "family_index": index, "per_family_instance_index": 0,
             "run_name": case.name, "run_type": "iteration", "repetitions": len(reps),
             "repetition_index": i, "threads": 1, "iterations": m["iterations"],
             "real_time": m["real_s"] * 1e3, "cpu_time": m["cpu_s"] * 1e3, "time_unit": "ms",
             **m["counters"]}
            for i, m in enumerate(reps)]


# --- the run's description ------------------------------------------------------------------

_TRAITS = ("shares_memory", "single_worker", "transport_axis", "starts_processes",
           "remote_workers", "async")


def _executor(name: str, summary: str, **traits: bool) -> dict:
    return {"name": name, "summary": summary,
            "traits": {t: traits.get(t, False) for t in _TRAITS}}


def manifest(executors: list[str]) -> dict:
    """The run manifest (schema 1), as bench writes it; the baseline is py_serial."""
    table = {
        "py_serial": _executor("py_serial", "a plain Python loop of urllib GETs: the baseline",
                               shares_memory=True, single_worker=True),
        "py_threads": _executor("py_threads", "concurrent.futures.ThreadPoolExecutor(W), "
                                "list(ex.map(load_url, urls)), urllib (a connection per GET)",
                                shares_memory=True),
        "py_asyncio": _executor("py_asyncio", "asyncio + aiohttp: one event loop, W kept-alive "
                                "connections (TCPConnector(limit=W)), asyncio.gather",
                                shares_memory=True, **{"async": True}),
    }
    names = [BASELINE] + [e for e in EXECUTORS if e in executors and e != BASELINE]
    return {
        "schema": 1,
        "name_scheme": "FAMILY/EXECUTOR[/workers:W][/AXIS:VALUE...]",
        "baseline": BASELINE,
        "executors": [table[e] for e in names],
        "families": [{
            "name": "api", "workload": "api", "time_unit": "ms",
            "summary": "an HTTP GET against bench's loopback server (build/api_server), which "
                       "waits --latency-ms, then sends --bytes",
            "executors": names, "axes": [],
            "counters": {"ideal_fraction": {"unit": "", "bigger_is_better": True},
                         "cpu_per_request_us": {"unit": "us", "bigger_is_better": False},
                         "server_cpu_per_request_us": {"unit": "us", "bigger_is_better": False},
                         "server_delay_ms_median": {"unit": "ms", "bigger_is_better": False}},
            "references": []}],
        "counters": {"tasks_per_second": {"unit": "1/s", "bigger_is_better": True}},
    }


def context(args, verified: int) -> dict:
    try:
        import aiohttp
        aiohttp_version = aiohttp.__version__
    except ImportError:
        aiohttp_version = "not installed"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host_name": socket.gethostname(),
        "executable": sys.executable,
        "num_cpus": os.cpu_count(),
        "load_avg": list(os.getloadavg()),
        "library_build_type": "release",
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "aiohttp_version": aiohttp_version,
        "anchors_script": os.path.abspath(__file__),
        "anchors_server": os.path.abspath(args.server),
        "anchors_cpu_time": "time.process_time() of this Python process (every thread); the "
                            "server is another process: its CPU is server_cpu_per_request_us",
        "anchors_tasks_verified": str(verified),
        "anchors_verification": "every answer's status (200) and body size were checked",
        "parbench_cores": str(len(os.sched_getaffinity(0))),
        "parbench_workers": ",".join(map(str, args.workers)),
        "parbench_executors": ",".join(args.executors),
        "parbench_tasks": str(args.tasks),
        "parbench_api_latency_ms": str(args.latency_ms),
        "parbench_api_bytes": str(args.bytes),
        "parbench_git_revision": git_revision(HERE),
        "parbench_manifest": json.dumps(manifest(args.executors), sort_keys=True,
                                        separators=(",", ":")),
    }


# --- the command ----------------------------------------------------------------------------

def parse_list(flag: str, text: str, low: int) -> list[int]:
    out = []
    for part in text.split(","):
        try:
            value = int(part.strip())
        except ValueError:
            raise UsageError(f"{flag}: {part.strip()!r} is not a whole number") from None
        if value < low:
            raise UsageError(f"{flag} must be >= {low}, not {value}")
        if value not in out:
            out.append(value)
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = ArgParser(prog="api.py", description=__doc__.split("\n\n")[0],
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the Google Benchmark JSON file to write")
    p.add_argument("--workers", default="32,256",
                   help="requests in flight (threads; connections), comma separated "
                        "(default 32,256)")
    p.add_argument("--executors", default=",".join(DEFAULT_EXECUTORS),
                   help=f"of {','.join(EXECUTORS)} (default {','.join(DEFAULT_EXECUTORS)})")
    p.add_argument("--tasks", type=int, default=1024, help="GETs per iteration (default 1024)")
    p.add_argument("--latency-ms", type=int, default=10,
                   help="the server's wait before answering (default 10)")
    p.add_argument("--bytes", type=int, default=65536, help="body size (default 65536)")
    p.add_argument("--timeout-s", type=float, default=60.0, help="limit per GET (default 60)")
    p.add_argument("--repetitions", type=int, default=5, help="per benchmark (default 5)")
    p.add_argument("--min-time", type=float, default=0.5,
                   help="seconds of timed iterations per repetition (default 0.5)")
    p.add_argument("--server", default=DEFAULT_SERVER,
                   help="bench's server program (default: build/api_server of this checkout)")
    args = p.parse_args(argv)
    args.workers = parse_list("--workers", args.workers, 1)
    args.executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    for e in args.executors:
        if e not in EXECUTORS:
            raise UsageError(f"--executors: unknown {e!r}; known: {', '.join(EXECUTORS)}")
    for flag, value, low in (("--tasks", args.tasks, 1), ("--repetitions", args.repetitions, 1),
                             ("--latency-ms", args.latency_ms, 0), ("--bytes", args.bytes, 0)):
        if value < low:
            raise UsageError(f"{flag} must be >= {low}, not {value}")
    if not (math.isfinite(args.min_time) and args.min_time >= 0):
        raise UsageError(f"--min-time must be >= 0 seconds, not {args.min_time}")
    if not (math.isfinite(args.timeout_s) and args.timeout_s > 0):
        raise UsageError(f"--timeout-s must be > 0, not {args.timeout_s}")
    check_writable(args.out)
    return args


def raise_file_limit() -> None:
    """As bench does: W connections in flight need W descriptors (and urllib's closed ones
    linger briefly)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(args, out=sys.stdout) -> dict:
    """Measures every case against one server and returns the Google Benchmark document."""
    raise_file_limit()
    server = Server(args.server)
    benchmarks, verified = [], 0
    try:
        url = server.url(args.latency_ms, args.bytes)
        for index, case in enumerate(make_cases(args.executors, args.workers)):
            runner = RUNNERS[case.executor](case.workers, args.timeout_s)
            try:
                measure(runner, url, args.tasks, args.bytes, 0.0)  # warm-up, checked
                reps = []
                for _ in range(args.repetitions):
                    server.command("reset")
                    cpu0 = server.command("stats")["cpu_ms"]
                    m = measure(runner, url, args.tasks, args.bytes, args.min_time)
                    stats = server.command("stats")
                    m["counters"] = counters(case, m, stats, (stats["cpu_ms"] - cpu0) / 1e3, args)
                    reps.append(m)
            finally:
                runner.close()
            verified += sum(m["verified"] for m in reps)
            benchmarks += entries(case, index, reps)
            med = statistics.median(r["real_s"] for r in reps)
            cpu = statistics.median(r["counters"]["cpu_per_request_us"] for r in reps)
            ideal = ideal_s(args.tasks, case.workers, args.latency_ms) / med
            print(f"{case.name:<36} {med * 1e3:9.1f} ms  ideal {ideal:5.3f}  "
                  f"cpu/request {cpu:7.1f} us  x{args.repetitions}", file=out, flush=True)
    except OSError as e:  # urllib's URLError, aiohttp's ClientError: a GET that failed
        raise TaskError(f"a GET failed: {e}") from None
    except asyncio.TimeoutError:
        raise TaskError(f"a GET took longer than {args.timeout_s} s") from None
    finally:
        server.close()
    return {"context": context(args, verified), "benchmarks": benchmarks}


def main(argv: list[str] | None = None) -> int:
    return run_main("api.py", argv, parse_args, run, "server stopped, nothing written")


if __name__ == "__main__":
    sys.exit(main())
