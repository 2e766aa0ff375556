"""The weekly worker: APScheduler only fires; the run ledger and database leases decide.

Job stores are never shared between schedulers, so every worker keeps its own in-memory
schedule: the cron fires `tick` (run the due period if it still needs a run), and every
`delivery.sweep_minutes` the worker sweeps (bot/jobs/sweep.py) and ticks again, which is how a
failed run is retried and a dead worker's period is taken over without waiting a week. Jobs
run one at a time. Whether a period needs a run is the database's call: a period with a
succeeded or delivering run is done; a failed one is retried `schedule.retries` times,
`schedule.retry_minutes` apart, then reported; a blocked one waits for a person (to change
its sources or confirm the sync, bot/jobs/blocked.py). A lease
(`weekly:<period>`, kept alive by the heartbeat) lets one worker run it at a time and is
taken over once its heartbeat is `schedule.stale_after_seconds` old.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from bot.delivery.transport_types import Transport
from bot.jobs.blocked import remember_sources, sources_now, unblocked
from bot.jobs.control import Interrupted, RunControl, holder_id
from bot.jobs.crontab import crontab_trigger, previous_fire_time
from bot.jobs.heartbeat import Heartbeat
from bot.jobs.notices import report_to_admins
from bot.jobs.sweep import reap_dead_runs
from bot.jobs.weekly import WeeklyResult, run_weekly
from bot.messages.render import render_text
from scoring.config import Model
from scoring.periods import last_complete_day, period_of
from scoring.store.leases import release_lease, take_lease
from scoring.store.runs import abandon_running, period_done, period_runs
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.scheduler")

__all__ = ["due_as_of", "holder_id", "run_if_due", "start_background"]


def due_as_of(model: Model, now: datetime) -> date | None:
    """The as-of date of the most recent scheduled run: the last complete day when it fired."""
    trigger = crontab_trigger(model.schedule.cron, model.schedule.timezone)
    fired = previous_fire_time(trigger, now)
    return None if fired is None else last_complete_day(model.timezone, fired)


def run_now(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    transport: Transport,
    sync: bool = True,
    control: RunControl | None = None,
) -> WeeklyResult:
    """`healthbot run-weekly`: run the period of `as_of` now, under its lease and a heartbeat,
    so no worker runs it at the same time and a worker takes it over if this process dies.
    Raises HealthbotError when a live worker is running it."""
    from bot.jobs.weekly import run_weekly_reporting
    from scoring.errors import HealthbotError

    control = control or RunControl()
    period = period_of(as_of)
    stale = timedelta(seconds=model.schedule.stale_after_seconds)
    reap_dead_runs(engine, model, stale, None, control)
    lease = f"weekly:{period}"
    taken = take_lease(engine, lease, control.holder, stale)
    if not taken.won:
        raise HealthbotError(
            f"{period} is being run right now by {taken.held_by or 'another worker'};"
            " `healthbot runs` shows how it goes"
        )
    control.leases.add(lease)
    abandon_running(engine, period)
    sources = sources_now(model, model_dir) if sync else None
    try:
        with Heartbeat.for_model(engine, model, control):
            return run_weekly_reporting(
                engine,
                model,
                model_dir,
                as_of,
                transport,
                sync=sync,
                control=control,
                attempt=len(period_runs(engine, period)) + 1,
            )
    finally:
        if sources is not None:
            remember_sources(engine, period, sources)
        control.leases.discard(lease)
        release_lease(engine, lease, control.holder)


def run_if_due(
    engine: Engine,
    model: Model,
    model_dir: Path,
    transport: Transport,
    now: datetime | None = None,
    holder: str | None = None,
    control: RunControl | None = None,
) -> WeeklyResult | None:
    """Run the due period once across all workers; None when done, not due (a retry waits
    for its time, a blocked period for a person), or held by a live worker."""
    control = control or RunControl(holder=holder or holder_id())
    as_of = due_as_of(model, now or datetime.now(UTC))
    if as_of is None:
        return None
    period = period_of(as_of)
    stale = timedelta(seconds=model.schedule.stale_after_seconds)
    reap_dead_runs(engine, model, stale, None, control)
    attempt = _next_attempt(engine, model, model_dir, period, transport.via)
    if attempt is None:
        return None
    lease = f"weekly:{period}"
    taken = take_lease(engine, lease, control.holder, stale)
    if not taken.won:
        log.info("%s is being run by %s", period, taken.held_by or "another worker")
        return None
    control.lost.clear()
    control.leases.add(lease)
    if taken.took_over_from:
        log.warning("%s: took over the lease of %s (no heartbeat)", period, taken.took_over_from)
        reap_dead_runs(engine, model, timedelta(0), None, control)
    abandon_running(engine, period)
    try:
        if period_done(engine, period, transport.via):  # finished while we took the lease
            return None
        return _run(engine, model, model_dir, as_of, transport, control, attempt)
    finally:
        control.leases.discard(lease)
        release_lease(engine, lease, control.holder)


def _next_attempt(
    engine: Engine, model: Model, model_dir: Path, period: str, via: str
) -> int | None:
    """The attempt number of a run the period needs now, or None (see run_if_due)."""
    if period_done(engine, period, via):
        return None
    runs = period_runs(engine, period)
    if not runs:
        return 1
    last = runs[-1]
    if last["status"] == "blocked" and not unblocked(engine, model, model_dir, last):
        return None
    failed = sum(r["status"] == "failed" for r in runs)
    if last["status"] == "failed":
        if failed > model.schedule.retries:
            return None  # reported when the last attempt failed
        wait = timedelta(minutes=model.schedule.retry_minutes)
        if (last["finished_at"] or last["started_at"]) + wait > utcnow():
            return None
    return len(runs) + 1


def _run(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    transport: Transport,
    control: RunControl,
    attempt: int,
) -> WeeklyResult | None:
    period = period_of(as_of)
    sources = sources_now(model, model_dir)
    try:
        return run_weekly(
            engine, model, model_dir, as_of, transport, control=control, attempt=attempt
        )
    except Interrupted as exc:
        log.warning("%s: run interrupted: %s", period, exc)
        return None
    except Exception as exc:  # noqa: BLE001  (recorded on the run; reported below)
        if sources is not None:
            remember_sources(engine, period, sources)
        _after_failure(engine, model, period, exc, control, attempt, transport)
        return None


def _after_failure(
    engine: Engine,
    model: Model,
    period: str,
    exc: Exception,
    control: RunControl,
    attempt: int,
    transport: Transport,
) -> None:
    """A failed run is retried until it has failed `retries + 1` times, then reported once;
    a blocked one is reported at once and waits for a person."""
    from scoring.errors import Blocked

    error = f"{type(exc).__name__}: {exc}"[:500]
    failed = sum(r["status"] == "failed" for r in period_runs(engine, period))
    if not isinstance(exc, Blocked) and failed <= model.schedule.retries:
        log.error(
            "%s: attempt %d failed (%s); retrying in %g min",
            period,
            attempt,
            error,
            model.schedule.retry_minutes,
        )
        return
    status = "blocked" if isinstance(exc, Blocked) else "failed"
    text = render_text(
        "admin_run_state", status=status, period=period, error=error, attempts=failed
    )
    key = f"admin:{period}:{status}:{attempt}"
    report_to_admins(engine, model, key, text, transport, period, control)


class Worker:
    """One worker process: a heartbeat, the cron tick and the sweep, one job at a time."""

    def __init__(
        self,
        engine: Engine,
        model: Model,
        model_dir: Path,
        transport: Transport,
        control: RunControl | None = None,
    ) -> None:
        self.engine, self.model, self.model_dir = engine, model, model_dir
        self.transport = transport
        self.control = control or RunControl()
        self.busy = threading.Lock()  # held by the job running; a stopping worker waits on it

    def tick(self) -> WeeklyResult | None:
        return run_if_due(
            self.engine, self.model, self.model_dir, self.transport, control=self.control
        )

    def sweep(self) -> None:
        from bot.jobs.sweep import sweep

        sweep(self.engine, self.model, self.transport, self.control)
        if not self.control.should_stop():
            self.tick()

    def scheduler(self) -> BackgroundScheduler:
        """The cron tick and the sweep interval, sharing one thread so jobs never overlap."""
        schedule = self.model.schedule
        scheduler = BackgroundScheduler(
            timezone=schedule.timezone, executors={"default": ThreadPoolExecutor(1)}
        )
        common: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        trigger = crontab_trigger(schedule.cron, schedule.timezone)
        scheduler.add_job(self.job(self.tick), trigger, id="weekly", **common)
        every = timedelta(minutes=self.model.delivery.sweep_minutes).total_seconds()
        scheduler.add_job(self.job(self.sweep), "interval", seconds=every, id="sweep", **common)
        # At once: deliver what an earlier worker left, retry or take over the due period.
        scheduler.add_job(self.job(self.sweep), id="catch-up")
        return scheduler

    def job(self, step: Callable[[], object]) -> Callable[[], None]:
        """`step` as a scheduler job: never raises, never runs once the worker is stopping,
        and holds `busy` while it runs."""

        def run() -> None:
            if self.control.stop.is_set():
                return
            with self.busy:
                safe(step)()

        return run


def safe(job: Callable[[], object]) -> Callable[[], None]:
    """A failed job is recorded and reported by the pipeline; the worker itself keeps going."""

    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001
            log.exception("job failed")

    return run


def start_background(
    engine: Engine, model: Model, model_dir: Path, transport: Transport
) -> BackgroundScheduler:
    """For `healthbot socket`: the scheduler in a thread beside the Socket Mode app (its
    heartbeat too)."""
    worker = Worker(engine, model, model_dir, transport)
    Heartbeat.for_model(engine, model, worker.control).__enter__()
    scheduler = worker.scheduler()
    scheduler.start()
    return scheduler
