"""Engines for the two supported databases, set up so a web and a worker process can share one.

SQLite (the default) is a file in WAL mode: readers never wait for a writer, and a writer waits
up to five seconds for another instead of failing at once. PostgreSQL goes through psycopg 3,
whatever spelling of the URL the platform hands us (`postgres://` on Heroku-style hosts).

A pooled PostgreSQL connection is pinged on checkout only when it has sat idle in the pool
for IDLE_PING_SECONDS or more (`_ping_when_idle`): what kills a connection (a proxy's or the
server's idle timeout, a restart during a quiet spell) mostly happens while it is idle, and
SQLAlchemy's `pool_pre_ping` would instead cost a round trip on every checkout (two per
`/health` lookup). A connection broken while busy still fails its statement once; SQLAlchemy
then recycles every connection of that pool, so only the requests already in flight see it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError

from scoring.errors import HealthbotError

BUSY_TIMEOUT_MS = 5000
IDLE_PING_SECONDS = 5.0
SQLITE_BEGIN = "sqlite_begin"  # execution option: "IMMEDIATE" takes the write lock at BEGIN


def normalize_url(url: str) -> URL:
    """Parse a database URL; plain `postgresql://` / `postgres://` use psycopg 3."""
    try:
        parsed = sa.make_url(url.strip())
    except ArgumentError:
        raise HealthbotError(
            f"database URL is not valid: {_redact_text(url)!r} (expected e.g."
            " sqlite:///healthbot.db or postgresql://user@host/db)"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown_url(url: str | URL) -> str:
    """A URL safe to print: the password replaced by ***."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _redact_text(url)


def _redact_text(url: str) -> str:
    """Hide `:password@` in something that did not even parse as a URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url


def make_engine(url: str, check: bool = True, **kwargs: Any) -> Engine:
    """An Engine for `url`; with `check`, connect once so a bad URL or a server that cannot be
    reached is one readable line now rather than a traceback later."""
    parsed = normalize_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            kwargs.setdefault("connect_args", {}).setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
            engine = sa.create_engine(parsed, **kwargs)
            _setup_sqlite(engine)
        else:
            engine = sa.create_engine(parsed, **kwargs)
            if not kwargs.get("pool_pre_ping"):
                _ping_when_idle(engine, IDLE_PING_SECONDS)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise HealthbotError(
            f"cannot use database {shown_url(parsed)}: {first_line(exc, parsed)}"
        ) from None
    if check:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            engine.dispose()
            raise HealthbotError(
                f"cannot connect to database {shown_url(parsed)}: {first_line(exc, parsed)}"
            ) from None
    return engine


def one_statement(engine: Engine) -> Connection:
    """A connection for a read that is one statement. On PostgreSQL it runs in autocommit:
    the statement is its own snapshot already, and a transaction around it costs two more
    round trips (psycopg sends BEGIN before it and the pool a ROLLBACK after it), which on a
    /health lookup were most of the database's work. SQLite reads are unchanged."""
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def first_line(exc: BaseException, url: URL | None = None) -> str:
    """The driver's message squeezed onto one line, never echoing the password."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    # Drop what echoes the statement (SQLAlchemy's "[SQL: ...]", DuckDB's "LINE 1: ..."):
    # the user needs the cause, not healthbot's SQL.
    echo = ("[SQL:", "(Background", "LINE ")
    text = "; ".join(line for line in lines if not line.startswith(echo) and line != "^")
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return text[:400] or type(inner).__name__


def _ping_when_idle(engine: Engine, idle: float) -> None:
    """Ping a connection on checkout when it has been idle `idle` seconds or more (see the
    module docstring); a failed ping raises DisconnectionError, on which the pool drops that
    connection and checks out another (SQLAlchemy's documented checkout-event recipe)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return  # new, or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"connection idle {idle:.0f}+ s is gone: {exc}") from exc


def _setup_sqlite(engine: Engine) -> None:
    """WAL, busy timeout and foreign keys on every connection; real BEGINs.

    The sqlite3 module normally starts transactions lazily (only before DML), which would leave
    reads and DDL outside the transaction; SQLAlchemy's documented recipe hands BEGIN to us.
    """
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not memory:
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _enable_wal(cursor: Any) -> None:
    """Switch a new file to WAL (a no-op once it is: the mode is stored in the file).

    Two processes opening a brand-new file at once (web and worker on a first deploy) both
    hold a read lock while asking for the exclusive one the switch needs; SQLite answers one of
    them "database is locked" at once instead of calling the busy handler, since waiting could
    deadlock. The other finishes in milliseconds, so retry within the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def is_postgres(engine: Engine | sa.Connection) -> bool:
    return engine.dialect.name == "postgresql"
