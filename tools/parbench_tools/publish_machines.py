"""The machines page's data: every machine fingerprint side by side (its measured fields, host
names, runs), a warning where one host name stands for machines that differ, and the machines
summary (machines.summarize, as `parbench-tools machines` prints it) of each machine's latest
undisturbed run (else its least disturbed one, said so on the page; files named without their
folder) against the reference (the machine with the most runs, else the first stored): per family
the geometric-mean time ratio with its interval, each executor's speedup at workers = usable
CPUs, METG per executor and payload."""

from __future__ import annotations

import dataclasses
import ntpath
import posixpath

from . import fingerprint as fpm
from . import machines as mach
from . import machines_format as mfmt
from .publish_data import Data
from .stored_run import stored_runs
from .store import Store


def _by_machine(data: Data) -> dict[str, list]:
    """Machine fingerprint -> its runs, in history order."""
    out: dict[str, list] = {}
    for r in data.runs:
        out.setdefault(data.fingerprints[r.id][0], []).append(r)
    return out


def host_warnings(machines: list[dict], fields: dict[str, dict]) -> list[dict]:
    """One warning per host name that several machine fingerprints carry: the same name,
    different hardware (or a different share of it: CPUs, quota), and what differs."""
    hosts: dict[str, list[str]] = {}
    for m in machines:
        for host in m["hosts"]:
            hosts.setdefault(host, []).append(m["fingerprint"])
    out = []
    for host, fps in sorted(hosts.items()):
        if len(fps) < 2:
            continue
        first = fps[0]
        differs = {fp: fpm.differences(fields[first], fields[fp], "machine") for fp in fps[1:]}
        out.append({"host": host, "machines": fps, "differences": differs,
                    "text": f"Host name {host!r} stands for {len(fps)} different machines "
                            f"(fingerprints {', '.join(f[:8] for f in fps)}): "
                            + "; ".join(f"{fp[:8]} against {first[:8]}: "
                                        + (", ".join(d) or "fields one of them did not record")
                                        for fp, d in differs.items())
                            + ". Their runs are separate series; compare them as machines, "
                              "not as one."})
    return out


def file_name(path: str) -> str:
    """A stored source path's file name: the site shows no machine's absolute paths."""
    return ntpath.basename(posixpath.basename(path or "")) or "?"


def _disturbed_counts(store: Store) -> dict[int, int]:
    """Run id -> how many of its benchmarks are disturbed (runs with none are left out)."""
    import sqlalchemy as sa
    r = store.tables["results"]
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(r.c.run_id, sa.func.count())
                                 .where(r.c.disturbed.is_(True)).group_by(r.c.run_id)).all())


def chosen_run(runs: list, disturbed: dict[int, int]) -> tuple[int, str]:
    """The run a machine is summarized by: its latest undisturbed run (no benchmark
    disturbed), else its least disturbed, latest first; and why, in words."""
    clean = [r for r in runs if not disturbed.get(r.id)]
    if clean:
        best = clean[-1]
        why = "latest run" if best is runs[-1] else \
            f"latest undisturbed run ({len(runs) - runs.index(best) - 1} later disturbed run(s) " \
            "passed over)"
        return best.id, why
    best = min(reversed(runs), key=lambda r: disturbed.get(r.id, 0))
    return best.id, (f"no undisturbed run: the least disturbed one "
                     f"({disturbed.get(best.id, 0)} disturbed benchmark(s))")


def _labels(runs: list, fps: list[str]) -> list[str]:
    return [f"{label} · {fp[:8]}" for label, fp in zip(mach.default_labels(runs), fps)]


def summary(store: Store, machines: list[dict]) -> dict | None:
    """machines_format.to_json of the machines' chosen runs (latest undisturbed) against the
    reference (the machine with the most runs); machines whose chosen run shares no benchmark
    with it are named."""
    if len(machines) < 2:
        return None
    ref = max(machines, key=lambda m: (m["runs"], -m["first_run"]))
    ordered = [ref] + [m for m in machines if m is not ref]
    runs = {i: dataclasses.replace(r, path=file_name(r.path), sources=())
            for i, r in stored_runs(store, [m["summary_run"] for m in ordered]).items()}
    first = runs[ref["summary_run"]]
    kept = [m for m in ordered if m is ref or
            set(runs[m["summary_run"]].benchmarks) & set(first.benchmarks)]
    if len(kept) < 2:
        return None
    chosen = [runs[m["summary_run"]] for m in kept]
    labels = _labels(chosen, [m["fingerprint"] for m in kept])
    s = mach.summarize(chosen, labels)
    out = mfmt.to_json(s)
    out["fingerprints"] = [m["fingerprint"] for m in kept]
    out["runs"] = [m["summary_run"] for m in kept]
    out["chosen"] = [m["summary_why"] for m in kept]
    out["not_compared"] = [m["fingerprint"] for m in ordered if m not in kept]
    return out


def _contexts(store: Store, run_ids: list[int]) -> dict[int, dict]:
    """The contexts of runs `run_ids`, by id."""
    import json

    import sqlalchemy as sa
    if not run_ids:
        return {}
    runs_t = store.tables["runs"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(runs_t.c.id, runs_t.c.context)
                            .where(runs_t.c.id.in_(run_ids))).all()
    return {row.id: json.loads(row.context) for row in rows}


def machines_page(store: Store, data: Data) -> dict:
    machines = []
    disturbed = _disturbed_counts(store)
    for fp, runs in _by_machine(data).items():
        run_id, why = chosen_run(runs, disturbed)
        machines.append({"summary_run": run_id, "summary_why": why,
                         "fingerprint": fp, "fields": data.machines.get(fp, {}),
                         "hosts": sorted({r.host_name for r in runs if r.host_name}),
                         "runs": len(runs), "first_run": runs[0].id, "latest_run": runs[-1].id,
                         "builds": sorted({data.fingerprints[r.id][1] for r in runs})})
    contexts = _contexts(store, [m["latest_run"] for m in machines])
    for m in machines:
        # A multi-host MPI run (bench under mpirun across hosts) shows as its hosts.
        m["mpi_hosts"] = mach.mpi_hosts(contexts.get(m["latest_run"], {}))
    machines.sort(key=lambda m: (-m["runs"], m["fingerprint"]))
    return {"machines": machines, "fields": [name for name, _ in fpm.MACHINE_FIELDS],
            "warnings": host_warnings(machines, data.machines),
            "summary": summary(store, machines)}
