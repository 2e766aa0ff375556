"""A person's way back for rows delivery stopped on: requeue them, or settle one in doubt.

Delivery gives up on a row (`failed`) or cannot tell whether Slack has it (`unknown`, or a
`sending` row whose post is in doubt); only a person can then decide. `retry` requeues failed
rows (and, by key, a terminal-printed one for Slack); `resolve` records what the person saw in
Slack. Both write who and when on the row (`resolution`, `resolved_by`, `resolved_at`), and
each change is a compare-and-set on the status (and attempts) read in the same transaction, so
a worker or a second person moving the row meanwhile wins and this action changes nothing.
`resolved_at` also restarts the give-up clock (outbox_moves.give_up_old) and `reported_at` is
cleared so a new failure is reported again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.engine import Connection, Engine

from scoring.errors import OutboxActionRefused
from scoring.store.alert_shown import insert_shown, listed_accounts
from scoring.store.db import SQLITE_BEGIN
from scoring.store.outbox import OUTBOX
from scoring.store.outbox_moves import ALERT_KIND
from scoring.store.tables import utcnow

RETRYABLE = ("failed",)  # with a key also `printed`: shown in a terminal, never in Slack
RESOLVABLE = ("unknown",)  # and `sending` with an error: a post in doubt
CLOSEST_SCORE = 80  # rapidfuzz ratio a key must reach to be offered as "did you mean"

_RETRY_HINTS = {
    "pending": "the next delivery sweep sends it",
    "sending": "a post is in flight or being read back; if it stays in doubt, look in Slack"
    " and `healthbot outbox resolve {key} --sent` or `--not-sent`",
    "unknown": "look in Slack, then `healthbot outbox resolve {key} --sent` or `--not-sent`",
}
_RESOLVE_HINTS = {
    "pending": "the next delivery sweep sends it",
    "sending": "its post is in flight, not in doubt: the worker or its read-back settles it",
    "failed": "requeue it with `healthbot outbox retry {key}`",
    "printed": "it was shown in a terminal only; send it to Slack with"
    " `healthbot outbox retry {key}`",
}


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the write lock from its first read on SQLite (a deferred
    transaction that read a row another process then changed cannot upgrade to a write in WAL
    mode); PostgreSQL locks the rows it reads with FOR UPDATE instead."""
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
        with conn.begin():
            yield conn


def _cas(conn: Connection, row: dict[str, Any], values: dict[str, Any]) -> bool:
    """Change `row` only if its status and attempts are still what was read."""
    stmt = (
        sa.update(OUTBOX)
        .where(OUTBOX.c.id == row["id"], OUTBOX.c.status == row["status"])
        .where(OUTBOX.c.attempts == row["attempts"])
        .values(**values)
    )
    return conn.execute(stmt).rowcount == 1


def _read(conn: Connection, key: str) -> dict[str, Any]:
    query = sa.select(OUTBOX).where(OUTBOX.c.key == key).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        closest = closest_keys(conn, key)
        hint = f" (closest: {', '.join(closest)})" if closest else ""
        raise OutboxActionRefused(f"no outbox row with key {key!r}{hint}", closest)
    return dict(row)


def closest_keys(conn: Connection, key: str, limit: int = 3) -> list[str]:
    """Keys that nearly match a mistyped one (case, a character or two), best first."""
    keys = list(conn.execute(sa.select(OUTBOX.c.key)).scalars())
    found = process.extract(
        key,
        keys,
        scorer=fuzz.ratio,
        processor=str.casefold,
        limit=limit,
        score_cutoff=CLOSEST_SCORE,
    )
    return [k for k, _score, _index in found]


def _was(row: dict[str, Any]) -> str:
    return f"{row['status']}: {row['error']}" if row["error"] else row["status"]


def _refused(row: dict[str, Any], wanted: str, action: str, hints: dict[str, str]) -> None:
    hint = hints.get(row["status"], "").format(key=row["key"])
    raise OutboxActionRefused(
        f"outbox row {row['key']} is {row['status']}, not {wanted}: nothing to {action}"
        + (f" ({hint})" if hint else "")
    )


def _changed(conn: Connection, row: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Apply the compare-and-set, or say that someone else moved the row first."""
    if not _cas(conn, row, values):
        raise OutboxActionRefused(
            f"outbox row {row['key']} changed while this ran (it was {row['status']}):"
            " nothing done; look again with `healthbot outbox`"
        )
    return row | values | {"was": row["status"], "was_error": row["error"]}


def _requeue_values(by: str, resolution: str) -> dict[str, Any]:
    """Back to pending as if newly queued: due now, its next failure reported again."""
    return {
        "status": "pending",
        "error": None,
        "next_attempt_at": None,
        "reported_at": None,
        "claimed_by": None,
        "resolution": resolution[:2000],
        "resolved_by": by,
        "resolved_at": utcnow(),
        "updated_at": utcnow(),
    }


def retry(
    engine: Engine, by: str, key: str | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Requeue one failed row (`key`; a `printed` one is requeued for Slack) or every failed
    row (of `period`), failed → pending. Returns the rows as changed, each with `was` and
    `was_error`; [] when no row is failed. Refuses, changing nothing, a key that does not
    exist or is in another status."""
    if key is not None and period is not None:
        raise ValueError("retry takes a key or a period, not both")
    with _write(engine) as conn:
        if key is not None:
            row = _read(conn, key)
            if row["status"] not in (*RETRYABLE, "printed"):
                _refused(row, "failed", "retry", _RETRY_HINTS)
            return [_changed(conn, row, _retry_values(row, by))]
        rows = _failed_rows(conn, period)
        return [_changed(conn, row, _retry_values(row, by)) for row in rows]


def _retry_values(row: dict[str, Any], by: str) -> dict[str, Any]:
    if row["status"] == "printed":  # shown in a terminal: not a Slack delivery, send it there
        when = row["sent_at"].isoformat(sep=" ", timespec="seconds") if row["sent_at"] else "?"
        values = _requeue_values(by, f"requeued for Slack (was: printed in the terminal at {when})")
        return values | {"delivered_via": None, "sent_at": None, "ts": None}
    return _requeue_values(by, f"requeued (was: {row['error'] or 'failed'})")


def _failed_rows(conn: Connection, period: str | None) -> list[dict[str, Any]]:
    query = sa.select(OUTBOX).where(OUTBOX.c.status.in_(RETRYABLE))
    if period is not None:
        known = sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.period == period)
        if not conn.execute(known).scalar():
            raise OutboxActionRefused(f"no outbox rows of period {period!r}" + _periods_hint(conn))
        query = query.where(OUTBOX.c.period == period)
    found = conn.execute(query.order_by(OUTBOX.c.id).with_for_update()).mappings()
    return [dict(r) for r in found]


def _periods_hint(conn: Connection) -> str:
    query = sa.select(OUTBOX.c.period).where(OUTBOX.c.period.is_not(None)).distinct()
    periods = sorted(conn.execute(query).scalars(), reverse=True)[:5]
    return f" (latest periods in the outbox: {', '.join(periods)})" if periods else ""


def resolve(engine: Engine, key: str, sent: bool, by: str) -> dict[str, Any]:
    """Settle a row in doubt (`unknown`, or `sending` with an error) with what a person saw in
    Slack. sent: the row is sent through Slack, and an alert DM's accounts listed in full when
    it was posted count as shown (the cooldown starts), in the same transaction. Not sent: it
    becomes pending and the next delivery sweep sends it. Returns the row as changed, with
    `was`, `was_error` and `shown` (accounts newly recorded as shown)."""
    with _write(engine) as conn:
        row = _read(conn, key)
        in_doubt = row["status"] == "sending" and row["error"] is not None
        if row["status"] not in RESOLVABLE and not in_doubt:
            _refused(row, "unknown", "resolve", _RESOLVE_HINTS)
        if not sent:
            values = _requeue_values(by, f"resolved as not sent (was: {_was(row)})")
            return _changed(conn, row, values) | {"shown": 0}
        now = utcnow()
        values = {
            "status": "sent",
            "delivered_via": "slack",
            "sent_at": row["sent_at"] or now,
            "error": None,
            "next_attempt_at": None,
            "resolution": f"resolved as sent (was: {_was(row)})"[:2000],
            "resolved_by": by,
            "resolved_at": now,
            "updated_at": now,
        }
        changed = _changed(conn, row, values)
        shown = 0
        if row["kind"] == ALERT_KIND and row["period"]:
            accounts = listed_accounts(row["posted_accounts"])
            shown = insert_shown(conn, row["period"], accounts, "dm", key, values["sent_at"])
        return changed | {"shown": shown}
