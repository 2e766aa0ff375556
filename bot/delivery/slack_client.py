"""The two Slack Web API clients the bot uses, with retry rules that cannot cause a double post.

A post is not idempotent: slack_sdk's default ConnectionErrorRetryHandler would send it again
after a reset connection, although Slack may already have accepted the first one. So the `post`
client retries only HTTP 429 (Slack refused the request, so a retry cannot duplicate it) after
Retry-After, and anything else surfaces to the outbox, which reads the message back before it
ever sends again. Read-only calls (users.lookupByEmail, conversations.history, ...) are safe to
repeat, so the `read` client also retries connection and server errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

DEFAULT_TIMEOUT = 30  # seconds per HTTP request; a read-back looks a minute before a claim
POST_RATE_LIMIT_RETRIES = 5
READ_RETRIES = 2


@dataclass(frozen=True, repr=False)
class SlackClients:
    """`post` for chat.postMessage only; `read` for everything that changes nothing."""

    post: WebClient
    read: WebClient

    def __repr__(self) -> str:  # never the token
        return f"SlackClients(base_url={self.post.base_url!r})"

    def redact(self, text: str) -> str:
        """`text` with the bot token masked, for anything that may end up in a log or a row."""
        return redact(text, self.post.token)


def api_base_url(base_url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """`base_url`, else $SLACK_API_URL (a test double or proxy), else Slack; ends with `/`
    because slack_sdk appends the method name to it."""
    env = os.environ if environ is None else environ
    url = base_url or env.get("SLACK_API_URL") or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


def make_clients(
    token: str,
    base_url: str | None = None,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> SlackClients:
    """Build the post and read clients for `token` (see the module docstring for why two)."""
    url = api_base_url(base_url, environ)
    post = WebClient(
        token=token,
        base_url=url,
        timeout=timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=POST_RATE_LIMIT_RETRIES)],
    )
    read = WebClient(
        token=token,
        base_url=url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=POST_RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=READ_RETRIES),
            ServerErrorRetryHandler(max_retry_count=READ_RETRIES),
        ],
    )
    return SlackClients(post=post, read=read)


def redact(text: str, token: str | None) -> str:
    """Mask `token` wherever it appears in `text` (exception texts can quote requests)."""
    return text.replace(token, "xox…redacted") if token else text
