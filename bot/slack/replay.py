"""Refuses a signed Slack request seen before, whichever worker or host it reached first.

bolt only checks that a request's stamp is within five minutes of now, so a captured request
could be replayed within that window. `serve` runs several gunicorn workers and there may be
several web hosts, so the signatures already accepted live in the database
(`scoring/store/request_signatures.py`): a request is accepted by the one process whose insert
of its signature wins, and refused everywhere after that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from scoring.store.request_signatures import claim_signature, forget_signatures
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.replay")
# bolt accepts stamps up to five minutes either side of its clock, so a request stays
# acceptable for at most ten minutes after it is first seen; one more covers clocks that differ
# between hosts. A row is useless after that.
REPLAY_WINDOW = dt.timedelta(minutes=11)
CLEANUP_EVERY = 60.0  # seconds between one process's deletes of expired rows


class ReplayGuard:
    """`first_time(stamp, signature)`: True once per signed request across every process that
    shares `engine` (the replay store, see `replay_engine`). Each process deletes expired rows
    at most once a minute, after answering the check, so no request pays for more than that."""

    def __init__(
        self,
        engine: Engine,
        window: dt.timedelta = REPLAY_WINDOW,
        clock: Callable[[], dt.datetime] = utcnow,
        cleanup_every: float = CLEANUP_EVERY,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.window, self._clock = engine, window, clock
        self._cleanup_every, self._ticks = cleanup_every, ticks
        self._next_cleanup = ticks()  # the first request of a process cleans up
        self._lock = threading.Lock()

    def first_time(self, timestamp: str, signature: str) -> bool:
        key = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
        now = self._clock()
        first = claim_signature(self.engine, key, now)
        if self._cleanup_due():
            try:
                gone = forget_signatures(self.engine, now - self.window)
                log.debug("forgot %d request signatures older than %s", gone, self.window)
            except Exception as exc:  # the check itself succeeded; cleanup can wait a minute
                log.warning("could not delete expired request signatures: %s", exc)
        return first

    def _cleanup_due(self) -> bool:
        """One thread of this process claims each cleanup slot."""
        with self._lock:
            if self._ticks() < self._next_cleanup:
                return False
            self._next_cleanup = self._ticks() + self._cleanup_every
            return True
