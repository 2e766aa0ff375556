"""Deliver the outbox: each message reaches Slack at most once, and we learn which did.

One pass (`deliver_pending`): settle posts in doubt (read_back.py), then claim due rows one by
one (a compare-and-set, so concurrent workers never share a row) and post each once, then
update in place the DMs whose content a rerun revised. Nothing is retried blindly: a failure
after the request may have left this machine leaves the row in doubt, read back after the
grace period by a later pass. When Slack does not take messages (unreachable, rate limited
beyond the call's budget) the pass stops and the row waits for its next attempt. Rows in the
outbox's state machine: scoring/store/outbox_moves.py; who calls a pass and when:
bot/jobs/sweep.py (every few minutes) and the weekly run (bot/jobs/weekly.py).

A row with a `thread_key` is a reply (or a file shared into a thread): it waits until its
parent is delivered and fails when its parent failed. A row with file data (the digest
chart) is uploaded once; a share in doubt becomes `unknown`, never repeated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery.read_back import settle_in_doubt
from bot.delivery.routing import WAIT, Route, route, thread_of
from bot.delivery.transport_types import (
    FileUpload,
    InDoubt,
    NotSent,
    Posted,
    Rejected,
    Transport,
)
from scoring.store.leases import live_holders
from scoring.store.outbox import count_by_status, is_paused
from scoring.store.outbox_moves import (
    claim,
    due_rows,
    due_updates,
    mark_delivered,
    mark_updated,
    postpone,
    transition,
)
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.delivery")
CHART_KIND = "digest_chart"


@dataclass(frozen=True)
class PassOptions:
    """How a pass delivers: `redirect` everything to one channel (a test workspace), where a
    DM goes when its owner is not in Slack, who is posting (the worker's lease holder, so a
    dead worker's posts are recognised), the read-back grace and when a lease is stale, and
    `should_stop` (SIGTERM: no new sends)."""

    redirect: str | None = None
    fallback_channel: str | None = None
    holder: str | None = None
    grace: dt.timedelta = dt.timedelta(seconds=60)
    stale: dt.timedelta = dt.timedelta(minutes=2)
    should_stop: Callable[[], bool] = lambda: False
    limit: int | None = None


@dataclass
class DeliveryReport:
    """What one pass did, and what is left: pending (not yet tried, or waiting for their next
    attempt), in doubt (still `sending`: read back by a later pass)."""

    sent: int = 0
    updated: int = 0
    failed: int = 0
    unknown: int = 0
    pending: int = 0
    fallbacks: int = 0
    in_doubt: int = 0
    paused: bool = False
    stopped: bool = False  # asked to stop, or Slack refused: the rest waits
    waiting_reason: str | None = None  # why Slack did not take messages


def deliver_pending(
    engine: Engine, transport: Transport, options: PassOptions | None = None
) -> DeliveryReport:
    """One delivery pass over the outbox (see the module docstring); safe to run concurrently."""
    opts = options or PassOptions()
    report = DeliveryReport()
    if is_paused(engine):
        report.paused = True
    else:
        now = utcnow()
        # A pass of this worker is the only one it runs: its own `sending` rows with no
        # outcome are left from a pass that failed before it could record one (the database
        # went away mid-post), not posts in flight.
        live = live_holders(engine, opts.stale) - {opts.holder}
        found, unknown = settle_in_doubt(engine, transport, now, live, opts.grace)
        report.sent += found
        report.unknown += unknown
        if _send_due(engine, transport, opts, report) and transport.via == "slack":
            _update_revised(engine, transport, opts, report)
    counts = count_by_status(engine)
    open_ = ("pending", "printed") if transport.via == "slack" else ("pending",)
    report.pending = sum(counts[s] for s in open_)
    report.in_doubt = counts["sending"]
    log.info("delivery: %s", report)
    return report


def _send_due(
    engine: Engine, transport: Transport, opts: PassOptions, report: DeliveryReport
) -> bool:
    """Claim and post every due row; False when the pass had to stop."""
    statuses = ("pending", "printed") if transport.via == "slack" else ("pending",)
    users: dict[str, str | None] = {}  # email → Slack user, for this pass
    for row in due_rows(engine, utcnow(), statuses, opts.limit):
        if opts.should_stop():
            report.stopped = True
            return False
        try:
            thread = thread_of(engine, row, transport.via)
            if thread is WAIT:
                continue
            if row["file_data"] is not None:
                outcome = _upload(engine, transport, row, thread, opts)
            else:
                target = route(transport, row, users, opts.redirect, opts.fallback_channel)
                if isinstance(thread, Posted):
                    target = replace(target, message=replace(target.message, thread_ts=thread.ts))
                outcome = _post(engine, transport, row, target, opts)
        except Rejected as exc:
            report.failed += transition(engine, row, "failed", error=exc.reason)
            log.warning("delivery: %s failed: %s", row["key"], exc.reason)
            continue
        except NotSent as exc:
            _wait(engine, row, exc, report)
            return False
        if outcome == "paused":
            report.paused = True
            return False
        report.sent += outcome in ("sent", "fallback")
        report.fallbacks += outcome == "fallback"
        report.unknown += outcome == "unknown"
    return True


def _post(
    engine: Engine, transport: Transport, row: dict[str, Any], target: Route, opts: PassOptions
) -> str:
    """Claim and post one row once: "sent"/"fallback", "doubt", "lost" (someone else has it),
    "paused"; NotSent/Rejected after the claim put the row back before they propagate."""
    message = target.message
    if not claim(
        engine, row, message.channel, target.fallback_reason, opts.holder, (row["status"],)
    ):
        return "paused" if is_paused(engine) else "lost"
    try:
        posted = transport.post(message)
    except (NotSent, Rejected) as exc:
        _unclaim(engine, row, exc)
        raise
    except InDoubt as exc:
        _in_doubt(engine, row, exc.reason, opts.grace)
        return "doubt"
    except BaseException:
        _in_doubt(engine, row, "delivery interrupted", opts.grace)
        raise
    sent_at = _sent_at(posted.ts)
    if not mark_delivered(engine, row, transport.via, posted.channel_id, posted.ts, sent_at):
        return "lost"
    return "fallback" if target.fallback_reason else "sent"


def _upload(
    engine: Engine, transport: Transport, row: dict[str, Any], thread: Any, opts: PassOptions
) -> str:
    """Share a file row once into its parent's thread; a share in doubt is never repeated."""
    if not isinstance(thread, Posted):
        raise Rejected("a file needs a delivered message to share into")
    if not claim(engine, row, thread.channel_id, None, opts.holder, (row["status"],)):
        return "paused" if is_paused(engine) else "lost"
    upload = FileUpload(
        key=row["key"],
        channel=thread.channel_id,
        filename=row["file_name"] or "file",
        data=row["file_data"],
        title=row["text"],
        alt_text=row["file_alt"],
        thread_ts=thread.ts,
    )
    try:
        done = transport.upload_file(upload)
    except (NotSent, Rejected) as exc:
        _unclaim(engine, row, exc)
        raise
    except InDoubt as exc:
        transition(engine, row, "unknown", error=f"in doubt: {exc.reason}; never shared twice")
        log.warning("delivery: file %s may have been shared (%s)", row["key"], exc.reason)
        return "unknown"
    except BaseException:
        transition(engine, row, "unknown", error="in doubt: upload interrupted")
        raise
    mark_delivered(engine, row, transport.via, done.channel_id, None)
    return "sent"


def _unclaim(engine: Engine, row: dict[str, Any], exc: NotSent | Rejected) -> None:
    """Nothing was posted. Not sent: back to pending (the handler above then sets when to try
    again); rejected: stays claimed for the handler above to mark failed."""
    if isinstance(exc, NotSent) and transition(engine, row, "pending", error=exc.reason):
        row["status"] = "pending"


def _in_doubt(engine: Engine, row: dict[str, Any], reason: str, grace: dt.timedelta) -> None:
    until = utcnow() + grace
    transition(engine, row, "sending", error=f"in doubt: {reason}", next_attempt_at=until)
    log.warning(
        "delivery: %s may have been sent (%s); read back after %s", row["key"], reason, until
    )


def _wait(engine: Engine, row: dict[str, Any], exc: NotSent, report: DeliveryReport) -> None:
    """Slack is not taking messages: this row waits for Retry-After (or the next pass)."""
    until = None if exc.retry_after is None else utcnow() + dt.timedelta(seconds=exc.retry_after)
    postpone(engine, row, until, exc.reason)  # type: ignore[arg-type]
    report.stopped = True
    report.waiting_reason = exc.reason
    log.warning("delivery: Slack is not taking messages (%s); the rest waits", exc.reason)


def _update_revised(
    engine: Engine, transport: Transport, opts: PassOptions, report: DeliveryReport
) -> None:
    """chat.update each DM a rerun revised after it was posted (safe to repeat)."""
    for row in due_updates(engine, utcnow()):
        if opts.should_stop():
            report.stopped = True
            return
        blocks = json.loads(row["blocks"]) if row["blocks"] else None
        try:
            transport.update(str(row["channel_id"]), str(row["ts"]), row["text"], blocks)
        except Rejected as exc:  # e.g. message_not_found: deleted in Slack; leave it be
            mark_updated(engine, row, row["revision"])
            log.warning("delivery: could not update %s: %s", row["key"], exc.reason)
            continue
        except NotSent as exc:
            _wait(engine, row, exc, report)
            return
        report.updated += mark_updated(engine, row, row["revision"])


def _sent_at(ts: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).replace(tzinfo=None)
    except ValueError:
        return None
