"""A cache for Slack look-ups that a request must never wait on for long.

Membership and profile look-ups cost a Web API call each, and a request has 3 seconds before
Slack gives up on it. So a key is loaded once however many requests ask for it at the same time
(one load in flight per key, run in a background thread), an expired entry keeps answering while
its refresh runs in the background, and a caller says how long it may wait for a key never seen
(`wait`): a request that must acknowledge soon waits briefly and gets `MISSING` if Slack is slow,
while work done after the acknowledgement waits for the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class TtlCache:
    """A thread-safe dict whose entries expire; each key is loaded by one thread at a time.

    `load()` returns `(value, ttl_seconds)` and must not raise (a failure is a value with a
    short ttl, decided by the loader)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._loading: dict[Any, Future] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], tuple[Any, float]], wait: float | None) -> Any:
        """The value for `key`: a fresh one at once; else a load is started (unless one is
        already running) and, when a stale value exists and `wait` is given, the stale value is
        returned without waiting; else this waits up to `wait` seconds (None: as long as the
        load takes) and returns MISSING if the load has not finished by then."""
        with self._lock:
            hit = self._data.get(key)
            if hit and hit[0] > self._clock():
                return hit[1]
            future = self._loading.get(key)
            if future is None:
                future = self._loading[key] = Future()
                threading.Thread(
                    target=self._run, args=(key, load, future), name="ttl-cache-load", daemon=True
                ).start()
        if hit and wait is not None:
            return hit[1]
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            return MISSING

    def get_or_load(self, key: Any, load: Callable[[], tuple[Any, float]]) -> Any:
        """Wait for the value however long the load takes (one load per key, shared)."""
        return self.get(key, load, wait=None)

    def _run(self, key: Any, load: Callable[[], tuple[Any, float]], future: Future) -> None:
        try:
            value, ttl = load()
        except BaseException as exc:  # a loader bug: tell the waiters, cache nothing
            with self._lock:
                self._loading.pop(key, None)
            future.set_exception(exc)
            return
        with self._lock:
            self._data[key] = (self._clock() + ttl, value)
            self._loading.pop(key, None)
        future.set_result(value)
