"""The lease heartbeat: a thread that renews every lease this worker holds.

Its own engine (so its own connection, and on SQLite its own busy timeout) means a long
transaction in the run never delays the heartbeat, and a heartbeat never waits behind the
run's connection pool. When a renewal finds the worker holding nothing while it should hold a
lease, the lease was taken over (this worker looked dead): `control.lost` stops the run.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.jobs.control import RunControl
from scoring.config import Model
from scoring.store import make_engine
from scoring.store.leases import heartbeat

log = logging.getLogger("healthbot.scheduler")


class Heartbeat:
    """Renews `control.holder`'s leases every `every` until stopped."""

    def __init__(
        self, engine: Engine, control: RunControl, every: timedelta, stale: timedelta
    ) -> None:
        self.engine = make_engine(engine.url.render_as_string(hide_password=False))
        self.control = control
        self.every = every.total_seconds()
        self.stale = stale
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    @classmethod
    def for_model(cls, engine: Engine, model: Model, control: RunControl) -> Heartbeat:
        schedule = model.schedule
        every = timedelta(seconds=schedule.heartbeat_seconds)
        return cls(engine, control, every, timedelta(seconds=schedule.stale_after_seconds))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.engine.dispose()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            try:
                names = set(self.control.leases)
                held = heartbeat(self.engine, self.control.holder, self.stale, names)
            except Exception as exc:  # noqa: BLE001  (the database may be away for a while)
                log.warning("heartbeat failed: %s", exc)
                continue
            if held < len(names & self.control.leases):
                log.error("this worker's lease was taken over; stopping the run")
                self.control.lost.set()
