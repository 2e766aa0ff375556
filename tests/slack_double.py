"""A local Slack Web API double served over loopback HTTP, plus pytest fixtures.

Slack is unreachable from the test machines, and mocking ``WebClient`` methods would skip the
parts that break in production (serialisation, retries, HTTP errors, pagination). So the bot's
real ``slack_sdk.WebClient`` talks HTTP to this server instead:
``WebClient(token=TEST_TOKEN, base_url=double.url + "/api/")``.

Realism rules: responses mirror Slack's shapes and error codes; channel names are only
accepted where Slack accepts them (``chat.postMessage``/``chat.postEphemeral``); history hides
thread replies and omits ``metadata`` unless ``include_all_metadata`` is set; unknown channels
and users are errors, so configure them with ``add_channel``/``add_user`` (or ``seed_defaults``).
Membership, for access checks, is configured too: ``set_channel_members`` (or ``add_channel(...,
members=...)``) for conversations.members, ``add_usergroup`` for usergroups.list and
usergroups.users.list.
"""

from __future__ import annotations

import base64
import copy
import email.parser
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from tests.slack_signing import (
    TEST_APP_ID,
    TEST_SIGNING_SECRET,
    TEST_TEAM_ID,
    interaction_body,
    sign,
    slash_command_body,
)

__all__ = [
    "TEST_SIGNING_SECRET",
    "TEST_TOKEN",
    "RecordedCall",
    "SlackDouble",
    "Upload",
    "interaction_body",
    "sign",
    "slack_double",
    "slack_env",
    "slash_command_body",
]

TEST_TOKEN = "xoxb-test-token"
Params = dict[str, Any]
# Fields slack_sdk (or a bot) may send as JSON strings inside a form body.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "files", "view")


@dataclass
class RecordedCall:
    """One Web API request as the double saw it; ``status``/``response`` are filled on answer.

    ``headers`` keys are lower-cased. ``response`` stays None when the answer was dropped (hang).
    """

    method: str
    params: Params
    headers: dict[str, str]
    time: float
    status: int | None = None
    response: dict[str, Any] | None = None


@dataclass
class Upload:
    """A file announced by files.getUploadURLExternal; ``data`` arrives via its upload URL."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class _Fault:
    status: int | None
    error: str | None
    retry_after: int | None
    hang: bool


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class _ApiError(Exception):
    """Raised by method implementations to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _json_reply(data: dict[str, Any], status: int = 200) -> _Reply:
    return _Reply(status, json.dumps(data).encode())


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ts_value(value: Any, error: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _ApiError(error) from None


def _encode_cursor(key: str) -> str:
    return base64.b64encode(f"next:{key}".encode()).decode()


def _paginate(items: list[dict], key: str, params: Params, default: int) -> tuple[list, str]:
    """Slice ``items`` with Slack-style opaque cursors that name the next page's first item.

    Keying on the item (not an offset) keeps pages stable when new messages arrive meanwhile.
    """
    try:
        limit = int(params.get("limit") or default)
    except (TypeError, ValueError):
        raise _ApiError("invalid_limit") from None
    start = 0
    if cursor := params.get("cursor"):
        try:
            wanted = base64.b64decode(cursor).decode().removeprefix("next:")
        except ValueError:
            raise _ApiError("invalid_cursor") from None
        start = next((i for i, it in enumerate(items) if it[key] == wanted), -1)
        if start < 0:
            raise _ApiError("invalid_cursor")
    page = items[start : start + limit]
    rest = items[start + limit :]
    return page, _encode_cursor(rest[0][key]) if rest else ""


def _parse_params(query: str, content_type: str, body: bytes) -> Params:
    """Merge query-string and body params the ways Slack accepts them (form, JSON, multipart)."""
    params: Params = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json" and body:
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise ValueError("JSON body must be an object")
        params.update(loaded)
    elif ctype == "multipart/form-data":
        for name, filename, payload in _multipart_parts(content_type, body):
            params[name] = payload.decode("utf-8", "replace") if filename is None else payload
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                pass  # leave it; the method answers invalid_blocks_format etc.
    return {k: v for k, v in params.items() if v is not None}


def _multipart_parts(content_type: str, body: bytes) -> Iterator[tuple[str, str | None, bytes]]:
    """Yield (field name, filename or None, raw bytes) for each part of a multipart body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + body)
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition") or ""
        raw = part.get_payload(decode=True) or b""
        yield str(name), part.get_filename(), raw


class SlackDouble:
    """Thread-safe in-memory Slack workspace behind a real HTTP server on 127.0.0.1."""

    def __init__(
        self,
        token: str = TEST_TOKEN,
        *,
        team_id: str = TEST_TEAM_ID,
        bot_user_id: str = "U0BOT00001",
        bot_id: str = "B0BOT00001",
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.delay_seconds = 0.0
        # Per-method answer delays ("chat.postMessage", or "upload_url" for the upload
        # endpoint), over delay_seconds: hold one step of a flow while the rest runs at once.
        self.method_delays: dict[str, float] = {}
        self.clock: Callable[[], float] = time.time  # drives ts values; override to pin time
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._seq = 0
        self._last_ts_micros = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}  # channel id -> user ids (conversations.members)
        self._usergroups: dict[str, dict[str, Any]] = {}  # usergroup id -> usergroups.list record
        self._reset_state()
        self._methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.list": self._conversations_list,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self, port: int = 0) -> SlackDouble:
        """Bind `port` (default: one the OS chooses) and serve from a daemon thread (idempotent).

        After ``stop()`` everything recorded is kept, so ``start(port=...)`` on the old port (or
        ``restart()``) brings the same workspace back, as when Slack's API returns from an outage.
        """
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", port), _Handler)
            self._server.double = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="slack-double", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; in-flight delays are cut short."""
        if self._server is not None:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop, refuse connections for `down_seconds`, and serve again on the same port with
        every message, upload and fault kept."""
        port = self._server.server_address[1] if self._server is not None else 0
        self.stop()
        threading.Event().wait(down_seconds)
        self.start(port)

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:54321`` (the Web API lives under ``/api/``)."""
        if self._server is None:
            raise RuntimeError("SlackDouble is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget traffic, messages, uploads, views and faults; keep users, channels, channel
        members and user groups."""
        with self._lock:
            self._reset_state()

    def _reset_state(self) -> None:
        self._calls: list[RecordedCall] = []
        self._history: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._ephemeral: list[dict[str, Any]] = []
        self._responses: dict[str, list[Any]] = defaultdict(list)
        self._uploads: dict[str, Upload] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)

    # ---- workspace configuration -----------------------------------------------------------

    def add_user(
        self, email: str, user_id: str | None = None, name: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Register a user findable by users.lookupByEmail/users.info and DM-able by id."""
        with self._lock:
            uid = user_id or self._new_id("U")
            name = name or email.split("@")[0]
            real_name = extra.pop("real_name", name.replace(".", " ").title())
            profile = {
                "email": email,
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
            }
            user = {"id": uid, "team_id": self.team_id, "name": name, "real_name": real_name}
            user |= {"deleted": False, "is_bot": False, "tz": "UTC", "profile": profile} | extra
            self._users[uid] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        members: list[str] | None = None,
    ) -> str:
        """Register a channel (bot is a member unless told otherwise); returns its id.

        ``members`` are the user ids conversations.members lists (see ``set_channel_members``).
        """
        with self._lock:
            cid = channel_id or self._new_id("C")
            name = name.removeprefix("#")
            self._channels[cid] = {
                "id": cid,
                "name": name,
                "name_normalized": name,
                "is_channel": True,
                "is_group": False,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "is_archived": is_archived,
                "is_member": is_member,
                "created": int(self.clock()),
            }
            self._members[cid] = list(members or [])
            return cid

    def set_channel_members(self, channel: str, user_ids: list[str]) -> None:
        """Replace the members conversations.members lists for a channel (id or name).

        Exactly these ids are listed, in this order: the bot's own user id is not added for
        channels it is in (add ``double.bot_user_id`` if a test needs it). A DM always lists its
        user and the bot. Raises ``KeyError`` for a channel that was never added.
        """
        with self._lock:
            try:
                cid = self._resolve(channel, names=True)["id"]
            except _ApiError:
                raise KeyError(f"no channel {channel!r}: add_channel it first") from None
            self._members[cid] = list(user_ids)

    def add_usergroup(
        self,
        usergroup_id: str,
        user_ids: list[str],
        handle: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Register (or replace) a user group ``S...`` for usergroups.list/usergroups.users.list.

        ``handle`` is what people type after ``@`` (default: the id lower-cased); handles are
        unique in a workspace as in Slack. Returns the record usergroups.list shows.
        """
        with self._lock:
            handle = (handle or usergroup_id.lower()).removeprefix("@")
            for other in self._usergroups.values():
                if other["handle"] == handle and other["id"] != usergroup_id:
                    raise ValueError(f"handle @{handle} is taken by {other['id']}")
            now = int(self.clock())
            group = {
                "id": usergroup_id,
                "team_id": self.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name or handle,
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "created_by": self.bot_user_id,
                "updated_by": self.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": list(user_ids),
                "user_count": len(user_ids),
            }
            self._usergroups[usergroup_id] = group
            return copy.deepcopy(group)

    def seed_defaults(self) -> SlackDouble:
        """Workspace used by the fixture: C1 #general (members U1, U2), C2 #cs-alerts (no
        members), U1 alice, U2 bob, user group S1 @all (U1, U2)."""
        self.add_channel("general", "C1")
        self.add_channel("cs-alerts", "C2")
        self.add_user("alice@example.com", "U1", "alice")
        self.add_user("bob@example.com", "U2", "bob")
        self.set_channel_members("C1", ["U1", "U2"])
        self.add_usergroup("S1", ["U1", "U2"], handle="all", name="All CSMs")
        return self

    # ---- inspection --------------------------------------------------------------------------

    def calls(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one Web API method, in arrival order (failed ones included)."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    @property
    def all_calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Stored messages (replies included, metadata kept), oldest first; id, name or user id."""
        with self._lock:
            if channel in self._users:
                channel = "D" + channel[1:]
            try:
                cid = self._resolve(channel, names=True)["id"]
            except _ApiError:
                return []
            return copy.deepcopy(self._history.get(cid, []))

    def all_messages(self) -> list[dict[str, Any]]:
        """Every stored message of every channel and DM, thread replies and posts whose answer
        was dropped (hang) included, oldest first; each carries its ``channel`` id."""
        with self._lock:
            found = [m | {"channel": cid} for cid, ms in self._history.items() for m in ms]
            return copy.deepcopy(sorted(found, key=lambda m: Decimal(m["ts"])))

    def ephemeral_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [m for m in self._ephemeral if channel in (None, m["channel"])]
            return copy.deepcopy(found)

    def response_url(self, name: str) -> str:
        """A response_url to hand the bot; what it POSTs there shows up in ``responses(name)``."""
        return f"{self.url}/response/{name}"

    def responses(self, name: str) -> list[Any]:
        with self._lock:
            return copy.deepcopy(self._responses.get(name, []))

    @property
    def uploads(self) -> dict[str, Upload]:
        with self._lock:
            return copy.deepcopy(self._uploads)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Every view opened/pushed/updated/published, by view id (latest version)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self._home_views.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    # ---- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        hang: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail, FIFO per method.

        ``status=429, retry_after=N`` rate-limits; ``status=500`` is a server error; ``error=...``
        is HTTP 200 with ok=false; ``hang=True`` performs the call (a message IS stored) and
        then closes the socket without answering, as when Slack's response is lost.
        ``method`` may also be ``"upload_url"`` or ``"response_url"`` for those endpoints.
        """
        if retry_after is not None and status is None:
            status = 429
        if not hang and error is None and (status is None or status < 400):
            raise ValueError("give hang=True, error=..., or an HTTP error status")
        with self._lock:
            self._faults[method].extend([_Fault(status, error, retry_after, hang)] * times)

    def pending_faults(self) -> dict[str, int]:
        """Faults not yet consumed, per method (lets tests prove a fault was exercised)."""
        with self._lock:
            return {m: len(q) for m, q in self._faults.items() if q}

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        return queue.popleft() if queue else None

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        status = fault.status or 200
        if status == 429:
            retry_after = 1 if fault.retry_after is None else fault.retry_after
            headers = (("Retry-After", str(retry_after)),)
            error = fault.error or "ratelimited"
            return _Reply(429, json.dumps({"ok": False, "error": error}).encode(), headers=headers)
        if fault.error is None:  # Slack's edge answers 5xx with HTML, not JSON
            body = f"<html><body><h1>{status} Server Error</h1></body></html>".encode()
            return _Reply(status, body, "text/html; charset=utf-8")
        return _json_reply({"ok": False, "error": fault.error}, status)

    # ---- HTTP entry points (called from server threads) --------------------------------------

    def _handle(self, path: str, query: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        """Route one request; None means "drop the connection without answering"."""
        kind, _, rest = path.strip("/").partition("/")
        if kind == "api" and rest:
            return self._handle_api(rest, query, headers, body)
        if kind == "upload" and rest:
            return self._handle_upload(unquote(rest), headers, body)
        if kind == "response" and rest:
            return self._handle_response(unquote(rest), body)
        return _Reply(404, b"not found", "text/plain")

    def _handle_api(
        self, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> _Reply | None:
        try:
            params = _parse_params(query, headers.get("content-type", ""), body)
            parse_error = None
        except (ValueError, UnicodeDecodeError):
            is_json = "json" in headers.get("content-type", "")
            params, parse_error = {}, "invalid_json" if is_json else "invalid_form_data"
        with self._lock:
            call = RecordedCall(method, params, headers, time.time())
            self._calls.append(call)
            fault = None
            if parse_error is None and method in self._methods:
                parse_error = self._auth_error(headers, params)
                fault = None if parse_error else self._take_fault(method)
            if fault is not None and not fault.hang:
                reply = self._fault_reply(fault)
                call.status = reply.status
                call.response = json.loads(reply.body) if reply.body[:1] == b"{" else None
                return reply
            data = self._dispatch(method, params, parse_error)
            if fault is not None:  # hang: Slack did the work, but the answer never arrives
                return None
            call.status, call.response = 200, data
            return _json_reply(data)

    def _dispatch(self, method: str, params: Params, error: str | None) -> dict[str, Any]:
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise _ApiError("unknown_method")
            if error:
                raise _ApiError(error)
            return {"ok": True} | handler(params)
        except _ApiError as exc:
            return {"ok": False, "error": exc.error}

    def _auth_error(self, headers: dict[str, str], params: Params) -> str | None:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        if not token:
            return "not_authed"
        return None if token == self.token else "invalid_auth"

    def _handle_upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        ctype = headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):  # curl -F style; slack_sdk posts raw bytes
            files = [raw for _n, fname, raw in _multipart_parts(ctype, body) if fname is not None]
            body = files[0] if files else body
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload.completed:
                return _Reply(404, b"Not Found", "text/plain")
            fault = self._take_fault("upload_url")
            if fault is not None and not fault.hang:
                return self._fault_reply(fault)
            upload.data = body
            return None if fault else _Reply(200, f"OK - {len(body)}".encode(), "text/plain")

    def _handle_response(self, name: str, body: bytes) -> _Reply | None:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _Reply(400, b"invalid_payload", "text/plain")
        with self._lock:
            fault = self._take_fault("response_url")
            if fault is not None and not fault.hang:
                return self._fault_reply(fault)
            self._responses[name].append(payload)
            return None if fault else _json_reply({"ok": True})

    # ---- helpers for the method implementations (lock held) ----------------------------------

    def _new_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:09d}"

    def _next_ts(self) -> str:
        """Unique, strictly increasing Slack ts derived from ``clock`` (``1700000000.000100``)."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve(self, ref: Any, *, names: bool = False, users: bool = False) -> dict:
        """Channel record for an id; also a channel name if ``names``, a user's DM if ``users``.

        Mirrors Slack: only chat.postMessage-style methods accept names or user ids.
        """
        ref = str(ref or "")
        if ref in self._channels:
            return self._channels[ref]
        if names:
            for channel in self._channels.values():
                if channel.get("name") == ref.removeprefix("#") and not channel["is_im"]:
                    return channel
        if users and ref in self._users:
            return self._open_dm(ref)[0]
        raise _ApiError("channel_not_found")

    def _open_dm(self, user_id: str) -> tuple[dict[str, Any], bool]:
        dm_id = "D" + user_id[1:]
        existed = dm_id in self._channels
        if not existed:
            self._channels[dm_id] = {
                "id": dm_id,
                "is_im": True,
                "is_channel": False,
                "is_private": True,
                "is_archived": False,
                "is_member": True,
                "user": user_id,
                "created": int(self.clock()),
            }
        return self._channels[dm_id], existed

    @staticmethod
    def _check_can_post(channel: dict[str, Any]) -> None:
        if channel["is_archived"]:
            raise _ApiError("is_archived")
        if not channel["is_member"]:
            raise _ApiError("not_in_channel")

    def _message_content(self, params: Params) -> dict[str, Any]:
        """Validated text/blocks/attachments/metadata of a message being posted or updated."""
        content: dict[str, Any] = {}
        for key in ("text", "blocks", "attachments", "metadata"):
            if params.get(key) not in (None, ""):
                content[key] = params[key]
        if not any(k in content for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        if not isinstance(content.get("blocks", []), list):
            raise _ApiError("invalid_blocks_format")
        meta = content.get("metadata")
        if meta is not None and not (
            isinstance(meta, dict)
            and isinstance(meta.get("event_type"), str)
            and isinstance(meta.get("event_payload"), dict)
        ):
            raise _ApiError("invalid_metadata_format")
        return content

    def _find_message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        for message in self._history.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise _ApiError("message_not_found")

    @staticmethod
    def _visible(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        shown = copy.deepcopy(message)
        if not with_metadata:
            shown.pop("metadata", None)
        return shown

    def _store_message(self, channel_id: str, content: dict[str, Any], thread_ts: Any) -> dict:
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id}
        message |= {"app_id": TEST_APP_ID, "team": self.team_id, "text": "", "ts": ts} | content
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            for parent in self._history[channel_id]:
                if parent["ts"] == thread_ts:
                    parent |= {"thread_ts": parent["ts"], "latest_reply": ts}
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
        self._history[channel_id].append(message)
        return message

    # ---- Web API methods -------------------------------------------------------------------

    def _auth_test(self, _params: Params) -> dict[str, Any]:
        return {
            "url": "https://healthbot-test.slack.com/",
            "team": "Healthbot Test",
            "user": "healthbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"), names=True, users=True)
        self._check_can_post(channel)
        message = self._store_message(channel["id"], self._message_content(p), p.get("thread_ts"))
        if _truthy(p.get("reply_broadcast")) and p.get("thread_ts"):
            message["subtype"] = "thread_broadcast"
        return {"channel": channel["id"], "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        message = self._find_message(channel["id"], p.get("ts"))
        message |= self._message_content(p)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        ts, text = message["ts"], message["text"]
        return {"channel": channel["id"], "ts": ts, "text": text, "message": copy.deepcopy(message)}

    def _chat_delete(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        self._history[channel["id"]].remove(self._find_message(channel["id"], p.get("ts")))
        return {"channel": channel["id"], "ts": p["ts"]}

    def _chat_post_ephemeral(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"), names=True, users=True)
        self._check_can_post(channel)
        if p.get("user") not in self._users:
            raise _ApiError("user_not_in_channel")
        ts = self._next_ts()
        content = self._message_content(p)
        self._ephemeral.append({"channel": channel["id"], "user": p["user"], "ts": ts} | content)
        return {"message_ts": ts}

    def _readable_channel(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        if not channel["is_member"] and channel["is_private"]:
            raise _ApiError("channel_not_found")
        if not channel["is_member"]:
            raise _ApiError("not_in_channel")
        return channel

    def _conversations_history(self, p: Params) -> dict[str, Any]:
        channel = self._readable_channel(p)
        oldest = _ts_value(p.get("oldest") or 0, "invalid_ts_oldest")
        latest = _ts_value(p.get("latest") or "9999999999", "invalid_ts_latest")
        inclusive = _truthy(p.get("inclusive"))
        show_meta = _truthy(p.get("include_all_metadata"))
        selected = []
        for message in reversed(self._history.get(channel["id"], [])):
            is_reply = message.get("thread_ts", message["ts"]) != message["ts"]
            if is_reply and message.get("subtype") != "thread_broadcast":
                continue  # thread replies only show up in conversations.replies
            ts = Decimal(message["ts"])
            if (oldest < ts < latest) or (inclusive and ts in (oldest, latest)):
                selected.append(self._visible(message, show_meta))
        page, cursor = _paginate(selected, "ts", p, default=100)
        result: dict[str, Any] = {"messages": page, "has_more": bool(cursor), "pin_count": 0}
        if cursor:
            result["response_metadata"] = {"next_cursor": cursor}
        return result

    def _conversations_replies(self, p: Params) -> dict[str, Any]:
        channel = self._readable_channel(p)
        thread = [
            self._visible(m, _truthy(p.get("include_all_metadata")))
            for m in self._history.get(channel["id"], [])
            if p.get("ts") in (m["ts"], m.get("thread_ts"))
        ]
        if not thread:
            raise _ApiError("thread_not_found")
        page, cursor = _paginate(thread, "ts", p, default=1000)
        return {"messages": page, "has_more": bool(cursor)} | (
            {"response_metadata": {"next_cursor": cursor}} if cursor else {}
        )

    def _conversations_list(self, p: Params) -> dict[str, Any]:
        types = set(str(p.get("types") or "public_channel").split(","))
        unknown = types - {"public_channel", "private_channel", "im", "mpim"}
        if unknown:
            raise _ApiError("invalid_types")
        selected = []
        for channel in self._channels.values():
            if channel["is_im"]:
                kind = "im"
            else:
                kind = "private_channel" if channel["is_private"] else "public_channel"
            hidden = channel["is_archived"] and _truthy(p.get("exclude_archived"))
            if kind in types and not hidden:
                selected.append(copy.deepcopy(channel))
        page, cursor = _paginate(selected, "id", p, default=100)
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_open(self, p: Params) -> dict[str, Any]:
        if p.get("channel"):
            channel, existed = self._resolve(p["channel"]), True
        else:
            users = [u for u in str(p.get("users") or "").split(",") if u]
            if not users:
                raise _ApiError("users_list_not_supplied")
            if len(users) > 1:
                raise _ApiError("double_does_not_support_mpim")
            if users[0] not in self._users:
                raise _ApiError("user_not_found")
            channel, existed = self._open_dm(users[0])
        shown = copy.deepcopy(channel) if _truthy(p.get("return_im")) else {"id": channel["id"]}
        return ({"no_op": True, "already_open": True} if existed else {}) | {"channel": shown}

    def _conversations_join(self, p: Params) -> dict[str, Any]:
        channel = self._resolve(p.get("channel"))
        if channel["is_im"] or channel["is_private"]:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise _ApiError("is_archived")
        result: dict[str, Any] = {}
        if channel["is_member"]:
            warning = "already_in_channel"
            result = {"warning": warning, "response_metadata": {"warnings": [warning]}}
        channel["is_member"] = True
        return {"channel": copy.deepcopy(channel)} | result

    def _conversations_info(self, p: Params) -> dict[str, Any]:
        return {"channel": copy.deepcopy(self._resolve(p.get("channel")))}

    def _users_lookup_by_email(self, p: Params) -> dict[str, Any]:
        email = str(p.get("email") or "").lower()
        for user in self._users.values():
            if user["profile"]["email"].lower() == email:
                return {"user": copy.deepcopy(user)}
        raise _ApiError("users_not_found")

    def _users_info(self, p: Params) -> dict[str, Any]:
        user = self._users.get(str(p.get("user")))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _conversations_members(self, p: Params) -> dict[str, Any]:
        """Ids only (Slack rejects names here); a private channel the bot is not in is hidden."""
        channel = self._resolve(p.get("channel"))
        if channel["is_private"] and not channel["is_member"]:
            raise _ApiError("channel_not_found")
        if channel["is_im"]:
            members = [channel["user"], self.bot_user_id]
        else:
            members = self._members.get(channel["id"], [])
        page, cursor = _paginate([{"id": u} for u in members], "id", p, default=100)
        return {"members": [m["id"] for m in page], "response_metadata": {"next_cursor": cursor}}

    def _usergroups_list(self, p: Params) -> dict[str, Any]:
        """``users`` only with ``include_users``, ``user_count`` only with ``include_count``."""
        shown = []
        for group in self._usergroups.values():
            record = copy.deepcopy(group)
            if not _truthy(p.get("include_users")):
                record.pop("users")
            if not _truthy(p.get("include_count")):
                record.pop("user_count")
            shown.append(record)
        return {"usergroups": shown}

    def _usergroups_users_list(self, p: Params) -> dict[str, Any]:
        group = self._usergroups.get(str(p.get("usergroup")))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _store_view(self, view: Any, view_id: str | None = None, **extra: Any) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        view_id = view_id or self._new_id("V")
        stored = {"id": view_id, "team_id": self.team_id, "state": {"values": {}}}
        stored |= {"private_metadata": "", "callback_id": "", "external_id": ""} | view
        stored |= {"hash": f"{int(self.clock())}.{self._new_id('')}", "app_id": TEST_APP_ID}
        stored |= {"bot_id": self.bot_id, "root_view_id": view_id, "previous_view_id": None}
        self._views[view_id] = stored | extra
        return {"view": copy.deepcopy(self._views[view_id])}

    def _views_open(self, p: Params) -> dict[str, Any]:
        if not (p.get("trigger_id") or p.get("interactivity_pointer")):
            raise _ApiError("invalid_arguments")
        return self._store_view(p.get("view"))

    def _views_update(self, p: Params) -> dict[str, Any]:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            found = [v for v in self._views.values() if v["external_id"] == p["external_id"]]
            view_id = found[0]["id"] if found else None
        if view_id not in self._views:
            raise _ApiError("not_found")
        if p.get("hash") and p["hash"] != self._views[view_id]["hash"]:
            raise _ApiError("hash_conflict")
        return self._store_view(p.get("view"), view_id)

    def _views_publish(self, p: Params) -> dict[str, Any]:
        user_id = str(p.get("user_id") or "")
        if user_id not in self._users:
            raise _ApiError("user_not_found")
        current = self._home_views.get(user_id)
        if current and p.get("hash") and p["hash"] != self._views[current]["hash"]:
            raise _ApiError("hash_conflict")
        result = self._store_view(p.get("view"), current)
        self._home_views[user_id] = result["view"]["id"]
        return result

    def _files_get_upload_url(self, p: Params) -> dict[str, Any]:
        if not p.get("filename") or p.get("length") in (None, ""):
            raise _ApiError("missing_argument")
        try:
            length = int(p["length"])
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        file_id = self._new_id("F")
        self._uploads[file_id] = Upload(file_id, str(p["filename"]), length)
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: Params) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise _ApiError("invalid_arguments")
        uploads = [self._uploads.get(str(f.get("id"))) for f in files]
        ready = [u for u in uploads if u is not None and u.data is not None and not u.completed]
        if not files or len(ready) != len(files):
            raise _ApiError("file_not_found")  # "Could not find the file from the upload ticket."
        refs = [p["channel_id"]] if p.get("channel_id") else []
        refs += [c for c in str(p.get("channels") or "").split(",") if c]
        channels = [self._resolve(ref, users=True) for ref in refs]
        for channel in channels:
            self._check_can_post(channel)
        shown = []
        for spec, upload in zip(files, ready, strict=True):
            upload.title = spec.get("title") or upload.filename
            upload.completed, upload.channels = True, [c["id"] for c in channels]
            upload.initial_comment, upload.thread_ts = p.get("initial_comment"), p.get("thread_ts")
            shown.append(
                {"id": upload.file_id, "name": upload.filename, "title": upload.title}
                | {"size": len(upload.data or b""), "user": self.bot_user_id, "channels": []}
            )
        for channel in channels:  # Slack shares asynchronously; the double shares at once
            content = {"text": p.get("initial_comment") or "", "files": shown, "upload": True}
            self._store_message(channel["id"], copy.deepcopy(content), p.get("thread_ts"))
        return {"files": shown}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 stalls bursts of concurrent posts ~1 s (SYN retry)
    double: SlackDouble


class _Handler(BaseHTTPRequestHandler):
    """Thin HTTP adapter: reads the request, lets the double decide, writes (or drops) a reply."""

    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        double = self.server.double
        reply = double._handle(url.path, url.query, headers, body)
        kind, _, rest = url.path.strip("/").partition("/")
        method = rest if kind == "api" else f"{kind}_url"
        delay = double.method_delays.get(method, double.delay_seconds)
        if delay:
            double._stopping.wait(delay)
        if reply is None:
            self.close_connection = True  # hang: close the socket with no status line
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, *args: Any) -> None:
        """Keep pytest output clean; RecordedCall already captures the traffic."""


# ---- pytest fixtures ---------------------------------------------------------------------


@pytest.fixture
def slack_double() -> Iterator[SlackDouble]:
    """A started double with token ``xoxb-test-token`` and ``seed_defaults()`` applied."""
    with SlackDouble(TEST_TOKEN).seed_defaults() as double:
        yield double


@pytest.fixture
def slack_env(slack_double: SlackDouble) -> dict[str, str]:
    """Environment for running the bot in a subprocess against ``slack_double``."""
    return {
        "SLACK_BOT_TOKEN": slack_double.token,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": slack_double.url + "/api/",
    }
