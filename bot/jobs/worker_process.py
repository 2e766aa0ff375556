"""The worker as a process (`healthbot scheduler`): start, run, and stop within 25 seconds.

On SIGTERM (a deploy, a platform stopping the dyno) the worker starts no new sends, lets the
Slack call in flight finish (each call is capped, bot/delivery/slack_client.py), marks its run
`interrupted`, releases its leases and exits; the next worker resumes the period. A job that
does not reach a checkpoint in time (a long scoring pass) is cut off: its run is marked
`interrupted` all the same and the process exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.delivery.transport_types import Transport
from bot.jobs.heartbeat import Heartbeat
from bot.jobs.scheduler import Worker
from scoring.config import Model
from scoring.store.leases import release_all
from scoring.store.runs import interrupt_runs_of

log = logging.getLogger("healthbot.scheduler")
STOP_BUDGET = 20.0  # seconds from SIGTERM to exit, leaving margin under the platform's 25-30


def run_worker(engine: Engine, model: Model, model_dir: Path, transport: Transport) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    worker = Worker(engine, model, model_dir, transport)
    heartbeat = Heartbeat.for_model(engine, model, worker.control).__enter__()
    scheduler = worker.scheduler()
    stop = worker.control.stop
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    log.info(
        "worker %s started: %r in %s, sweeping every %g min",
        worker.control.holder,
        model.schedule.cron,
        model.schedule.timezone,
        model.delivery.sweep_minutes,
    )
    while not stop.wait(0.5):
        pass
    started = time.monotonic()
    log.info("stopping: no new sends; finishing the call in flight")
    scheduler.shutdown(wait=False)
    finished = worker.busy.acquire(timeout=STOP_BUDGET)
    interrupted = interrupt_runs_of(engine, worker.control.holder)
    release_all(engine, worker.control.holder)
    heartbeat.__exit__(None, None, None)
    log.info(
        "stopped in %.1fs%s",
        time.monotonic() - started,
        f"; run(s) {interrupted} marked interrupted" if interrupted else "",
    )
    if not finished:  # a job still running in a pool thread would hold the exit
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0
