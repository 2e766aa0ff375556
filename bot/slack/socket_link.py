"""Socket Mode's connection to Slack, kept trying while Slack is down.

slack_sdk's built-in Socket Mode client reconnects by itself, but only once it has connected:
its monitor starts after the first `connect()`, and that first `connect()` raises when
`apps.connections.open` cannot be reached (or refuses the app token), which ended
`healthbot socket` with a traceback. `SocketLink` makes that first connection in a thread, 1 s
after a failure and doubling to every 30 s, logging one line per change of error, and reports
its state for `/healthz`. After it, slack_sdk's monitor keeps the session alive as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.slack.token_check import (
    FIRST_DELAY,
    MAX_DELAY,
    backoff,
    describe_failure,
    retried_client,
)

log = logging.getLogger("healthbot.slack")


@dataclass(frozen=True)
class SocketStatus:
    """`connected` means a live WebSocket; `error` is the last failure, never a token."""

    state: Literal["connecting", "connected"]
    error: str | None = None
    attempts: int = 0

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"state": self.state, "attempts": self.attempts}
        return shown | ({"error": self.error} if self.error else {})


class SocketLink:
    """Connects `handler` in the background until it is connected or closed."""

    def __init__(
        self,
        handler: SocketModeHandler,
        *,
        secrets: tuple[str, ...] = (),
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self._handler = handler
        self._secrets = secrets
        self._delays = (first_delay, max_delay)
        self._error: str | None = None
        self._attempts = 0
        self._opened = False  # apps.connections.open answered once: slack_sdk takes over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_app(cls, app: App, app_token: str, environ: Mapping[str, str]) -> SocketLink:
        """A link for bolt's `app`: apps.connections.open goes through a client of its own
        that leaves retrying and logging failures to the link."""
        client = retried_client(None, environ)
        return cls(SocketModeHandler(app, app_token, web_client=client), secrets=(app_token,))

    @property
    def status(self) -> SocketStatus:
        if self._handler.client.is_connected():
            return SocketStatus("connected", attempts=self._attempts)
        error = self._error
        if self._opened:
            error = "the WebSocket is not connected; slack_sdk reconnects every few seconds"
        return SocketStatus("connecting", error, self._attempts)

    def start(self) -> SocketLink:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-socket", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop trying and close the session (slack_sdk's threads with it)."""
        self._stop.set()
        self._handler.close()

    def _run(self) -> None:
        first, cap = self._delays
        for delay in backoff(first, cap):
            if self._stop.is_set():
                return
            self._attempts += 1
            try:
                self._handler.connect()
            except Exception as exc:
                refused, text = describe_failure(exc, *self._secrets)
                if text != self._error:
                    log.log(
                        logging.ERROR if refused else logging.WARNING,
                        "Socket Mode cannot connect (%s); retrying with backoff up to %.0f s",
                        text,
                        cap,
                    )
                self._error = text
                if self._stop.wait(cap if refused else delay):
                    return
                continue
            self._opened, self._error = True, None
            log.info("Socket Mode connected after %d attempt(s)", self._attempts)
            return
