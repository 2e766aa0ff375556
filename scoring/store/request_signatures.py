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
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Field, SQLModel

from scoring.store.db import make_engine
from scoring.store.tables import NAIVE_UTC

REPLAY_SUFFIX = ".replay.db"


class RequestSignature(SQLModel, table=True):
    """One accepted request: a hash of its timestamp and signature, and when it was seen."""

    __tablename__ = "request_signatures"

    signature_hash: str = Field(primary_key=True, max_length=64)
    seen_at: dt.datetime = Field(sa_type=NAIVE_UTC, index=True)


SIGNATURES = RequestSignature.__table__
_CLAIM = sa.text(
    "INSERT INTO request_signatures (signature_hash, seen_at) VALUES (:hash, :seen_at)"
    " ON CONFLICT (signature_hash) DO NOTHING"
)


def claim_signature(engine: Engine, signature_hash: str, seen_at: dt.datetime) -> bool:
    """True when this hash was not stored yet (and now is): the request is a first delivery."""
    with engine.begin() as conn:
        result = conn.execute(_CLAIM, {"hash": signature_hash, "seen_at": seen_at})
        return result.rowcount == 1


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
    """The engine a replay guard writes through: `engine` itself on PostgreSQL, else its own
    SQLite file beside the database, created (with the table) on first use."""
    path = replay_store_path(engine)
    if path is None:
        return engine
    own = make_engine(f"sqlite:///{path}")
    with own.begin() as conn:  # IF NOT EXISTS: two workers may start at the same moment
        conn.execute(CreateTable(SIGNATURES, if_not_exists=True))
        for index in SIGNATURES.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
    return own
