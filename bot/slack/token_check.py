"""Whether Slack has accepted the bot token, checked in the background until it has.

bolt's App calls `auth.test` while it is being built and raises when Slack cannot be reached,
so a deploy during a Slack incident failed to boot ("Worker failed to boot" under gunicorn) and
took `/healthz` down with it. The App is now built without that call (bolt's
`token_verification_enabled=False`), and a `TokenCheck` calls `auth.test` in a thread of its
own, 1 s after a failure and doubling to every 30 s, until Slack answers. `/healthz` reports
its state (503 until the token is verified), and the app's `wait_for_slack` gate answers
requests with a clear notice meanwhile. A token Slack refuses (`invalid_auth`, revoked) is
logged once as an error and shown on `/healthz`; the check keeps asking every 30 s rather than
crashing the process into a restart loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery.slack_client import api_base_url, redact

log = logging.getLogger("healthbot.slack")
# slack_sdk logs an ERROR for every failed request before raising it; retried calls report
# through the one line per change that their loop logs, so their clients log through this.
quiet = logging.getLogger("healthbot.slack.retried")
quiet.setLevel(logging.CRITICAL)
CHECK_TIMEOUT = 3  # seconds; an on-demand check runs inside a request Slack wants acked in 3 s
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
ON_DEMAND_INTERVAL = 1.0  # requests while Slack is down ask it again at most once a second

State = Literal["checking", "unreachable", "rejected", "verified"]


def backoff(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """1, 2, 4, ... seconds, capped: quick to notice Slack coming back, gentle when it stays
    down for long."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def describe_failure(exc: Exception, *secrets: str | None) -> tuple[bool, str]:
    """(Slack refused, one line about it) for a failed Web API call: Slack's error code when it
    answered with one (`invalid_auth`: refused), else the HTTP status or the connection error
    (Slack unreachable). Never longer than a line, never a token."""
    if isinstance(exc, SlackApiError):
        code = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if code >= 500 or code == 429 or not error:  # Slack is there but not answering
            return False, f"HTTP {code} from Slack"
        text = str(error)
        refused = True
    else:  # URLError, timeout, reset, DNS: Slack cannot be reached
        text = f"{type(exc).__name__}: {exc}".splitlines()[0]
        refused = False
    for secret in secrets:
        text = redact(text, secret)
    return refused, text[:300]


def retried_client(token: str | None, environ: Mapping[str, str]) -> WebClient:
    """A client for a call that a loop of ours retries: short timeout, no retries of its own,
    no log line per failure (see `quiet`)."""
    return WebClient(
        token=token or None,
        base_url=api_base_url(environ=environ),
        timeout=CHECK_TIMEOUT,
        retry_handlers=[],
        logger=quiet,
    )


@dataclass(frozen=True)
class SlackStatus:
    """One moment of the check: `error` is the last failure's first line, never the token."""

    state: State
    error: str | None = None
    attempts: int = 0
    team: str | None = None
    bot_user_id: str | None = None

    @property
    def verified(self) -> bool:
        return self.state == "verified"

    def as_dict(self) -> dict[str, Any]:
        shown = {"state": self.state, "attempts": self.attempts}
        if self.error:
            shown["error"] = self.error
        if self.team:
            shown["team"] = self.team
        return shown


class TokenCheck:
    """auth.test until Slack accepts the token; thread-safe, one call in flight at a time."""

    def __init__(
        self, client: WebClient, *, first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY
    ) -> None:
        self._client = client
        self._delays = (first_delay, max_delay)
        self._status = SlackStatus("checking")
        self._lock = threading.Lock()  # serialises calls to Slack; _status is swapped whole
        self._checked_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **delays: float) -> TokenCheck:
        """A check with a client of its own: short timeout, no retries (the loop retries)."""
        token = (environ.get("SLACK_BOT_TOKEN") or "").strip()
        return cls(retried_client(token, environ), **delays)

    def __repr__(self) -> str:  # never the token
        return f"TokenCheck({self._client.base_url!r}, {self._status.state})"

    @property
    def status(self) -> SlackStatus:
        return self._status

    @property
    def verified(self) -> bool:
        return self._status.verified

    def check(self, *, min_interval: float = 0.0) -> SlackStatus:
        """Ask Slack once (unless verified, or asked less than `min_interval` s ago) and return
        the new status. Callers wait for a call already in flight instead of making another."""
        with self._lock:
            recent = time.monotonic() - self._checked_at < min_interval
            if self._status.verified or recent:
                return self._status
            before = self._status
            self._status = self._ask(before.attempts + 1)
            self._checked_at = time.monotonic()
            self._log_change(before, self._status)
            return self._status

    def check_now(self) -> SlackStatus:
        """For a request that needs Slack: one more try, at most once a second across requests,
        so that Slack coming back is noticed before the background loop's next turn."""
        return self.check(min_interval=ON_DEMAND_INTERVAL)

    def start(self) -> TokenCheck:
        """Check in a daemon thread until verified or `stop()` (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-token-check", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        first, cap = self._delays
        for delay in backoff(first, cap):
            status = self.check()
            if status.verified:
                return
            # A refused token stays refused until someone changes it: ask at the slow pace.
            if self._stop.wait(cap if status.state == "rejected" else delay):
                return

    def _ask(self, attempts: int) -> SlackStatus:
        try:
            reply = self._client.auth_test()
        except Exception as exc:
            refused, text = describe_failure(exc, self._client.token)
            return SlackStatus("rejected" if refused else "unreachable", text, attempts)
        data = reply.data if isinstance(reply.data, dict) else {}
        return SlackStatus(
            "verified", attempts=attempts, team=data.get("team"), bot_user_id=data.get("user_id")
        )

    def _log_change(self, before: SlackStatus, after: SlackStatus) -> None:
        """One line when the state or the error changes, not one per retry."""
        if (before.state, before.error) == (after.state, after.error):
            return
        url = self._client.base_url
        if after.verified:
            log.info(
                "Slack accepted the bot token (team %s, bot %s) after %d attempt(s)",
                after.team,
                after.bot_user_id,
                after.attempts,
            )
        elif after.state == "rejected":
            log.error(
                "Slack refused the bot token (%s): check $SLACK_BOT_TOKEN; asking again every"
                " %.0f s",
                after.error,
                self._delays[1],
            )
        else:
            log.warning(
                "Slack's API at %s is unreachable (%s); retrying with backoff up to %.0f s",
                url,
                after.error,
                self._delays[1],
            )
