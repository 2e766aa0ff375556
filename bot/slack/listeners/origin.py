"""Where a clicked message lives (channel, ts, response_url, its blocks), so that a click or a
modal opened from it can redraw it in place; carried through a modal in its private_metadata.

Its own module so that every listener that redraws can use it without importing `actions`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

METADATA_LIMIT = 3000


@dataclass(frozen=True)
class Origin:
    """Where a clicked message lives, so that it can be redrawn in place."""

    channel: str | None
    ts: str | None
    ephemeral: bool
    alert: bool  # an alert DM (keeps its blocks, gains a state line) rather than a card
    response_url: str | None = None
    blocks: list[dict[str, Any]] | None = None
    text: str = ""

    @classmethod
    def of(cls, body: dict[str, Any]) -> Origin:
        container = body.get("container") or {}
        action = (body.get("actions") or [{}])[0]
        message = body.get("message") or {}
        return cls(
            container.get("channel_id") or (body.get("channel") or {}).get("id"),
            container.get("message_ts"),
            bool(container.get("is_ephemeral")),
            str(action.get("block_id", "")).startswith("alert:"),
            body.get("response_url"),
            message.get("blocks"),
            message.get("text", ""),
        )

    def metadata(self, account_id: str) -> str:
        """private_metadata for the modal (no blocks: an alert DM is read back on submit)."""
        data = {"a": account_id, "c": self.channel, "t": self.ts, "e": self.ephemeral}
        data |= {"k": self.alert, "r": self.response_url}
        text = json.dumps(data)
        return text if len(text) <= METADATA_LIMIT else json.dumps(data | {"r": None})

    @classmethod
    def from_metadata(cls, text: str) -> tuple[str, Origin]:
        data = json.loads(text)
        return data["a"], cls(data["c"], data["t"], data["e"], data["k"], data["r"])
