"""The two Slack Web API clients the bot uses, with retry rules that cannot cause a double post.

A post is not idempotent: slack_sdk's default ConnectionErrorRetryHandler would send it again
after a reset connection, although Slack may already have accepted the first one. So the `post`
client retries only HTTP 429 (Slack refused the request, so a retry cannot duplicate it) after
Retry-After, and anything else surfaces to the outbox, which reads the message back before it
ever sends again. Read-only calls (users.lookupByEmail, conversations.history, ...) and
chat.update (it sets the same content again) are safe to repeat, so the `read` client also
retries connection and server errors.

Every call is capped in time, rate-limit waits included (CALL_BUDGET): a worker asked to stop
(SIGTERM) must be gone within 25 seconds, and a call cut short by the cap leaves its row in
doubt for the read-back, never lost. A Retry-After longer than what is left of the budget is
not waited for: the 429 surfaces and the outbox tries again after Retry-After.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

DEFAULT_TIMEOUT = 10  # seconds per HTTP request
RATE_LIMIT_BUDGET = 10.0  # seconds of Retry-After waits one call may spend
POST_RATE_LIMIT_RETRIES = 5
READ_RETRIES = 2


def retry_after(response: HttpResponse | None) -> float | None:
    """Slack's Retry-After (seconds) on a 429, if it sent one."""
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return float(values[0] if isinstance(values, list) else values)
            except ValueError:
                return None
    return None


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out Retry-After like slack_sdk's handler, but never more than `budget` seconds in
    all for one call (see the module docstring)."""

    def __init__(self, max_retry_count: int, budget: float = RATE_LIMIT_BUDGET) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget = budget

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        waited = (state.custom_values or {}).get("waited", 0.0)
        return waited + (retry_after(response) or 1.0) <= self.budget

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response) or 1.0
        state.custom_values = (state.custom_values or {}) | {
            "waited": (state.custom_values or {}).get("waited", 0.0) + wait
        }
        state.next_attempt_requested = True
        time.sleep(wait)
        state.increment_current_attempt()


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
        retry_handlers=[CappedRateLimitRetryHandler(POST_RATE_LIMIT_RETRIES)],
    )
    read = WebClient(
        token=token,
        base_url=url,
        timeout=timeout,
        retry_handlers=[
            CappedRateLimitRetryHandler(POST_RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=READ_RETRIES),
            ServerErrorRetryHandler(max_retry_count=READ_RETRIES),
        ],
    )
    return SlackClients(post=post, read=read)


def redact(text: str, token: str | None) -> str:
    """Mask `token` wherever it appears in `text` (exception texts can quote requests)."""
    return text.replace(token, "xox…redacted") if token else text
