"""Weekly runs, one after another, in a process of their own: the load `bench_lookup
--during-weekly` measures lookups under.

A weekly run is what the worker does to the database while the web processes answer: it reads
the period's signals, scores every account and stores the snapshots (on SQLite that holds the
file's write lock for the whole store), reads the period back, decides and renders the alerts,
and queues the messages. Each pass scores the next week after the data's end, so the web
processes also see a new period appear and reload it, as they do after a real run. Passes
repeat until SIGTERM, so a measurement taken while this runs overlaps every step.

    python -m benchmarks.weekly_load DATABASE_URL END_DATE
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from bot.jobs.weekly import WeeklyResult, weekly_messages
from scoring.batch.jobs import score_and_store
from scoring.batch.views import load_period
from scoring.config import parse_model
from scoring.periods import period_of
from scoring.store import load_accounts, make_engine
from scoring.store.outbox import enqueue
from tests.test_slack_app_support import demo_model

STARTED = "weekly load: first pass started"


class WeeklyLoad:
    """The background process and what it printed (one line per finished pass)."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log = process, log

    def passes(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith("pass ")]


@contextmanager
def weekly_in_background(url: str, end: date, workdir: Path) -> Iterator[WeeklyLoad]:
    """Weekly passes on `url` in a child process from the moment its first pass starts."""
    log = workdir / "weekly_load.log"
    argv = [sys.executable, "-m", "benchmarks.weekly_load", url, end.isoformat()]
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    load = WeeklyLoad(process, log)
    try:
        deadline = time.monotonic() + 300
        while STARTED not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.1)
        yield load
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)


def main(url: str, end: date) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = make_engine(url)
    model = parse_model(demo_model().model_dump_json(exclude={"digest"}))
    as_of = end
    print(STARTED, flush=True)
    while not stop.is_set():
        as_of += timedelta(days=7)
        started = time.perf_counter()
        score_and_store(engine, model, [as_of])
        stored = time.perf_counter() - started
        result = WeeklyResult(period_of(as_of), as_of)
        view = load_period(engine, result.period)
        messages = weekly_messages(engine, model, view, load_accounts(engine), as_of, result)
        enqueue(engine, messages)
        total = time.perf_counter() - started
        print(
            f"pass {result.period}: score + store {stored:.1f} s, whole run {total:.1f} s,"
            f" {len(messages)} messages",
            flush=True,
        )
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], date.fromisoformat(sys.argv[2]))
