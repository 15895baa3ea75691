"""Reading parbench's Chrome Trace Event files (bench --timeline_out)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ToolError
from .gbench import Name, load_json, parse_name


@dataclass
class Task:
    slot: int
    task: int
    start_ms: float
    dur_ms: float
    os_pid: int | None


@dataclass
class Timeline:
    """The last iteration of one benchmark."""

    name: Name
    workers: int
    wall_ms: float
    tasks: list[Task] = field(default_factory=list)


def load_trace(path: str) -> list[Timeline]:
    data = load_json(path)
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise ToolError(path, "is not a Chrome trace (no 'traceEvents' list)")
    names: dict = {}
    timelines: dict = {}
    for e in events:
        if not isinstance(e, dict):
            raise ToolError(path, "has a trace event that is not an object")
        pid = e.get("pid")
        if e.get("ph") == "M" and e.get("name") == "process_name":
            names[pid] = str(e.get("args", {}).get("name", pid))
    for e in events:
        if e.get("ph") != "X":
            continue
        pid = e.get("pid")
        if pid not in names:
            raise ToolError(path, f"has events for pid {pid} without a process_name")
        try:
            ts, dur = float(e["ts"]) / 1e3, float(e["dur"]) / 1e3
        except (KeyError, TypeError, ValueError):
            raise ToolError(path, "has an X event without numeric ts/dur") from None
        tl = timelines.get(pid)
        if tl is None:
            tl = timelines[pid] = Timeline(parse_name(names[pid]), 1, 0.0)
        args = e.get("args", {})
        if e.get("cat") == "iteration":
            tl.wall_ms = dur
            tl.workers = int(args.get("workers", tl.workers))
        else:
            tl.tasks.append(Task(int(e.get("tid", 0)), int(args.get("task", 0)), ts, dur,
                                 args.get("os_pid")))
    if not timelines:
        raise ToolError(path, "has no timeline events")
    return list(timelines.values())
