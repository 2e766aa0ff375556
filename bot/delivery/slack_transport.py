"""Slack's Web API as a transport: chat.postMessage with the outbox key in the message
metadata, read-back through history (or a thread's replies), and the three-step file upload.

Every Slack failure is sorted into Rejected, NotSent or InDoubt (see `transport_types`) by
what it means for the outbox row: only a request that may have left this machine is InDoubt.
"""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import HTTPError, URLError

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.response import HttpResponse

from bot.delivery.slack_client import SlackClients, retry_after
from bot.delivery.transport_types import (
    DeliveryError,
    FileUpload,
    InDoubt,
    NotSent,
    Outgoing,
    Posted,
    ReadBackFailed,
    Rejected,
    Uploaded,
)

METADATA_EVENT = "healthbot_message"  # event_type of the metadata every post carries
NOT_FOUND = frozenset({"users_not_found", "user_not_found"})
# ok=false codes after which Slack says part of the work may have been done.
IN_DOUBT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
_SLACK_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")


class SlackTransport:
    """Slack through `SlackClients`: `post` for chat.postMessage, `read` for the rest."""

    via = "slack"

    def __init__(self, clients: SlackClients) -> None:
        self.clients = clients
        self._channel_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SlackTransport({self.clients!r})"

    def resolve_user(self, email: str) -> str | None:
        try:
            user = self.clients.read.users_lookupByEmail(email=email)["user"]
        except SlackApiError as exc:
            if _code(exc) in NOT_FOUND:
                return None
            raise self._read_error(exc) from None
        except Exception as exc:  # connection trouble after the retries
            raise NotSent(self._describe(exc)) from None
        return None if user.get("deleted") else str(user["id"])

    def update(self, channel_id: str, ts: str, text: str, blocks: list | None) -> None:
        """chat.update through the read client: setting the same content twice is harmless,
        so it may retry connection and server errors."""
        try:
            self.clients.read.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            raise self._read_error(exc) from None
        except Exception as exc:
            raise NotSent(self._describe(exc)) from None

    def post(self, message: Outgoing) -> Posted:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": message.key}}
        with self._posting():
            response = self.clients.post.chat_postMessage(
                channel=message.channel,
                text=message.text,
                blocks=message.blocks or None,
                metadata=metadata,
                thread_ts=message.thread_ts,
            )
        return Posted(str(response["channel"]), str(response["ts"]))

    def find_posted(
        self, channel: str, key: str, oldest: float, thread_ts: str | None = None
    ) -> Posted | None:
        # History leaves thread replies out: a reply is only found among its thread's replies.
        read = self.clients.read
        method = read.conversations_replies if thread_ts else read.conversations_history
        where = {"ts": thread_ts} if thread_ts else {}
        try:
            channel_id = self._history_channel(channel)
            cursor = None
            while True:
                page = method(
                    channel=channel_id,
                    oldest=f"{oldest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                    **where,
                )
                for message in page.get("messages") or []:
                    meta = message.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                        return Posted(channel_id, str(message["ts"]))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except ReadBackFailed:
            raise
        except SlackApiError as exc:
            raise ReadBackFailed(f"HTTP {exc.response.status_code}: {_code(exc)}") from None
        except Exception as exc:
            raise ReadBackFailed(self._describe(exc)) from None

    def upload_file(self, upload: FileUpload) -> Uploaded:
        """files.getUploadURLExternal, a POST of the bytes to the `upload_url` it returns (not
        under the API base URL, so no token goes there), then files.completeUploadExternal,
        which shares the file. Only that last step can leave a share in doubt."""
        client = self.clients.post  # retries 429 only: the share must not happen twice
        try:
            channel_id = self._history_channel(upload.channel)
            ticket = client.files_getUploadURLExternal(
                filename=upload.filename, length=len(upload.data), alt_txt=upload.alt_text
            )
        except ReadBackFailed as exc:
            raise Rejected(exc.reason) from None
        except SlackApiError as exc:
            raise self._read_error(exc) from None
        except Exception as exc:
            raise NotSent(self._describe(exc)) from None
        request = urllib.request.Request(str(ticket["upload_url"]), data=upload.data)
        request.add_header("Content-Type", "application/octet-stream")
        try:
            with urllib.request.urlopen(request, timeout=client.timeout) as response:
                response.read()
        except HTTPError as exc:
            raise NotSent(f"upload_url answered HTTP {exc.code}") from None
        except Exception as exc:
            raise NotSent(self._describe(exc)) from None
        file_id = str(ticket["file_id"])
        with self._posting():
            client.files_completeUploadExternal(
                files=[{"id": file_id, "title": upload.title}],
                channel_id=channel_id,
                thread_ts=upload.thread_ts,
            )
        return Uploaded(file_id, channel_id)

    @contextmanager
    def _posting(self) -> Iterator[None]:
        """A call that makes something visible: an error before the request left is NotSent
        (safe to retry), after it left InDoubt (it may have been posted; read back first)."""
        try:
            yield
        except SlackApiError as exc:
            raise self._post_error(exc) from None
        except Exception as exc:
            if _never_connected(exc):
                raise NotSent(self._describe(exc)) from None
            raise InDoubt(self._describe(exc)) from None

    def _history_channel(self, channel: str) -> str:
        """The id of a channel name (looked up once per transport), or the DM of a user id:
        history, replies and file shares take ids only."""
        channel = channel.removeprefix("#")
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids:
            if _USER_ID.match(channel):
                opened = self.clients.read.conversations_open(users=channel)
                self._channel_ids[channel] = str(opened["channel"]["id"])
            else:
                self._channel_ids.update(self._channel_names())
        if channel not in self._channel_ids:
            raise ReadBackFailed(f"channel_not_found: {channel}")
        return self._channel_ids[channel]

    def _channel_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        cursor = None
        while True:
            page = self.clients.read.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            names |= {str(c["name"]): str(c["id"]) for c in page["channels"] if c.get("name")}
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return names

    def _post_error(self, exc: SlackApiError) -> DeliveryError:
        status, code = exc.response.status_code, _code(exc)
        if status == 429 or code in RATE_LIMITED:
            wait = retry_after(_http_response(exc))
            return NotSent(f"rate limited (HTTP {status})", retry_after=wait)
        if status >= 500 or code in IN_DOUBT:
            return InDoubt(
                f"HTTP {status}: {code}" if _SLACK_CODE.match(code) else f"HTTP {status}"
            )
        if _SLACK_CODE.match(code):
            return Rejected(code)
        return NotSent(f"HTTP {status} without a Slack answer (check SLACK_API_URL)")

    def _read_error(self, exc: SlackApiError) -> DeliveryError:
        status, code = exc.response.status_code, _code(exc)
        if status == 429 or status >= 500 or code in RATE_LIMITED | IN_DOUBT:
            return NotSent(
                f"HTTP {status}: {code}" if _SLACK_CODE.match(code) else f"HTTP {status}",
                retry_after=retry_after(_http_response(exc)) if status == 429 else None,
            )
        return Rejected(code) if _SLACK_CODE.match(code) else NotSent(f"HTTP {status}")

    def _describe(self, exc: BaseException) -> str:
        return self.clients.redact(f"{type(exc).__name__}: {exc}")[:300]


def _http_response(exc: SlackApiError) -> HttpResponse:
    """The SlackResponse's headers in the shape slack_client.retry_after reads."""
    headers = exc.response.headers or {}
    return HttpResponse(
        status_code=exc.response.status_code,
        headers={k: v if isinstance(v, list) else [v] for k, v in headers.items()},
    )


def _code(exc: SlackApiError) -> str:
    data = exc.response.data
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _never_connected(exc: BaseException) -> bool:
    """True only when the request cannot have left this machine (refused, no DNS)."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)
