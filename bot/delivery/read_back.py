"""Settling posts in doubt: read the channel back and look for the row's key.

A `sending` row whose post may or may not have reached Slack (a 500, a lost answer, a worker
killed mid-post) is read back once its grace period is over (Slack's history needs a moment,
and a live worker's post is never read back under it): the key found in a message's metadata
→ sent; absent → pending again, so the pass sends it now; cannot tell → `unknown`, which is
never resent automatically and is reported. A file share carries no metadata, so a share in
doubt is `unknown` at once: the chart is shared at most once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery.routing import thread_of
from bot.delivery.transport_types import Posted, ReadBackFailed, Rejected, Transport
from scoring.store.outbox_moves import in_doubt_rows, mark_delivered, transition

log = logging.getLogger("healthbot.delivery")

READ_BACK_MARGIN = 60.0  # seconds before the claim to start reading: clocks differ


def settle_in_doubt(
    engine: Engine,
    transport: Transport,
    now: dt.datetime,
    live: set[str],
    grace: dt.timedelta,
) -> tuple[int, int]:
    """Read back every row in doubt; returns (found sent, turned unknown)."""
    sent = unknown = 0
    for row in in_doubt_rows(engine, now, live, grace):
        after = row["error"] or "its worker stopped mid-post"
        try:
            found = _find(engine, transport, row)
        except (ReadBackFailed, Rejected) as exc:
            error = f"read-back failed: {exc.reason}; after: {after}"
            if transition(engine, row, "unknown", error=error[:2000]):
                unknown += 1
                log.warning("delivery: %s is unknown: %s", row["key"], error)
            continue
        if found is None:  # never accepted: pending again, sent by this pass
            transition(engine, row, "pending", error=f"not delivered: {after}"[:2000])
            log.info("delivery: %s was not delivered (%s); sending it again", row["key"], after)
        elif mark_delivered(engine, row, transport.via, found.channel_id, found.ts, _when(found)):
            sent += 1
            log.info("delivery: %s had arrived after all (read back)", row["key"])
    return sent, unknown


def _find(engine: Engine, transport: Transport, row: dict[str, Any]) -> Posted | None:
    if row["file_data"] is not None or row["file_name"]:
        raise ReadBackFailed("a file share cannot be read back; look in the thread")
    if not row["channel_id"]:
        raise ReadBackFailed("no channel recorded")
    thread = thread_of(engine, row, transport.via)
    thread_ts = thread.ts if isinstance(thread, Posted) else None
    if row["thread_key"] and thread_ts is None:
        raise ReadBackFailed("thread parent not delivered")
    claimed = row["updated_at"].replace(tzinfo=dt.UTC).timestamp()
    return transport.find_posted(
        row["channel_id"], row["key"], claimed - READ_BACK_MARGIN, thread_ts
    )


def _when(posted: Posted) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(float(posted.ts), dt.UTC).replace(tzinfo=None)
    except ValueError:
        return None
