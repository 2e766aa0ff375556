"""Where a row goes: the Slack user of an email, a channel, the redirect or the fallback
channel, and the thread a reply (or a file) belongs in.

Kept apart from the pass so the pass reads as the state machine it drives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery.transport_types import Outgoing, Posted, Rejected, Transport
from bot.messages.render import MAX_BLOCKS, mrkdwn
from scoring.store.outbox import get_row


@dataclass(frozen=True)
class Route:
    message: Outgoing
    fallback_reason: str | None = None


WAIT = object()  # thread_of's answer for a reply whose parent is not delivered yet


def thread_of(engine: Engine, row: dict[str, Any], via: str) -> Posted | object | None:
    """A reply's delivered parent (its channel id and ts), WAIT while the parent may still be
    delivered, None for a top-level message; Rejected when there will never be a thread.
    Through Slack only a parent in Slack counts: a `printed` one has no thread there."""
    if not row["thread_key"]:
        return None
    parent = get_row(engine, row["thread_key"])
    if parent is None or parent["status"] in ("failed", "unknown"):
        state = "missing" if parent is None else parent["status"]
        raise Rejected(f"thread parent {row['thread_key']} is {state}")
    delivered = ("sent",) if via == "slack" else ("sent", "printed")
    if parent["status"] not in delivered or not parent["ts"]:
        return WAIT
    return Posted(str(parent["channel_id"]), str(parent["ts"]))


def route(
    transport: Transport,
    row: dict[str, Any],
    users: dict[str, str | None],
    redirect: str | None,
    fallback_channel: str | None,
) -> Route:
    """The message to post for `row`; `users` caches email → Slack user for one pass."""
    key, target, text = row["key"], row["target"], row["text"]
    blocks = json.loads(row["blocks"]) if row["blocks"] else None
    is_dm = row["target_kind"] == "email"
    if redirect:
        label = target if is_dm else "#" + target.removeprefix("#")
        return Route(Outgoing(key, redirect, *noted(text, blocks, f"for {label}")))
    if not is_dm:
        return Route(Outgoing(key, target, text, blocks))
    if target not in users:
        users[target] = transport.resolve_user(target)
    user = users[target]
    if user is not None:
        return Route(Outgoing(key, user, text, blocks, to=target))
    reason = f"no active Slack user with email {target}"
    if not fallback_channel:
        raise Rejected(reason)
    shown = noted(text, blocks, f"for {target} ({reason})")
    return Route(Outgoing(key, fallback_channel, *shown), fallback_reason=reason)


def noted(text: str, blocks: list[dict[str, Any]] | None, note: str) -> tuple[str, Any]:
    """The message with `note` (who it was meant for) on top, in the text and the blocks."""
    shown = mrkdwn(note)
    if blocks:
        context = {"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]}
        blocks = [context, *blocks[: MAX_BLOCKS - 1]]
    return f"_{shown}_\n{text}", blocks
