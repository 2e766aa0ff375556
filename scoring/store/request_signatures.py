"""Signatures of Slack requests already accepted, shared by every web process.

bolt accepts a signed request whose stamp is within five minutes of now, so a captured request
could be sent again inside that window; `serve` runs several gunicorn workers, and there may be
several web hosts, so only a store they all see can tell a replay from a first delivery. A
request is accepted when its row is inserted (`INSERT ... ON CONFLICT DO NOTHING`: exactly one
of two concurrent inserts wins, on SQLite and PostgreSQL alike); rows older than the window
are deleted now and then by whichever process notices they are due (`forget_signatures`).

On PostgreSQL the table lives in the main database (all hosts share it). On SQLite it lives
in a file of its own beside the database (`<db>.replay.db`, `replay_engine`): a weekly run holds
the main file's write lock for seconds while it stores snapshots, and a request must never wait
on that to be acknowledged. Its rows are worth ten minutes, so that file is created from the
table definition, without migrations; the main database gets the table through revision 0008.

The claim is on every request's path, so it is one statement in one round trip: the replay
engine runs in autocommit (no BEGIN / COMMIT around the insert), and the insert goes straight
to the DBAPI cursor. On PostgreSQL that engine's sessions also run with `synchronous_commit =
off`: the commit does not wait for its WAL flush (10-15 ms on a busy disk, most of a lookup).
What that risks is bounded and small: a server crash can lose the signatures accepted in its
last ~0.6 s (3 x wal_writer_delay), and only those requests (already answered) could then be
replayed, by someone holding a captured signed copy, until their stamps expire (<= 11 min).
A crash loses nothing else, and the main database's own commits keep their durability.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Field, SQLModel

from scoring.store.db import is_postgres, make_engine
from scoring.store.tables import NAIVE_UTC

REPLAY_SUFFIX = ".replay.db"


class RequestSignature(SQLModel, table=True):
    """One accepted request: a hash of its timestamp and signature, and when it was seen."""

    __tablename__ = "request_signatures"

    signature_hash: str = Field(primary_key=True, max_length=64)
    seen_at: dt.datetime = Field(sa_type=NAIVE_UTC, index=True)


SIGNATURES = RequestSignature.__table__
_CLAIM = (
    "INSERT INTO request_signatures (signature_hash, seen_at) VALUES ({0}, {0})"
    " ON CONFLICT (signature_hash) DO NOTHING"
)
_MARKERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def claim_signature(engine: Engine, signature_hash: str, seen_at: dt.datetime) -> bool:
    """True when this hash was not stored yet (and now is): the request is a first delivery.

    One statement on a pooled DBAPI connection: `seen_at` goes through the column type's own
    bind processing (SQLite stores SQLAlchemy's datetime text), so `forget_signatures` and
    `count_signatures` read the rows as any SQLAlchemy statement wrote them. On an engine
    that is not in autocommit (a plain `make_engine` one) it commits itself."""
    dialect = engine.dialect
    sql = _CLAIM.format(_MARKERS[dialect.paramstyle])
    bind = SIGNATURES.c.seen_at.type.bind_processor(dialect)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, (signature_hash, bind(seen_at) if bind else seen_at))
            first = cursor.rowcount == 1
        finally:
            cursor.close()
        raw.commit()  # a no-op in autocommit
        return first
    finally:
        raw.close()  # back to the pool


def forget_signatures(engine: Engine, before: dt.datetime) -> int:
    """Delete the rows seen before `before` (an indexed range); how many went."""
    with engine.begin() as conn:
        return conn.execute(sa.delete(SIGNATURES).where(SIGNATURES.c.seen_at < before)).rowcount


def count_signatures(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(SIGNATURES)).scalar_one())


def replay_store_path(engine: Engine) -> Path | None:
    """The SQLite file the replay store of `engine` lives in, None when it shares `engine`
    (PostgreSQL, or an in-memory SQLite database that no other process could see anyway)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(engine.url.database).with_name(Path(engine.url.database).name + REPLAY_SUFFIX)


def replay_engine(engine: Engine) -> Engine:
    """The engine a replay guard writes through, autocommitting: on PostgreSQL one on the same
    database whose sessions commit without waiting for the WAL flush (see the module
    docstring), on SQLite one on a file of its own beside the database, created (with the
    table) on first use; an in-memory SQLite database is its own store."""
    if is_postgres(engine):
        own = make_engine(
            engine.url.render_as_string(hide_password=False),
            check=False,  # `engine` has connected; every connection must get the SET below
            isolation_level="AUTOCOMMIT",
        )
        event.listen(own, "connect", _asynchronous_commit)  # before its first connection
        return own
    path = replay_store_path(engine)
    if path is None:
        return engine
    own = make_engine(f"sqlite:///{path}")  # its connections autocommit (db.py)
    with own.begin() as conn:  # IF NOT EXISTS: two workers may start at the same moment
        conn.execute(CreateTable(SIGNATURES, if_not_exists=True))
        for index in SIGNATURES.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
    return own


def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
    """Once per new PostgreSQL connection of the replay engine (see the module docstring)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
