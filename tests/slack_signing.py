"""Build requests exactly as Slack sends them to the bot, so bolt can be driven over HTTP.

Slack signs every request it sends: ``X-Slack-Signature`` is ``v0=`` + the hex HMAC-SHA256 of
``v0:{timestamp}:{raw body}`` keyed with the app's signing secret, and
``X-Slack-Request-Timestamp`` carries the timestamp (``slack_sdk.signature.SignatureVerifier``
and bolt's ``RequestVerification`` reject stamps older than five minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

TEST_SIGNING_SECRET = "test-signing-secret"
TEST_TEAM_ID = "T0TEAM0001"
TEST_APP_ID = "A0APP00001"


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the two signature headers Slack would attach to ``body``.

    ``body`` must be the exact bytes that go on the wire: any re-encoding breaks the signature.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    digest = hmac.new(secret.encode("utf-8"), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def slash_command_body(
    command: str = "/health",
    text: str = "",
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str = "https://hooks.slack.com/commands/T0TEAM0001/1/unreachable",
    trigger_id: str | None = None,
    *,
    user_name: str = "alice",
    channel_name: str = "general",
    team_id: str = TEST_TEAM_ID,
) -> str:
    """Form-encode a slash command with the fields Slack sends (order as Slack's payloads).

    Pass ``response_url=double.response_url("name")`` to capture ``respond()`` calls.
    """
    fields = {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": "healthbot-test",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": TEST_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        # Unique per request as Slack's are: two identical bodies signed in the same second
        # would be one request sent twice, which the replay guard refuses.
        "trigger_id": trigger_id or f"{int(time.time())}.1.{uuid.uuid4().hex[:20]}",
    }
    return urlencode(fields)


def interaction_body(payload: dict[str, Any]) -> str:
    """Form-encode an interactivity payload (block_actions, view_submission, ...) as Slack does.

    Slack posts ``payload=<url-encoded JSON>``; bolt parses it back from that single field.
    """
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
