"""bench's profiles (--profile=quick|full), as a run's context records them: which one ran,
its timing settings and what it left out, for table headers; and the refusal to compute what
a quick run would mislead about (the goals, the README's numbers)."""

from __future__ import annotations

import json

from .errors import ToolError
from .gbench import Run


def profile_of(run: Run) -> str | None:
    """'quick' or 'full'; None for runs from before profiles (or foreign files)."""
    value = run.context.get("parbench_profile")
    return value if isinstance(value, str) and value else None


def is_quick(run: Run) -> bool:
    return profile_of(run) == "quick"


def _left_out(run: Run) -> dict:
    raw = run.context.get("parbench_profile_left_out")
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def left_out_text(run: Run) -> str:
    """'workers 4,8 (kept for api, io, ...); granularity task 300ns,3us' or ''."""
    data = _left_out(run)
    parts = []
    workers = data.get("workers_left_out") or []
    if workers:
        kept = ", ".join(str(k) for k in data.get("workers_kept_for") or [])
        parts.append(f"workers {','.join(str(w) for w in workers)}"
                     + (f" (kept for {kept})" if kept else ""))
    axes = data.get("axes_left_out") or {}
    for family, values in axes.items() if isinstance(axes, dict) else ():
        for axis, left in values.items() if isinstance(values, dict) else ():
            parts.append(f"{family} {axis} {','.join(str(v) for v in left)}")
    return "; ".join(parts)


def profile_line(run: Run) -> str:
    """One line for a table's header: 'Profile quick: 3 repetitions of >= 0.05 s; left out:
    ...', or '' for runs without a profile."""
    profile = profile_of(run)
    if profile is None:
        return ""
    reps = run.context.get("parbench_benchmark_repetitions", "?")
    min_time = run.context.get("parbench_benchmark_min_time", "?")
    line = f"Profile {profile}: {reps} repetitions of >= {min_time} s"
    left = left_out_text(run)
    if left:
        line += f"; left out: {left}"
    if profile == "quick":
        line += " (bench --profile=full measures every point)"
    return line


def refuse_quick(run: Run, what: str) -> None:
    """A ToolError when `run` is a quick run: `what` (the goals, a README table) needs the full
    profile's points and repetitions."""
    if is_quick(run):
        raise ToolError(run.path, f"is a quick run (bench --profile=quick: fewer points, 3 short "
                                  f"repetitions): {what} would mislead; run bench "
                                  "--profile=full (scripts/suite --profile=full) for it")
