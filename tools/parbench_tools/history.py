"""Reading the run store: runs in history order, series of one benchmark (or executor series)
per machine, build, workload parameters and branch."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .store import Store


@dataclass(frozen=True)
class RunInfo:
    """A stored run, as the series and the reports need it."""

    id: int
    revision: str
    dirty: bool
    branch: str
    commit_order: int | None
    commit_time: str | None
    start_time: str | None
    host_name: str | None
    machine_id: int
    build_id: int
    settings_fp: str
    source: str
    noise_before: float | None
    noise_after: float | None
    tags: str = "{}"

    @property
    def order_key(self) -> tuple:
        """History order: the commit's place (git's ancestor count), then its time, then when
        the run started, then when it was stored."""
        return (self.commit_order if self.commit_order is not None else -1,
                self.commit_time or "", self.start_time or "", self.id)

    @property
    def label(self) -> str:
        return self.revision[:12] + ("-dirty" if self.dirty else "")


def load_runs(store: Store, branch: str | None = None) -> list[RunInfo]:
    """Every run (of `branch`), in history order."""
    import sqlalchemy as sa
    runs = store.tables["runs"]
    cols = [runs.c[name] for name in RunInfo.__dataclass_fields__]
    query = sa.select(*cols)
    if branch is not None:
        query = query.where(runs.c.branch == branch)
    with store.engine.connect() as conn:
        rows = [RunInfo(**row._mapping) for row in conn.execute(query)]
    return sorted(rows, key=lambda r: r.order_key)


def run_table(store: Store, branch: str | None = None) -> str:
    """The stored runs as Markdown, in history order."""
    import sqlalchemy as sa
    runs = load_runs(store, branch)
    results = store.tables["results"]
    with store.engine.connect() as conn:
        counts = dict(conn.execute(sa.select(results.c.run_id, sa.func.count())
                                   .group_by(results.c.run_id)).all())
        disturbed = dict(conn.execute(sa.select(results.c.run_id, sa.func.count())
                                      .where(results.c.disturbed.is_(True))
                                      .group_by(results.c.run_id)).all())
    out = [f"{len(runs)} run(s) in {store.db}" + (f" on branch {branch}" if branch else ""),
           "", "| run | revision | branch | order | commit time | started | host | "
           "benchmarks | disturbed | tags |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        tags = ", ".join(f"{k}={v}" if v else k for k, v in json.loads(r.tags).items())
        out.append(f"| {r.id} | `{r.label}` | {r.branch} | "
                   f"{r.commit_order if r.commit_order is not None else '—'} | "
                   f"{r.commit_time or '—'} | {r.start_time or '—'} | {r.host_name or '—'} | "
                   f"{counts.get(r.id, 0)} | {disturbed.get(r.id, 0)} | {tags or '—'} |")
    return "\n".join(out) + "\n"
