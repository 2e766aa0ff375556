"""The outbox's state machine: every move of a row is a compare-and-set on what we last saw.

    pending ──claim──▶ sending ──posted──▶ sent            (printed: terminal only)
       ▲  ▲               │ post in doubt (500, lost answer, worker died)
       │  └─ read back:   ▼
       │     absent ◀── sending+error ──read back: found──▶ sent
       │                  │ cannot tell
       │                  ▼
       └── retry ◀──── failed / unknown ◀── given up after `give_up` (reported once)

`claim` and `transition` change a row only if its (status, attempts) are still what the caller
read, so two workers never both post one row. `next_attempt_at` says when a row may be tried
again: after a refusal (rate limit, Slack unreachable) and after a post in doubt (the read-back
grace). A `sending` row with no error belongs to a worker whose post is in flight; once that
worker's lease heartbeat is stale the row is in doubt too. Delivering an alert DM to Slack
records the accounts it lists in full as shown, in the same transaction (alert_shown.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.alert_shown import insert_shown, listed_accounts
from scoring.store.outbox import OUTBOX, PAUSED, SETTINGS, STATUSES
from scoring.store.tables import utcnow

ALERT_KIND = "alert_dm"  # rows whose delivery shows alerts (see alert_shown.py)
STALE_CLAIM = dt.timedelta(minutes=10)  # a claim by no known worker is in doubt after this


def due_rows(
    engine: Engine, now: dt.datetime, statuses: Collection[str], limit: int | None = None
) -> list[dict[str, Any]]:
    """Rows in `statuses` whose next attempt is due, oldest first (the order they came)."""
    due = sa.or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now)
    query = sa.select(OUTBOX).where(OUTBOX.c.status.in_(list(statuses)), due)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(OUTBOX.c.id).limit(limit)).mappings()]


def in_doubt_rows(
    engine: Engine, now: dt.datetime, live: Collection[str], grace: dt.timedelta
) -> list[dict[str, Any]]:
    """`sending` rows nobody is working on: the post failed in doubt and its grace is over,
    or the worker that claimed it is gone (no live lease) and the claim is `grace` old."""
    failed_in_doubt = sa.and_(
        OUTBOX.c.error.is_not(None),
        sa.or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now),
    )
    orphaned = sa.and_(
        OUTBOX.c.error.is_(None),
        OUTBOX.c.updated_at <= now - grace,
        sa.or_(
            OUTBOX.c.claimed_by.is_(None) & (OUTBOX.c.updated_at <= now - STALE_CLAIM),
            OUTBOX.c.claimed_by.not_in(list(live) or [""]),
        ),
    )
    query = sa.select(OUTBOX).where(OUTBOX.c.status == "sending", failed_in_doubt | orphaned)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(OUTBOX.c.id)).mappings()]


def due_updates(engine: Engine, now: dt.datetime) -> list[dict[str, Any]]:
    """Rows in Slack whose content was revised since it was posted: to update in place."""
    due = sa.or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now)
    query = sa.select(OUTBOX).where(
        OUTBOX.c.status == "sent",
        OUTBOX.c.delivered_via == "slack",
        OUTBOX.c.ts.is_not(None),  # settled by hand (`outbox resolve --sent`): no ts to edit
        OUTBOX.c.revision > sa.func.coalesce(OUTBOX.c.posted_revision, 0),
        due,
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(OUTBOX.c.id)).mappings()]


def claim(
    engine: Engine,
    row: dict[str, Any],
    channel_id: str,
    fallback_reason: str | None = None,
    holder: str | None = None,
    statuses: Collection[str] = ("pending",),
) -> bool:
    """pending → sending for this worker alone, recording where the post goes (so a read-back
    knows where to look), who posts it and which content — unless another worker got there
    first or delivery is paused."""
    if row["status"] not in statuses:
        return False
    not_paused = ~sa.exists().where(SETTINGS.c.name == PAUSED, SETTINGS.c.value == "true")
    values = {
        "status": "sending",
        "channel_id": channel_id,
        "fallback_reason": fallback_reason,
        "error": None,
        "attempts": row["attempts"] + 1,
        "updated_at": utcnow(),
        "claimed_by": holder,
        "next_attempt_at": None,
        "posted_revision": OUTBOX.c.revision,
        "posted_accounts": OUTBOX.c.accounts,
    }
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"], not_paused)
        .values(**values)
        .returning(OUTBOX.c.posted_revision, OUTBOX.c.posted_accounts, OUTBOX.c.text)
    )
    with engine.begin() as conn:
        won = conn.execute(stmt).first()
    if won is not None:
        row.update(values)
        row["posted_revision"], row["posted_accounts"], row["text"] = won
    return won is not None


def transition(engine: Engine, row: dict[str, Any], status: str, **values: Any) -> bool:
    """Move `row` from the status/attempts we last saw to `status`; False if someone else
    moved it meanwhile. `status` equal to the current one just records `values` (e.g. the
    error of a post in doubt) and keeps `updated_at`, the claim time a read-back starts from."""
    if status not in STATUSES:
        raise ValueError(f"unknown outbox status {status!r}")
    if status != row["status"]:
        values["updated_at"] = utcnow()
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"])
        .values(status=status, **values)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def mark_delivered(
    engine: Engine,
    row: dict[str, Any],
    via: str,
    channel_id: str,
    ts: str | None,
    sent_at: dt.datetime | None = None,
) -> bool:
    """sending → sent (Slack) or printed (terminal), and for an alert DM the accounts it listed
    in full when posted become shown (how: "dm" or "printed"), in the same transaction."""
    status = "sent" if via == "slack" else "printed"
    when = sent_at or utcnow()
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"])
        .values(
            status=status,
            delivered_via=via,
            channel_id=channel_id,
            ts=ts,
            sent_at=when,
            error=None,
            next_attempt_at=None,
            updated_at=utcnow(),
        )
        .returning(OUTBOX.c.posted_accounts)
    )
    with engine.begin() as conn:
        done = conn.execute(stmt).first()
        if done is None:
            return False
        if row["kind"] == ALERT_KIND and row["period"]:
            how = "dm" if via == "slack" else "printed"
            insert_shown(conn, row["period"], listed_accounts(done[0]), how, row["key"], when)
    return True


def mark_updated(engine: Engine, row: dict[str, Any], revision: int) -> bool:
    """A revised row's content is now in Slack (chat.update). Accounts it added are not
    shown: the owner was not notified of an edit."""
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == "sent")
        .where(sa.func.coalesce(OUTBOX.c.posted_revision, 0) < revision)
        .values(posted_revision=revision, error=None, next_attempt_at=None, updated_at=utcnow())
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def postpone(engine: Engine, row: dict[str, Any], until: dt.datetime, error: str) -> bool:
    """Keep the row's status, try again at `until` (a refusal, an update that failed)."""
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"])
        .values(next_attempt_at=until, error=error)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def give_up_old(engine: Engine, now: dt.datetime, after: dt.timedelta) -> list[dict[str, Any]]:
    """Stop rows still undelivered `after` they were queued (or requeued by a person): pending
    ones become failed, ones in doubt unknown. Returns the rows stopped, for the report."""
    since = sa.func.coalesce(OUTBOX.c.resolved_at, OUTBOX.c.created_at)
    old = since <= now - after
    hours = after.total_seconds() / 3600
    stopped: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for status, to in (("pending", "failed"), ("printed", "failed"), ("sending", "unknown")):
            stuck = OUTBOX.c.status == status
            if status == "sending":  # only a post known to be in doubt, never one in flight
                stuck = stuck & OUTBOX.c.error.is_not(None)
            rows = conn.execute(sa.select(OUTBOX).where(stuck, old)).mappings().all()
            for r in rows:
                error = f"gave up after {hours:g} h undelivered; last: {r['error'] or status}"
                result = conn.execute(
                    sa.update(OUTBOX)
                    .where(OUTBOX.c.id == r["id"], OUTBOX.c.status == status)
                    .values(status=to, error=error[:2000], updated_at=utcnow())
                )
                if result.rowcount == 1:
                    stopped.append(dict(r) | {"status": to, "error": error})
    return stopped


def claim_unreported(engine: Engine, statuses: Collection[str] = ("failed", "unknown")) -> list:
    """Rows that stopped (failed, unknown) and were not reported yet, marked reported in the
    same statement: whoever gets them reports them, once."""
    now = utcnow()
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.status.in_(list(statuses)), OUTBOX.c.reported_at.is_(None))
        .values(reported_at=now)
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.key,
            OUTBOX.c.kind,
            OUTBOX.c.target,
            OUTBOX.c.status,
            OUTBOX.c.error,
            OUTBOX.c.period,
            OUTBOX.c.run_id,
        )
    )
    with engine.begin() as conn:
        return sorted((dict(r._mapping) for r in conn.execute(stmt)), key=lambda r: r["id"])
