"""Deliver the outbox: each message reaches Slack at most once, and we learn which did.

A pass first settles rows left `sending` (a post that failed after it may have reached Slack,
or a worker that died mid-post) by reading the channel back and looking for the row's key in
the messages' metadata: found → sent; absent → pending again; cannot tell → `unknown`, which
is never resent automatically. Only then are pending rows claimed one by one (a conditional
UPDATE, so concurrent workers never share a row) and posted once. Nothing is retried blindly:
a failure after the request left this machine leaves the row for the next pass to read back.

A row with a `thread_key` is a reply: it is routed like any row (its target is its parent's)
and posted with `thread_ts` = the ts of the row with that key, so it waits (stays pending)
until its parent is sent, and fails when its parent failed or is unknown (no thread to reply
in). Its read-back looks among the thread's replies, where history does not show it.

Rows of FILE_KINDS record a file share done by the job that owns the file (bot/jobs/digest.py
uploads the digest chart); a pass never posts them, and settles one left `sending` by a dead
job as `unknown`, because a file share carries no metadata to read back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery.transport_types import (
    InDoubt,
    NotSent,
    Outgoing,
    Posted,
    ReadBackFailed,
    Rejected,
    Transport,
)
from bot.messages.render import MAX_BLOCKS, mrkdwn
from scoring.store.outbox import count_by_status, get_row, is_paused
from scoring.store.outbox_moves import claim, in_doubt_rows, transition
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.delivery")

# A `sending` row with no recorded outcome is someone's post in flight until this old; after
# that its worker is presumed dead and the row is read back. Longer than a post can take,
# rate-limit waits included, so a live worker's row is never read back (and resent) under it.
IN_FLIGHT = dt.timedelta(minutes=10)
READ_BACK_MARGIN = 60.0  # seconds before the claim to start reading: clocks differ
CHART_KIND = "digest_chart"
FILE_KINDS = frozenset({CHART_KIND})


@dataclass
class DeliveryReport:
    """What one pass did (sent, failed, unknown, fallbacks) and what is left (pending, in
    doubt: rows still `sending`, read back by the next pass)."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    pending: int = 0
    fallbacks: int = 0
    in_doubt: int = 0
    paused: bool = False


@dataclass(frozen=True)
class _Route:
    message: Outgoing
    fallback_reason: str | None = None


def deliver_pending(
    engine: Engine,
    transport: Transport,
    *,
    redirect: str | None = None,
    fallback_channel: str | None = None,
    limit: int | None = None,
    in_flight: dt.timedelta = IN_FLIGHT,
) -> DeliveryReport:
    """One delivery pass over the outbox (see the module docstring); safe to run concurrently.

    `redirect`: send everything to this channel instead, naming the intended recipient (test
    workspaces, dry runs). `fallback_channel`: where a DM goes when its owner is not in Slack.
    `limit`: at most this many pending rows this pass. The pass stops early when Slack does
    not take messages (unreachable, still rate limited after the retries): the rest wait.
    """
    report = DeliveryReport()
    if is_paused(engine):
        report.paused = True
    else:
        _settle_in_doubt(engine, transport, report, utcnow() - in_flight)
        users: dict[str, str | None] = {}  # email → Slack user, for this pass
        for row in pending_rows(engine, limit):
            if row["kind"] in FILE_KINDS:
                continue
            try:
                thread = _thread(engine, row)
                if thread is _WAIT:
                    continue
                route = _route(transport, row, users, redirect, fallback_channel)
                if isinstance(thread, Posted):
                    reply = replace(route.message, thread_ts=thread.ts)
                    route = replace(route, message=reply)
            except Rejected as exc:
                report.failed += _fail(engine, row, exc.reason)
                continue
            except NotSent as exc:
                transition(engine, row, "pending", error=exc.reason)
                break
            if not claim(engine, row, route.message.channel, route.fallback_reason):
                if is_paused(engine):
                    report.paused = True
                    break
                continue  # another worker has it
            if not _post(engine, transport, row, route, report):
                break
    counts = count_by_status(engine)
    report.pending, report.in_doubt = counts["pending"], counts["sending"]
    log.info("delivery: %s", report)
    return report


def _settle_in_doubt(
    engine: Engine, transport: Transport, report: DeliveryReport, stale_before: dt.datetime
) -> None:
    """Read back each row whose post may or may not have arrived, and settle it."""
    for row in in_doubt_rows(engine, stale_before):
        claimed = row["updated_at"].replace(tzinfo=dt.UTC).timestamp()
        after = row["error"] or "interrupted"
        try:
            if row["kind"] in FILE_KINDS:
                raise ReadBackFailed("a file share cannot be read back")
            if not row["channel_id"]:
                raise ReadBackFailed("no channel recorded")
            thread = _thread(engine, row)
            thread_ts = thread.ts if isinstance(thread, Posted) else None
            if row["thread_key"] and thread_ts is None:
                raise ReadBackFailed("thread parent not sent")
            oldest = claimed - READ_BACK_MARGIN
            found = transport.find_posted(row["channel_id"], row["key"], oldest, thread_ts)
        except (ReadBackFailed, Rejected) as exc:
            error = f"read-back failed: {exc.reason}; after: {after}"
            if transition(engine, row, "unknown", error=error):
                report.unknown += 1
                log.warning("delivery: %s is unknown: %s", row["key"], error)
            continue
        if found is None:  # never accepted: pending again, claimed and sent below
            transition(engine, row, "pending", error=f"not delivered: {after}")
        elif _mark_sent(engine, row, found):
            report.sent += 1
            report.fallbacks += row["fallback_reason"] is not None


_WAIT = object()  # _thread's answer for a reply whose parent is not sent yet


def _thread(engine: Engine, row: dict[str, Any]) -> Posted | object | None:
    """A reply's sent parent (its channel id and ts), _WAIT while the parent may still be
    sent, None for a top-level message; Rejected when there will never be a thread."""
    if not row["thread_key"]:
        return None
    parent = get_row(engine, row["thread_key"])
    if parent is None or parent["status"] in ("failed", "unknown"):
        state = "missing" if parent is None else parent["status"]
        raise Rejected(f"thread parent {row['thread_key']} is {state}")
    if parent["status"] != "sent" or not parent["ts"]:
        return _WAIT
    return Posted(str(parent["channel_id"]), str(parent["ts"]))


def _fail(engine: Engine, row: dict[str, Any], reason: str) -> bool:
    if not transition(engine, row, "failed", error=reason):
        return False
    log.warning("delivery: %s failed: %s", row["key"], reason)
    return True


def _route(
    transport: Transport,
    row: dict[str, Any],
    users: dict[str, str | None],
    redirect: str | None,
    fallback_channel: str | None,
) -> _Route:
    key, target, text = row["key"], row["target"], row["text"]
    blocks = json.loads(row["blocks"]) if row["blocks"] else None
    is_dm = row["target_kind"] == "email"
    if redirect:
        label = target if is_dm else "#" + target.removeprefix("#")
        return _Route(Outgoing(key, redirect, *_noted(text, blocks, f"for {label}")))
    if not is_dm:
        return _Route(Outgoing(key, target, text, blocks))
    if target not in users:
        users[target] = transport.resolve_user(target)
    user = users[target]
    if user is not None:
        return _Route(Outgoing(key, user, text, blocks, to=target))
    reason = f"no active Slack user with email {target}"
    if not fallback_channel:
        raise Rejected(reason)
    noted = _noted(text, blocks, f"for {target} ({reason})")
    return _Route(Outgoing(key, fallback_channel, *noted), fallback_reason=reason)


def _noted(text: str, blocks: list[dict[str, Any]] | None, note: str) -> tuple[str, Any]:
    """The message with `note` (who it was meant for) on top, in the text and the blocks."""
    shown = mrkdwn(note)
    if blocks:
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]}
        blocks = [context, *blocks[: MAX_BLOCKS - 1]]
    return f"_{shown}_\n{text}", blocks


def _post(
    engine: Engine,
    transport: Transport,
    row: dict[str, Any],
    route: _Route,
    report: DeliveryReport,
) -> bool:
    """Post a claimed row once and record the outcome, never retrying; False when Slack is
    not taking messages now (the row goes back to pending, and the pass should stop)."""
    try:
        posted = transport.post(route.message)
    except Rejected as exc:
        report.failed += _fail(engine, row, exc.reason)
    except NotSent as exc:
        transition(engine, row, "pending", error=exc.reason)
        return False
    except InDoubt as exc:
        transition(engine, row, "sending", error=f"in doubt: {exc.reason}")
        log.warning("delivery: %s may have been sent (%s); read back next pass", row["key"], exc)
    except BaseException:
        transition(engine, row, "sending", error="in doubt: delivery interrupted")
        raise
    else:
        if _mark_sent(engine, row, posted):
            report.sent += 1
            report.fallbacks += route.fallback_reason is not None
    return True


def _mark_sent(engine: Engine, row: dict[str, Any], posted: Posted) -> bool:
    try:
        sent_at = dt.datetime.fromtimestamp(float(posted.ts), dt.UTC).replace(tzinfo=None)
    except ValueError:
        sent_at = utcnow()
    return transition(
        engine, row, "sent", channel_id=posted.channel_id, ts=posted.ts, sent_at=sent_at
    )
