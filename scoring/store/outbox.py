"""The outbox: every Slack message is a row before it is a post, so nothing is sent twice.

This module holds the table, `enqueue` and the read queries; the state machine (claim, sent,
in doubt, read back, given up) is scoring/store/outbox_moves.py and is drawn in
docs/architecture.md ("Delivery states"). Keys are unique and chosen by the caller: one alert
DM per owner and period, one digest per target and period. An alert DM is *revisable*: a rerun
that decides different alerts replaces its content (a new `revision`), and a DM already in
Slack is then updated in place rather than sent again.
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

# `printed`: shown by the terminal transport; never a Slack delivery, so a Slack pass sends it.
STATUSES = ("pending", "sending", "sent", "printed", "failed", "unknown")
OPEN_STATUSES = ("pending", "sending", "printed")  # not yet delivered to Slack
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
    # Revision 0007 (delivery that recovers), see docs/architecture.md "Delivery states":
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)  # not before
    claimed_by: str | None = None  # the worker (lease holder) whose post is in flight
    delivered_via: str | None = None  # "slack" or "terminal"
    revision: int = 0  # bumped when a rerun changes the content (an alert DM)
    posted_revision: int | None = None  # the revision that is (being) posted
    accounts: str | None = Field(default=None, sa_type=sa.Text)  # JSON: listed in full
    posted_accounts: str | None = Field(default=None, sa_type=sa.Text)  # JSON, at the post
    file_data: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    file_name: str | None = None
    file_alt: str | None = Field(default=None, sa_type=sa.Text)
    resolution: str | None = Field(default=None, sa_type=sa.Text)  # retry/resolve by a person
    resolved_by: str | None = None
    resolved_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)
    reported_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)  # told admins


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
    accounts: list[str] | None = None  # an alert DM's accounts listed in full
    revisable: bool = False  # a rerun replaces the content (see the module docstring)
    file_data: bytes | None = None  # a file to share (the digest chart); `text` is its title
    file_name: str | None = None
    file_alt: str | None = None


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both databases speak it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def enqueue(engine: Engine, messages: Iterable[OutboxMessage]) -> int:
    """Insert new messages in one statement, skipping keys already in the outbox (or repeated
    in `messages`); returns how many were added. A revisable message whose key exists replaces
    that row's content when it differs (`revise`)."""
    messages = list(messages)
    rows = _rows(messages)
    if not rows:
        return 0
    with engine.begin() as conn:
        stmt = _insert(conn, OUTBOX).on_conflict_do_nothing(index_elements=["key"])
        added = {r.key for r in conn.execute(stmt.returning(OUTBOX.c.key), list(rows.values()))}
        for m in messages:
            if m.revisable and m.key not in added:
                revise(conn, rows[m.key])
    return len(added)


def revise(conn: sa.Connection, new: dict[str, Any]) -> bool:
    """Give an existing row new content as its next revision, unless the content is the same.
    The status does not change: a pending row simply sends the new content, a delivered one is
    updated in Slack by the next pass (see outbox_moves.due_updates)."""
    changed = sa.or_(
        OUTBOX.c.text != new["text"],
        sa.func.coalesce(OUTBOX.c.blocks, "") != (new["blocks"] or ""),
        sa.func.coalesce(OUTBOX.c.accounts, "") != (new["accounts"] or ""),
    )
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.key == new["key"], changed)
        .values(
            text=new["text"],
            blocks=new["blocks"],
            accounts=new["accounts"],
            run_id=new["run_id"],
            revision=OUTBOX.c.revision + 1,
        )
    )
    return conn.execute(stmt).rowcount == 1


def _rows(messages: Iterable[OutboxMessage]) -> dict[str, dict[str, Any]]:
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
                "revision": 0,
                "accounts": None if m.accounts is None else json.dumps(list(m.accounts)),
                "file_data": m.file_data,
                "file_name": m.file_name,
                "file_alt": m.file_alt,
            },
        )
    return rows


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


def get_rows(engine: Engine, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Rows by key, for the keys that exist (one query)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    with engine.connect() as conn:
        found = conn.execute(sa.select(OUTBOX).where(OUTBOX.c.key.in_(wanted))).mappings()
        return {r["key"]: dict(r) for r in found}


def period_rows(engine: Engine, period: str, kind: str) -> dict[str, dict[str, Any]]:
    """Rows of one kind for one period, by key."""
    query = sa.select(OUTBOX).where(OUTBOX.c.period == period, OUTBOX.c.kind == kind)
    with engine.connect() as conn:
        return {r["key"]: dict(r) for r in conn.execute(query).mappings()}


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
