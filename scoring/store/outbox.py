"""The outbox: every Slack message is a row before it is a post, so nothing is sent twice.

A row moves pending → sending (claimed by one worker) → sent | failed, or stays `sending` when
the post may have reached Slack without us hearing back; the next delivery pass reads it back
and moves it to sent, back to pending (never accepted) or `unknown` (could not tell). Every
transition is a compare-and-set on (status, attempts), so two workers never both act on a row.
Keys are unique and chosen by the caller from the content, which is what makes reruns for the
same period send only what is new. `bot/delivery/outbox_pass.py` drives these functions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.store.tables import NAIVE_UTC, utcnow

STATUSES = ("pending", "sending", "sent", "failed", "unknown")
TARGET_KINDS = ("email", "channel")
PAUSED = "paused"  # delivery_settings name of the pause flag


class OutboxRow(SQLModel, table=True):
    """One message to deliver, with everything needed to send it again or prove it was sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        sa.Index("ix_outbox_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str
    run_id: int | None = None
    period: str | None = None
    kind: str
    target_kind: str  # "email": DM the Slack user with that email; "channel": name or id
    target: str
    text: str = Field(sa_type=sa.Text)
    blocks: str | None = Field(default=None, sa_type=sa.Text)  # JSON array
    status: str = "pending"
    channel_id: str | None = None  # where it goes/went: user or channel before, Slack id after
    ts: str | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    attempts: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    # On a `sending` row: the claim time, where a read-back starts looking.
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    sent_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)
    thread_key: str | None = None  # post as a reply in the thread of the row with this key
    fallback_reason: str | None = Field(default=None, sa_type=sa.Text)


class DeliverySetting(SQLModel, table=True):
    """Switches an operator flips from the CLI (today only `paused`), read by every worker."""

    __tablename__ = "delivery_settings"

    name: str = Field(primary_key=True)
    value: str
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)


OUTBOX = OutboxRow.__table__
SETTINGS = DeliverySetting.__table__


@dataclass(frozen=True)
class OutboxMessage:
    """What a caller hands to `enqueue`: a rendered message and where it should go."""

    key: str
    kind: str
    target_kind: str
    target: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    period: str | None = None
    run_id: int | None = None
    thread_key: str | None = None


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both databases speak it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def enqueue(engine: Engine, messages: Iterable[OutboxMessage]) -> int:
    """Insert new messages in one statement, skipping keys already in the outbox (or repeated
    in `messages`); returns how many were added."""
    rows: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for m in messages:
        if not m.key or not m.kind or not m.target:
            raise ValueError(f"outbox message needs key, kind and target: {m!r}")
        if m.target_kind not in TARGET_KINDS:
            raise ValueError(f"target_kind must be one of {TARGET_KINDS}, not {m.target_kind!r}")
        rows.setdefault(
            m.key,
            {
                "key": m.key,
                "run_id": m.run_id,
                "period": m.period,
                "thread_key": m.thread_key,
                "kind": m.kind,
                "target_kind": m.target_kind,
                "target": m.target,
                "text": m.text,
                "blocks": None if m.blocks is None else json.dumps(m.blocks, ensure_ascii=False),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
    if not rows:
        return 0
    with engine.begin() as conn:
        stmt = _insert(conn, OUTBOX).on_conflict_do_nothing(index_elements=["key"])
        result = conn.execute(stmt.returning(OUTBOX.c.id), list(rows.values()))
        return len(result.all())


def pending_rows(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """Pending rows, oldest first (the order they were enqueued)."""
    query = sa.select(OUTBOX).where(OUTBOX.c.status == "pending").order_by(OUTBOX.c.id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.limit(limit)).mappings()]


def in_doubt_rows(engine: Engine, stale_before: dt.datetime) -> list[dict[str, Any]]:
    """`sending` rows nobody is working on: a pass gave up on them (error set), or they were
    claimed before `stale_before` and so belong to a worker that crashed mid-post."""
    in_doubt = sa.or_(OUTBOX.c.error.is_not(None), OUTBOX.c.updated_at < stale_before)
    query = sa.select(OUTBOX).where(OUTBOX.c.status == "sending", in_doubt).order_by(OUTBOX.c.id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def claim(
    engine: Engine, row: dict[str, Any], channel_id: str, fallback_reason: str | None = None
) -> bool:
    """pending → sending for this worker alone, recording where the post goes (so a read-back
    knows where to look) — unless another worker got there first or delivery is paused."""
    not_paused = ~sa.exists().where(SETTINGS.c.name == PAUSED, SETTINGS.c.value == "true")
    values = {
        "status": "sending",
        "channel_id": channel_id,
        "fallback_reason": fallback_reason,
        "error": None,
        "attempts": row["attempts"] + 1,
        "updated_at": utcnow(),
    }
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == "pending")
        .where(OUTBOX.c.attempts == row["attempts"], not_paused)
        .values(**values)
    )
    with engine.begin() as conn:
        won = conn.execute(stmt).rowcount == 1
    if won:
        row.update(values)
    return won


def transition(engine: Engine, row: dict[str, Any], status: str, **values: Any) -> bool:
    """Move `row` from the status/attempts we last saw to `status`; False if someone else
    moved it meanwhile. `status` equal to the current one just records `values` (e.g. the
    error of a post in doubt) and keeps `updated_at`, the claim time a read-back starts from."""
    if status not in STATUSES:
        raise ValueError(f"unknown outbox status {status!r}")
    if status != row["status"]:
        values["updated_at"] = utcnow()
    if status == "sent":
        values.setdefault("sent_at", utcnow())
        values.setdefault("error", None)
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"])
        .values(status=status, **values)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def count_by_status(engine: Engine) -> dict[str, int]:
    """Rows per status, every status present (zeros included)."""
    query = sa.select(OUTBOX.c.status, sa.func.count()).group_by(OUTBOX.c.status)
    with engine.connect() as conn:
        found: dict[str, int] = dict(conn.execute(query).all())
    return {s: int(found.get(s, 0)) for s in STATUSES}


def list_outbox(
    engine: Engine, status: str | Sequence[str] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Rows for people (the `outbox` command): newest first, optionally of some statuses."""
    query = sa.select(OUTBOX).order_by(OUTBOX.c.id.desc())
    if status is not None:
        query = query.where(OUTBOX.c.status.in_([status] if isinstance(status, str) else status))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.limit(limit)).mappings()]


def get_row(engine: Engine, key: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(OUTBOX).where(OUTBOX.c.key == key)).mappings().first()
    return None if row is None else dict(row)


def set_paused(engine: Engine, paused: bool) -> None:
    """Flip the pause flag every worker checks before claiming a row (see `claim`)."""
    value = "true" if paused else "false"
    with engine.begin() as conn:
        stmt = _insert(conn, SETTINGS).values(name=PAUSED, value=value, updated_at=utcnow())
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"value": value, "updated_at": utcnow()},
            )
        )


def is_paused(engine: Engine) -> bool:
    query = sa.select(SETTINGS.c.value).where(SETTINGS.c.name == PAUSED)
    with engine.connect() as conn:
        return conn.execute(query).scalar() == "true"
