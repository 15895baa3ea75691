"""The run store: one schema, on SQLite (a file, the default) or PostgreSQL (a URL, for a team),
through SQLAlchemy Core. The schema is versioned: parbench_schema holds the version, and
opening a store applies the migrations it has not seen yet, in order, each in a transaction.

Tables (see docs/history.md):
  machines, builds  one row per fingerprint (fingerprint.py), with the fields it hashes
  runs              one per ingested file: revision, branch, commit order and time, start and
                    end, CI URL, tags, host (a label), fingerprints, context and manifest
  results           one per benchmark of a run: medians, repetitions, interference, disturbed
  samples           one per repetition: real and CPU time, interference_cpu_frac, steal_frac
  derived           the executor series of a run: speedup and efficiency at each worker
                    count, METG per executor and payload
  change_points     (schema 2) the change points `history changes` found, with their marks
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import ToolError

SCHEMA_VERSION = 2
DEFAULT_ENV = "PARBENCH_DB"  # the environment variable naming the default store


def default_path() -> str:
    """$PARBENCH_DB, else $XDG_DATA_HOME/parbench/history.sqlite (~/.local/share/...)."""
    if os.environ.get(DEFAULT_ENV):
        return os.environ[DEFAULT_ENV]
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return os.path.join(base, "parbench", "history.sqlite")


def _tables():
    """The schema's tables on one MetaData (imported here: sqlalchemy only where a store is
    opened)."""
    import sqlalchemy as sa
    md = sa.MetaData()
    text, real, integer, boolean = sa.Text, sa.Float, sa.Integer, sa.Boolean
    sa.Table("parbench_schema", md, sa.Column("version", integer, nullable=False))
    for name in ("machines", "builds"):
        sa.Table(name, md,
                 sa.Column("id", integer, primary_key=True),
                 sa.Column("fingerprint", sa.String(16), nullable=False, unique=True),
                 sa.Column("fields", text, nullable=False))
    sa.Table("runs", md,
             sa.Column("id", integer, primary_key=True),
             sa.Column("digest", sa.String(64), nullable=False, unique=True),
             sa.Column("revision", text, nullable=False),
             sa.Column("dirty", boolean, nullable=False),
             sa.Column("branch", text, nullable=False),
             sa.Column("commit_order", integer),
             sa.Column("commit_time", text),
             sa.Column("start_time", text),
             sa.Column("end_time", text),
             sa.Column("ci_url", text),
             sa.Column("tags", text, nullable=False),
             sa.Column("host_name", text),
             sa.Column("machine_id", integer, sa.ForeignKey("machines.id"), nullable=False),
             sa.Column("build_id", integer, sa.ForeignKey("builds.id"), nullable=False),
             sa.Column("settings_fp", sa.String(16), nullable=False),
             sa.Column("settings", text, nullable=False),
             sa.Column("context", text, nullable=False),
             sa.Column("manifest", text),
             sa.Column("source", text, nullable=False),
             sa.Column("foreign_file", boolean, nullable=False),
             sa.Column("noise_before", real),
             sa.Column("noise_after", real),
             sa.Column("max_interference", real, nullable=False),
             sa.Column("added_at", text, nullable=False),
             sa.Index("runs_by_series", "machine_id", "build_id", "branch"))
    _result_tables(sa, md)
    return md


def _result_tables(sa, md) -> None:
    """The tables of what was measured (results, samples, derived) and found (change_points)."""
    text, real, integer, boolean = sa.Text, sa.Float, sa.Integer, sa.Boolean
    sa.Table("results", md,
             sa.Column("run_id", integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("idx", integer, primary_key=True),
             sa.Column("benchmark", text, nullable=False),
             sa.Column("family", text),
             sa.Column("executor", text),
             sa.Column("workers", integer),
             sa.Column("real_median", real),
             sa.Column("cpu_median", real),
             sa.Column("repetitions", integer, nullable=False),
             sa.Column("aggregate", text),  # None: from repetitions; median/mean/value: not
             sa.Column("error", text),
             sa.Column("interference", real),
             sa.Column("disturbed", boolean, nullable=False),
             sa.Column("counters", text, nullable=False),
             sa.Index("results_by_benchmark", "benchmark", "run_id"))
    sa.Table("samples", md,
             sa.Column("run_id", integer, primary_key=True),
             sa.Column("idx", integer, primary_key=True),
             sa.Column("repetition", integer, primary_key=True),
             sa.Column("real_time", real, nullable=False),
             sa.Column("cpu_time", real),
             sa.Column("interference_cpu_frac", real),
             sa.Column("steal_frac", real),
             sa.Column("iterations", integer),
             sa.ForeignKeyConstraint(["run_id", "idx"], ["results.run_id", "results.idx"],
                                     ondelete="CASCADE"))
    sa.Table("derived", md,
             sa.Column("run_id", integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("kind", sa.String(16), primary_key=True),
             sa.Column("name", text, primary_key=True),
             sa.Column("value", real, nullable=False),
             sa.Column("disturbed", boolean, nullable=False),
             sa.Index("derived_by_name", "kind", "name", "run_id"))
    sa.Table("change_points", md,
             sa.Column("id", sa.String(16), primary_key=True),
             sa.Column("series", text, nullable=False),  # JSON of the series key
             sa.Column("first_bad_run", integer, nullable=False),
             sa.Column("last_good_run", integer, nullable=False),
             sa.Column("first_bad", text, nullable=False),  # revisions
             sa.Column("last_good", text, nullable=False),
             sa.Column("detail", text, nullable=False),  # JSON: levels, change, p, runs
             sa.Column("detected_at", text, nullable=False),
             sa.Column("status", sa.String(16), nullable=False),
             sa.Column("note", text),
             sa.Column("marked_at", text))


# The tables each schema version added; a migration creates them (and could alter others).
_ADDED = {
    1: ("machines", "builds", "runs", "results", "samples", "derived"),
    2: ("change_points",),
}


def _url(db: str, create: bool = True) -> str:
    """The SQLAlchemy URL of `db`. A store that is only read (create False) must exist and
    hold something: reading never creates one, nor writes a schema into an empty file."""
    if "://" in db:
        if not create and db.startswith("sqlite:///"):
            path = db[len("sqlite:///"):].split("?")[0]
            _must_hold_a_store(db, os.path.abspath(path[5:] if path.startswith("file:")
                                                   else path))
        return db
    path = os.path.abspath(db)
    if not create:
        _must_hold_a_store(db, path)
    elif os.path.isdir(path):
        raise ToolError(db, "is a directory, not a database file")
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    return "sqlite:///" + path


def _must_hold_a_store(db: str, path: str) -> None:
    if os.path.isdir(path):
        raise ToolError(db, "is a directory, not a database file")
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        what = "is an empty file" if os.path.isfile(path) else "does not exist"
        raise ToolError(db, f"{what}, not a store (make one with `parbench-tools history add` "
                            "or `history import`; --db names it)")


@dataclass
class Store:
    """An open store: the engine and its tables."""

    db: str
    engine: Any
    tables: dict = field(default_factory=dict)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


def _sqlite_pragmas(engine) -> None:
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def pragmas(conn, _record):  # foreign keys on; a journal that does not fsync per insert
        cur = conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def open_store(db: str | None = None, migrate: bool = True, create: bool = True) -> Store:
    """Opens (creating if needed, unless `create` is False) the store at `db`: a file path, a
    sqlite:/// URL or a postgresql:// URL; the default path when None. Applies pending
    migrations. Every failure (no driver, no server, a newer schema) is one ToolError."""
    try:
        import sqlalchemy as sa
    except ImportError:
        raise ToolError("--db", "the run store needs SQLAlchemy (apt-get install "
                                "python3-sqlalchemy)") from None
    db = db or default_path()
    url = _url(db, create)
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError as e:
        raise ToolError(db, f"is not a database URL or path ({e})") from None
    if backend not in ("sqlite", "postgresql"):
        raise ToolError(db, f"is a {backend} URL: the store runs on SQLite or PostgreSQL")
    try:
        engine = sa.create_engine(url, future=True)
    except ImportError as e:
        raise ToolError(db, f"no database driver for this URL ({e}; for PostgreSQL: apt-get "
                            "install python3-psycopg2)") from None
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    md = _tables()
    store = Store(db, engine, dict(md.tables))
    try:
        _migrate(store) if migrate else None
    except sa.exc.OperationalError as e:
        engine.dispose()
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise ToolError(db, f"cannot open the store: {reason}") from None
    except sa.exc.DatabaseError as e:
        engine.dispose()
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise ToolError(db, f"is not a parbench store ({reason})") from None
    return store


def schema_version(store: Store) -> int:
    import sqlalchemy as sa
    with store.engine.connect() as conn:
        if not sa.inspect(conn).has_table("parbench_schema"):
            return 0
        value = conn.execute(sa.select(store.tables["parbench_schema"].c.version)).scalar()
        return int(value or 0)


def _migrate(store: Store, target: int = SCHEMA_VERSION) -> None:
    """Brings the schema from its version to `target`, one version per transaction."""
    version = schema_version(store)
    if version > SCHEMA_VERSION:
        raise ToolError(store.db, f"has schema version {version}; these tools know up to "
                                  f"{SCHEMA_VERSION} (a newer parbench-tools made it)")
    schema = store.tables["parbench_schema"]
    for step in range(version + 1, target + 1):
        with store.engine.begin() as conn:
            if step == 1:
                schema.create(conn, checkfirst=True)
            for name in _ADDED[step]:
                store.tables[name].create(conn)
            conn.execute(schema.delete())
            conn.execute(schema.insert().values(version=step))


def dumps(value: Any) -> str:
    """JSON text for a column: sorted keys, NaN and infinities as null."""
    return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def in_chunks(rows: list, size: int = 5000) -> Iterable[list]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
