"""Reading parbench's Chrome Trace Event files (bench --timeline_out), validated as they are
read: a damaged trace is one ToolError naming the file and the problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ToolError
from .gbench import Name, is_finite_number, load_json, parse_name
from .manifest import CONTEXT_KEY, FALLBACK, Manifest, parse_manifest


@dataclass
class Task:
    slot: int
    task: int
    start_ms: float
    dur_ms: float
    os_pid: int | None
    host: int = 0  # index into Timeline.hosts (0: where bench ran)
    rank: int | None = None  # the worker's MPI rank, if it has one


@dataclass
class Timeline:
    """The last iteration of one benchmark."""

    name: Name
    workers: int
    wall_ms: float
    tasks: list[Task] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # the trace's host table (otherData.hosts)
    iterations: int | None = None  # the run it was the last iteration of had this many
    tasks_total: int | None = None  # the iteration's tasks (bench keeps the first 1000 spans)

    def lane_label(self, slot: int) -> str:
        """"w0", or for a worker with a rank "w0 HOST r1": which machine and rank the lane is."""
        ranked = next((t for t in self.tasks if t.slot == slot and t.rank is not None), None)
        if ranked is None:
            return f"w{slot}"
        host = self.hosts[ranked.host] if ranked.host < len(self.hosts) else f"host {ranked.host}"
        return f"w{slot} {host} r{ranked.rank}"


class _Event:
    """One trace event with typed access; wrong types are a ToolError."""

    def __init__(self, path: str, event: Any, index: int):
        if not isinstance(event, dict):
            raise ToolError(path, f"has a trace event (#{index + 1}) that is not an object")
        self.path, self.e, self.index = path, event, index
        args = event.get("args", {})
        if not isinstance(args, dict):
            self.fail("'args' that is not an object")
        self.args = args

    def fail(self, what: str):
        raise ToolError(self.path, f"has a trace event (#{self.index + 1}) with {what}")

    def integer(self, obj: dict, key: str, default: int, minimum: int) -> int:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"a '{key}' that is not an integer >= {minimum} ({value!r})")
        return value

    def number(self, key: str, minimum: float | None) -> float:
        value = self.e.get(key)
        if not is_finite_number(value):
            self.fail(f"no finite numeric '{key}'")
        if minimum is not None and value < minimum:
            self.fail(f"a negative '{key}' ({value})")
        return float(value)

    @property
    def pid(self) -> int:
        if "pid" not in self.e:
            self.fail("no 'pid'")
        return self.integer(self.e, "pid", 0, 0)


def trace_manifest(path: str, data: Any) -> Manifest | None:
    """The manifest a trace carries in otherData, if any."""
    other = data.get("otherData") if isinstance(data, dict) else None
    if isinstance(other, dict) and CONTEXT_KEY in other:
        return parse_manifest(path, other)
    return None


def _benchmark_of(label: str, hosts: list[str]) -> str:
    """The benchmark a lane group belongs to: bench names the group of another host than rank
    0's "NAME @ HOST"."""
    for host in hosts[1:]:
        if label.endswith(" @ " + host):
            return label[:-len(" @ " + host)]
    return label


def load_trace(path: str, manifest: Manifest = FALLBACK) -> list[Timeline]:
    """The trace's timelines; names are read with the trace's own manifest, else `manifest`
    (the run's), else the fallback executor names."""
    data = load_json(path)
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise ToolError(path, "is not a Chrome trace (no 'traceEvents' list)")
    manifest = trace_manifest(path, data) or manifest
    other = data.get("otherData") if isinstance(data, dict) else None
    hosts = other.get("hosts", []) if isinstance(other, dict) else []
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ToolError(path, "has an otherData.hosts that is not a list of names")
    parsed = [_Event(path, e, i) for i, e in enumerate(events)]
    names: dict[int, str] = {}
    for ev in parsed:
        if ev.e.get("ph") == "M" and ev.e.get("name") == "process_name":
            label = ev.args.get("name")
            if not isinstance(label, str):
                ev.fail("a process_name whose args.name is not a string")
            names[ev.pid] = _benchmark_of(label, hosts)
    timelines: dict[str, Timeline] = {}
    for ev in parsed:
        if ev.e.get("ph") != "X":
            continue
        pid = ev.pid
        if pid not in names:
            raise ToolError(path, f"has events for pid {pid} without a process_name")
        ts, dur = ev.number("ts", None) / 1e3, ev.number("dur", 0) / 1e3
        # A benchmark's lane groups (one per host) make one timeline.
        tl = timelines.get(names[pid])
        if tl is None:
            tl = timelines[names[pid]] = Timeline(parse_name(names[pid], manifest), 1, 0.0,
                                                  hosts=list(hosts))
        if ev.e.get("cat") == "iteration":
            tl.wall_ms = dur
            tl.workers = ev.integer(ev.args, "workers", tl.workers, 1)
            if "iterations" in ev.args:
                tl.iterations = ev.integer(ev.args, "iterations", 1, 1)
            if "tasks" in ev.args:
                tl.tasks_total = ev.integer(ev.args, "tasks", 0, 0)
        else:
            rank = ev.integer(ev.args, "rank", -1, -1)
            tl.tasks.append(Task(ev.integer(ev.e, "tid", 0, 0), ev.integer(ev.args, "task", 0, 0),
                                 ts, dur, ev.integer(ev.args, "os_pid", 0, 0) or None,
                                 ev.integer(ev.args, "host", 0, 0), rank if rank >= 0 else None))
    if not timelines:
        raise ToolError(path, "has no timeline events")
    return list(timelines.values())
