"""Schema migrations, run from code so that a wheel (no alembic.ini) can upgrade a database.

`healthbot db upgrade` is the Procfile's release step; every other command calls
`ensure_schema()` first, which upgrades a fresh or older database and refuses one that is newer
than this code (a rolled-back deploy) instead of writing to a schema it does not know.
"""

from __future__ import annotations

import weakref
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from scoring.errors import HealthbotError
from scoring.store.db import SQLITE_BEGIN, make_engine, shown_url

MIGRATION_LOCK = 0x6865616C7468  # "health": any constant shared by all healthbot processes
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_CURRENT: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines found current in this process


def _engine(engine_or_url: Engine | str) -> tuple[Engine, bool]:
    """The engine to use and whether we created it (and so must dispose of it)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic Config built in code: the packaged scripts, the engine's URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "no migrations packaged"
    return head


def revisions() -> list[str]:
    """Every known revision, oldest first."""
    return [s.revision for s in reversed(list(script_directory().walk_revisions()))]


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The database's revision; None for a database Alembic never touched."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to `revision` in one transaction; returns (from, to)."""
    engine, owned = _engine(engine_or_url)
    try:
        before = current_revision(engine)
        _run(engine, "upgrade", revision, check=True)
        return before, current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def downgrade(engine_or_url: Engine | str, revision: str) -> tuple[str | None, str | None]:
    """Downgrade to `revision` ("base" removes every table); used by tests and by hand."""
    engine, owned = _engine(engine_or_url)
    try:
        before = current_revision(engine)
        _run(engine, "downgrade", revision)
        _CURRENT.discard(engine)
        return before, current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def _run(engine: Engine, action: str, revision: str, check: bool = False) -> None:
    """One transaction that holds the write lock from its start (SQLite: BEGIN IMMEDIATE;
    PostgreSQL: an advisory lock), so two processes upgrading at once take turns and the
    second finds the work done. With `check`, the database's revision is judged under that
    lock: read before it, a revision can be stale (another process may have just migrated
    the empty database, which would then look like foreign tables)."""
    cfg = alembic_config(engine)
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            if check:
                _check_known(conn, MigrationContext.configure(conn).get_current_revision())
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)


def _check_known(bind: Engine | sa.Connection, current: str | None) -> None:
    if current is not None and current not in revisions():
        raise HealthbotError(
            f"database {shown_url(bind.engine.url)} is at schema revision {current}, which this"
            f" version of healthbot does not know (its newest is {head_revision()});"
            " upgrade healthbot"
        )
    if current is None:
        ours = set(sa.inspect(bind).get_table_names()) & {"accounts", "signals", "runs"}
        if ours:
            raise HealthbotError(
                f"database {shown_url(bind.engine.url)} has healthbot tables"
                f" ({', '.join(sorted(ours))}) but no migration history; use an empty database"
            )


def ensure_schema(engine: Engine) -> None:
    """Make sure the schema is current before a command touches the database.

    Cheap after the first call in a process (remembered per engine).
    """
    if engine in _CURRENT:
        return
    current = current_revision(engine)
    if current != head_revision():
        _run(engine, "upgrade", "head", check=True)
    _CURRENT.add(engine)
