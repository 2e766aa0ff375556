"""The weekly worker: APScheduler only fires; the run ledger and a database lease decide.

Job stores are never shared between schedulers, so every worker keeps its own in-memory
schedule. Whether a period still needs a run is the database's call: a period with a
succeeded weekly run is done, and a lease lets only one worker run it at a time. On start the
worker catches up on the most recent scheduled period if it was missed.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from bot.jobs.crontab import crontab_trigger, previous_fire_time
from bot.jobs.weekly import WeeklyResult, run_weekly_reporting
from scoring.config import Model
from scoring.periods import last_complete_day, period_of
from scoring.store import acquire_lease, release_lease
from scoring.store.ledger import period_done

log = logging.getLogger("healthbot.scheduler")
LEASE_TTL = timedelta(hours=2)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def due_as_of(model: Model, now: datetime) -> date | None:
    """The as-of date of the most recent scheduled run: the last complete day when it fired."""
    trigger = crontab_trigger(model.schedule.cron, model.schedule.timezone)
    fired = previous_fire_time(trigger, now)
    return None if fired is None else last_complete_day(model.timezone, fired)


def run_if_due(
    engine: Engine,
    model: Model,
    model_dir: Path,
    transport: Any,
    now: datetime | None = None,
    holder: str | None = None,
) -> WeeklyResult | None:
    """Run the due period once across all workers; None when done, not due or held elsewhere."""
    moment = now or datetime.now(UTC)
    as_of = due_as_of(model, moment)
    if as_of is None:
        return None
    period = period_of(as_of)
    if period_done(engine, period):
        return None
    holder = holder or holder_id()
    lease = f"weekly:{period}"
    if not acquire_lease(engine, lease, holder, LEASE_TTL):
        log.info("%s is being run by another worker", period)
        return None
    try:
        if period_done(engine, period):  # finished while we waited for the lease
            return None
        return run_weekly_reporting(engine, model, model_dir, as_of, transport)
    finally:
        release_lease(engine, lease, holder)


def build_scheduler(
    job: Callable[[], object], model: Model, blocking: bool = True
) -> BlockingScheduler | BackgroundScheduler:
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(timezone=model.schedule.timezone)
    scheduler.add_job(
        job,
        crontab_trigger(model.schedule.cron, model.schedule.timezone),
        id="weekly",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    return scheduler


def safe(job: Callable[[], object]) -> Callable[[], None]:
    """A failed run is recorded and reported by the pipeline; the worker itself keeps going."""

    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001
            log.exception("weekly run failed")

    return run


def start_background(
    engine: Engine, model: Model, model_dir: Path, transport: Any
) -> BackgroundScheduler:
    """For `healthbot socket`: the scheduler in a thread beside the Socket Mode app."""
    job = safe(lambda: run_if_due(engine, model, model_dir, transport))
    job()
    scheduler = build_scheduler(job, model, blocking=False)
    scheduler.start()
    return scheduler
