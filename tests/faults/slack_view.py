"""What reached Slack, read from the double: healthbot's posts by outbox key, the in-place
updates Slack accepted, and the files it shared."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.slack_double import RecordedCall, SlackDouble

EVENT_TYPE = "healthbot_message"  # the metadata every healthbot post carries


def key_of(message_or_params: dict[str, Any]) -> str | None:
    meta = message_or_params.get("metadata") or {}
    if not isinstance(meta, dict) or meta.get("event_type") != EVENT_TYPE:
        return None
    return (meta.get("event_payload") or {}).get("key")


@dataclass
class Posts:
    """Every stored healthbot message (thread replies and posts whose answer was lost
    included): how often each key was posted and when it first landed (epoch seconds)."""

    count: Counter[str] = field(default_factory=Counter)
    first: dict[str, float] = field(default_factory=dict)
    where: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> first (channel, ts)
    updates: list[tuple[str, RecordedCall]] = field(default_factory=list)  # (key, chat.update)
    charts: int = 0  # uploads completed (files.completeUploadExternal shared them)
    texts: dict[str, str] = field(default_factory=dict)  # key -> the text Slack shows now

    def keys(self, *, reports: bool = False) -> set[str]:
        """The keys posted; admin reports (`admin:...`) only when asked for."""
        return {k for k in self.count if reports or not k.startswith("admin:")}


def posts(double: SlackDouble) -> Posts:
    found = Posts()
    by_ts: dict[tuple[str, str], str] = {}
    for message in double.all_messages():
        key = key_of(message)
        if key is None:
            continue
        found.count[key] += 1
        found.first.setdefault(key, float(message["ts"]))
        found.where.setdefault(key, (message["channel"], message["ts"]))
        found.texts[key] = message.get("text", "")
        by_ts[(message["channel"], message["ts"])] = key
    for call in double.calls("chat.update"):
        if call.response and call.response.get("ok"):
            where = (call.response["channel"], call.response["ts"])
            found.updates.append((by_ts.get(where, "?"), call))
    found.charts = sum(u.completed for u in double.uploads.values())
    return found


def first_post_of(double: SlackDouble, keys: frozenset[str]) -> str | None:
    """The first of `keys` Slack stored, once one is there."""
    for message in double.all_messages():
        if key_of(message) in keys:
            return key_of(message)
    return None


def answered(double: SlackDouble, method: str, status: int) -> list[RecordedCall]:
    return [c for c in double.calls(method) if c.status == status]
