"""What a transport is: the messages and files it sends, what it answers, how it fails.

A transport answers three questions for `bot.delivery.outbox_pass`: who is this email in
Slack, post this message (maybe as a reply in a thread), and did an earlier post of this key
arrive after all; it also shares files (the digest chart). Failures are sorted by what they
mean for the outbox row, never by exception type: Rejected (not posted and never will be:
failed), NotSent (not posted, try later: pending), InDoubt (may have been posted: leave it
`sending` and read it back). That sorting is the whole protection against double posts.

These types have a module of their own so that every transport (`slack_transport`,
`terminal`) and everything that drives one (the outbox pass, the digest job) imports them from
here, and no transport module has to import another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    """A message ready to post: `channel` is a Slack user id, channel id or channel name;
    `to` is the recipient's email when it is a DM; `thread_ts` makes it a reply."""

    key: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    to: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Posted:
    channel_id: str
    ts: str


@dataclass(frozen=True)
class FileUpload:
    """A file to share into `channel` (an id or a name), in the thread of `thread_ts` if set."""

    key: str
    channel: str
    filename: str
    data: bytes
    title: str
    alt_text: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class Uploaded:
    file_id: str
    channel_id: str


class DeliveryError(Exception):
    """A delivery step failed; `reason` is short, token-free and fit to store on the row."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Rejected(DeliveryError):
    """Slack refused the request for good; sending it again would fail the same way."""


class NotSent(DeliveryError):
    """Nothing was posted, but a later attempt may work (rate limit, Slack unreachable);
    `retry_after`: Slack's Retry-After in seconds, when it said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class InDoubt(DeliveryError):
    """The post may have reached Slack; only a read-back can tell."""


class ReadBackFailed(DeliveryError):
    """Could not find out whether an earlier post arrived."""


class Transport(Protocol):
    via: str  # "slack" or "terminal": recorded on each delivered row

    def resolve_user(self, email: str) -> str | None:
        """Where a DM to `email` goes, or None when nobody (active) has that email."""

    def post(self, message: Outgoing) -> Posted:
        """Post once; raise Rejected, NotSent or InDoubt, never retry a post that may have
        arrived."""

    def find_posted(
        self, channel: str, key: str, oldest: float, thread_ts: str | None = None
    ) -> Posted | None:
        """The message with metadata key `key` posted to `channel` (in the thread of
        `thread_ts`, if given) after `oldest` (epoch seconds), or None; raise ReadBackFailed
        when it cannot tell."""

    def upload_file(self, upload: FileUpload) -> Uploaded:
        """Share a file once; raise Rejected, NotSent or InDoubt like `post`."""

    def update(self, channel_id: str, ts: str, text: str, blocks: list | None) -> None:
        """Replace a posted message's content (safe to repeat); raise Rejected or NotSent."""
