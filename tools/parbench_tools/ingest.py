"""Runs into the store: a Google Benchmark file (parbench's or foreign) read with the tools'
own readers (gbench, manifest, trust, speedup, granularity) into rows, and
github-action-benchmark's data.js entries as runs of one value per benchmark. Ingesting a file
twice adds nothing: each run is keyed by a hash of its parsed content."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from . import fingerprint as fp
from .errors import ToolError
from .gbench import TIME_UNITS, Run, load_json, parse_run
from .granularity import curves
from .manifest import CONTEXT_KEY
from .speedup import speedup_tables
from .store import Store, dumps, in_chunks
from .trust import INTERFERENCE_COUNTERS, MAX_INTERFERENCE, disturbed, interference

DEFAULT_BRANCH = "main"


@dataclass
class Meta:
    """What the file does not say about its run: given on the command line or by CI."""

    branch: str | None = None
    revision: str | None = None
    commit_order: int | None = None
    commit_time: str | None = None
    ci_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    git_dir: str | None = None  # a checkout to read commit order and time from
    max_interference: float = MAX_INTERFERENCE


@dataclass
class Record:
    """One run as rows for the store."""

    run: dict
    machine: dict
    build: dict
    results: list[dict]
    samples: list[dict]
    derived: list[dict]


def content_digest(data: Any) -> str:
    """The run's identity: a hash of its parsed content (whitespace and key order aside)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ci_environment() -> dict[str, str]:
    """Branch and CI URL from GitHub Actions' or GitLab CI's variables, where set."""
    env = os.environ
    out = {}
    branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or \
        env.get("CI_COMMIT_REF_NAME")
    if branch:
        out["branch"] = branch
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        out["ci_url"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    elif env.get("CI_JOB_URL"):
        out["ci_url"] = env["CI_JOB_URL"]
    return out


def iso_time(text: Any) -> str | None:
    """An ISO-8601 UTC time ('2026-11-25T20:11:25Z') from Google Benchmark's date or git's;
    None when it is not a time."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_git_cache: dict[tuple[str, str], tuple[int | None, str | None]] = {}


def git_commit(git_dir: str | None, revision: str) -> tuple[int | None, str | None]:
    """(commit order, commit time) of `revision` in the checkout at `git_dir`: the number of
    its ancestors (git rev-list --count) and its committer date; (None, None) when there is no
    checkout or the revision is not in it."""
    if not git_dir or not re.fullmatch(r"[0-9a-fA-F]{4,40}", revision or ""):
        return None, None
    key = (os.path.abspath(git_dir), revision)
    if key not in _git_cache:
        def git(*args):
            result = subprocess.run(["git", "-C", git_dir, *args], capture_output=True,
                                    text=True, timeout=60)
            return result.stdout.strip() if result.returncode == 0 else None
        try:
            count = git("rev-list", "--count", revision + "^{commit}")
            when = git("show", "-s", "--format=%cI", revision + "^{commit}")
        except (OSError, subprocess.SubprocessError):
            count = when = None
        _git_cache[key] = (int(count) if count and count.isdigit() else None, iso_time(when))
    return _git_cache[key]


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _revision(context: dict, meta: Meta) -> tuple[str, bool]:
    """The revision and whether the build had uncommitted changes ('abc123-dirty')."""
    text = meta.revision or str(context.get("parbench_git_revision") or "unknown")
    dirty = text.endswith("-dirty")
    return (text[:-len("-dirty")] if dirty else text), dirty


def run_row(run: Run, digest: str, meta: Meta, foreign: bool) -> dict:
    context = run.context
    revision, dirty = _revision(context, meta)
    order, when = _commit_of(context, meta, revision)
    ci = ci_environment()
    manifest = context.get(CONTEXT_KEY)
    return {
        "digest": digest, "revision": revision, "dirty": dirty,
        "branch": meta.branch or ci.get("branch") or DEFAULT_BRANCH,
        "commit_order": meta.commit_order if meta.commit_order is not None else order,
        "commit_time": iso_time(meta.commit_time) or when,
        "start_time": iso_time(context.get("date")),
        "end_time": iso_time(context.get("parbench_end_time")),
        "ci_url": meta.ci_url or ci.get("ci_url"),
        "tags": dumps(meta.tags),
        "host_name": str(context.get("host_name")) if context.get("host_name") else None,
        "settings_fp": fp.digest(fp.series_settings(context)),
        "settings": dumps(fp.settings(context)),
        "context": dumps(context),
        "manifest": manifest if isinstance(manifest, str) or manifest is None
        else dumps(manifest),
        "source": run.path, "foreign_file": foreign,
        "noise_before": _float(context.get("parbench_noise_efficiency")),
        "noise_after": _float(context.get("parbench_noise_efficiency_end")),
        "max_interference": meta.max_interference, "added_at": now(),
    }


def _commit_of(context: dict, meta: Meta, revision: str) -> tuple[int | None, str | None]:
    """The commit's order and time: those the run carries (parbench_commit_order and
    parbench_commit_time, as results/history/pack.py writes them into an archive of runs),
    else git's in the checkout."""
    order = context.get("parbench_commit_order")
    when = iso_time(context.get("parbench_commit_time"))
    if isinstance(order, str) and order.isdigit():
        return int(order), when
    return git_commit(meta.git_dir, revision)


def _per_repetition(b, key: str, n: int) -> list[float | None]:
    values = b.counters.get(key) or []
    return list(values) if len(values) == n else [None] * n


def result_rows(run: Run, limit: float) -> tuple[list[dict], list[dict]]:
    """One row per benchmark with a time or an error (complexity fits are not times), and one
    per repetition: times in seconds, each repetition's interference."""
    results, samples = [], []
    for name, b in run.benchmarks.items():
        if b.error is None and b.median is None:
            continue
        idx = len(results)
        aggregate = None
        if not b.samples and b.median_aggregate is not None:
            aggregate = "median"
        counters = {k: b.counter(k) for k in b.counters}
        results.append({
            "idx": idx, "benchmark": name, "family": b.name.workload,
            "executor": b.name.executor, "workers": b.name.workers if b.name.executor else None,
            "real_median": b.median_of("real_time") if b.error is None else None,
            "cpu_median": b.median_of("cpu_time") if b.error is None else None,
            "repetitions": b.repetitions, "aggregate": aggregate, "error": b.error,
            "interference": interference(b), "disturbed": disturbed(b, limit),
            "counters": dumps(counters)})
        n = len(b.samples)
        frac = [_per_repetition(b, key, n) for key in INTERFERENCE_COUNTERS]
        cpu = b.cpu_samples if len(b.cpu_samples) == n else [None] * n
        iterations = b.iterations if len(b.iterations) == n else [None] * n
        for i in range(n):
            samples.append({"idx": idx, "repetition": i, "real_time": b.samples[i],
                            "cpu_time": cpu[i], "interference_cpu_frac": frac[0][i],
                            "steal_frac": frac[1][i], "iterations": iterations[i]})
    return results, samples


def derived_rows(run: Run, limit: float) -> list[dict]:
    """The run's executor series: speedup and efficiency of each executor at each worker count
    against the baseline (named as export's github-bigger names them), and METG of each
    curve that crosses 50% efficiency."""
    rows = []
    for t in speedup_tables(run, limit):
        for c in t.cells:
            if c.executor == t.baseline or c.speedup is None:
                continue
            name = f"{t.label} {c.executor} workers:{c.workers}"
            rows.append({"kind": "speedup", "name": name, "value": c.speedup,
                         "disturbed": c.flagged})
            rows.append({"kind": "efficiency", "name": name, "value": c.efficiency,
                         "disturbed": c.flagged})
    for c in curves(run, limit):
        m = c.analysis
        if m.status == "crossed" and m.value_ns:
            rows.append({"kind": "metg", "name": f"{c.family} {c.executor} workers:{c.workers}"
                                                 f" payload:{c.payload}",
                         "value": m.value_ns * 1e-9, "disturbed": bool(c.flagged)})
    seen, unique = set(), []
    for r in rows:  # one value per name (a family's sweep lists each point once)
        if (r["kind"], r["name"]) not in seen:
            seen.add((r["kind"], r["name"]))
            unique.append(r)
    return unique


def record_from_data(path: str, data: Any, meta: Meta) -> Record:
    """A parsed Google Benchmark file as rows (ToolError when it is not one)."""
    run = parse_run(path, data)
    foreign = not run.manifest.declared
    row = run_row(run, content_digest(data), meta, foreign)
    results, samples = result_rows(run, meta.max_interference)
    return Record(row, fp.machine(run.context), fp.build(run.context), results, samples,
                  derived_rows(run, meta.max_interference))


def record_from_file(path: str, meta: Meta) -> Record:
    return record_from_data(path, load_json(path), meta)


def known_fingerprints(conn, table) -> list[tuple[int, str, dict]]:
    """The stored machines (or builds): (id, fingerprint, fields)."""
    import sqlalchemy as sa
    return [(r.id, r.fingerprint, json.loads(r.fields)) for r in conn.execute(
        sa.select(table.c.id, table.c.fingerprint, table.c.fields).order_by(table.c.id))]


def _fingerprint_id(conn, table, fields: dict) -> int:
    """The stored machine (or build) these fields are compatible with, its fields completed
    with those it did not record (a newer bench measures more of the same machine); else a new
    one, fingerprinted by its fields."""
    found = fp.resolve(known_fingerprints(conn, table), fields)
    if found is None:
        return conn.execute(table.insert().values(fingerprint=fp.digest(fields),
                                                  fields=dumps(fields))).inserted_primary_key[0]
    ident, _, stored = found
    merged = {k: stored.get(k) if stored.get(k) is not None else fields.get(k)
              for k in set(stored) | set(fields)}
    if merged != stored:
        conn.execute(table.update().where(table.c.id == ident).values(fields=dumps(merged)))
    return ident


def store_record(store: Store, record: Record) -> tuple[int, bool]:
    """Writes one run in one transaction: (its id, True) or, when a run of the same content
    is there already, (that run's id, False) and nothing is written."""
    import sqlalchemy as sa
    t = store.tables
    with store.engine.begin() as conn:
        runs = t["runs"]
        found = conn.execute(sa.select(runs.c.id).where(
            runs.c.digest == record.run["digest"])).scalar()
        if found is not None:
            return found, False
        machine_id = _fingerprint_id(conn, t["machines"], record.machine)
        build_id = _fingerprint_id(conn, t["builds"], record.build)
        run_id = conn.execute(runs.insert().values(
            machine_id=machine_id, build_id=build_id, **record.run)).inserted_primary_key[0]
        for name, rows in (("results", record.results), ("samples", record.samples),
                           ("derived", record.derived)):
            for chunk in in_chunks([dict(r, run_id=run_id) for r in rows]):
                conn.execute(t[name].insert(), chunk)
    return run_id, True


# --- github-action-benchmark's data.js -------------------------------------------------------

_UNIT = re.compile(r"^(ns|us|µs|ms|s)(/iter)?$")


def parse_data_js(path: str, text: str) -> dict:
    """The object of `window.BENCHMARK_DATA = {...}` (or plain JSON)."""
    body = text.strip()
    if body.startswith("window.BENCHMARK_DATA"):
        body = body.split("=", 1)[1].strip().rstrip(";")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise ToolError(path, f"is not github-action-benchmark's data.js ({e.msg} at line "
                              f"{e.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise ToolError(path, "is not github-action-benchmark's data.js (no 'entries' object)")
    return data


def _seconds(value: Any, unit: Any) -> float | None:
    m = _UNIT.match(str(unit or "").strip())
    number = _float(value)
    if m is None or number is None or number < 0:
        return None
    return number * TIME_UNITS[m.group(1).replace("µs", "us")]


def data_js_records(path: str, data: dict, meta: Meta) -> list[Record]:
    """One record per entry of each suite: its commit as revision and commit time, its date
    as start, each time as a benchmark of one value (no repetitions: it never gates), each
    'NAME speedup' of a bigger-is-better suite as a derived speedup."""
    records = []
    for suite, entries in data["entries"].items():
        if not isinstance(entries, list):
            raise ToolError(path, f"entries of '{suite}' are not a list")
        for n, entry in enumerate(entries):
            commit = entry.get("commit") if isinstance(entry, dict) else None
            benches = entry.get("benches") if isinstance(entry, dict) else None
            if not isinstance(commit, dict) or not isinstance(benches, list):
                raise ToolError(path, f"entry {n + 1} of '{suite}' has no commit or benches")
            records.append(_data_js_record(path, suite, entry, commit, benches, meta))
    return records


def _data_js_record(path, suite, entry, commit, benches, meta: Meta) -> Record:
    revision = str(commit.get("id") or "unknown")
    date = entry.get("date")
    start = (dt.datetime.fromtimestamp(date / 1000, dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ") if isinstance(date, (int, float)) else None)
    order, when = git_commit(meta.git_dir, revision)
    context = {"github_action_benchmark_suite": suite, "tool": entry.get("tool")}
    ci = ci_environment()
    run = {
        "digest": content_digest({"suite": suite, "entry": entry}), "revision": revision,
        "dirty": False, "branch": meta.branch or ci.get("branch") or DEFAULT_BRANCH,
        "commit_order": meta.commit_order if meta.commit_order is not None else order,
        "commit_time": iso_time(commit.get("timestamp")) or when, "start_time": start,
        "end_time": None, "ci_url": commit.get("url"),
        "tags": dumps(dict(meta.tags, suite=suite)), "host_name": None,
        "settings_fp": fp.digest({}), "settings": dumps({}), "context": dumps(context),
        "manifest": None, "source": f"{path}#{suite}", "foreign_file": True,
        "noise_before": None, "noise_after": None,
        "max_interference": meta.max_interference, "added_at": now()}
    results, derived = [], []
    for b in benches:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            continue
        seconds = _seconds(b.get("value"), b.get("unit"))
        if seconds is not None:
            results.append({"idx": len(results), "benchmark": b["name"], "family":
                            b["name"].split("/")[0], "executor": None, "workers": None,
                            "real_median": seconds, "cpu_median": None, "repetitions": 0,
                            "aggregate": "value", "error": None, "interference": None,
                            "disturbed": False, "counters": dumps({})})
        elif b["name"].endswith(" speedup") and _float(b.get("value")) is not None:
            derived.append({"kind": "speedup", "name": b["name"][:-len(" speedup")],
                            "value": _float(b["value"]), "disturbed": False})
    return Record(run, fp.machine({}), fp.build({}), results, [], derived)
