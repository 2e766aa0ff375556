"""The shared replay guard on a real database: once per signature, expiry and cleanup, races,
and (SQLite) a store of its own that never waits on the main file's write lock."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.slack.replay import ReplayGuard
from scoring.store.db import SQLITE_BEGIN
from scoring.store.request_signatures import (
    count_signatures,
    replay_engine,
    replay_store_path,
)
from tests.databases import BACKENDS, migrated_database

START = dt.datetime(2026, 12, 7, 9, 0)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The replay store of a migrated database, as `create_app` picks it."""
    with migrated_database(request.param, tmp_path) as (_, engine):
        own = replay_engine(engine)
        yield own
        if own is not engine:
            own.dispose()


class Clocks:
    """Wall time for `seen_at` and ticks for the cleanup cadence, both moved by hand."""

    def __init__(self) -> None:
        self.now, self.tick = START, 0.0

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)
        self.tick += seconds


def guard_on(store: Engine, clocks: Clocks) -> ReplayGuard:
    return ReplayGuard(store, clock=lambda: clocks.now, ticks=lambda: clocks.tick)


def test_a_signature_is_accepted_once_and_forgotten_after_the_window(store: Engine) -> None:
    clocks = Clocks()
    web1, web2 = guard_on(store, clocks), guard_on(store, clocks)  # two processes, one store
    assert web1.first_time("1700000000", "v0=a")
    assert not web2.first_time("1700000000", "v0=a")
    assert not web1.first_time("1700000000", "v0=a")
    assert web2.first_time("1700000000", "v0=b")  # another signature
    assert web2.first_time("1700000001", "v0=a")  # another stamp
    assert count_signatures(store) == 3
    clocks.advance(10 * 60)  # still inside the window: bolt could still accept the stamp
    assert not web1.first_time("1700000000", "v0=a")
    assert count_signatures(store) == 3


def test_expired_rows_are_deleted_now_and_then_not_on_every_request(store: Engine) -> None:
    clocks = Clocks()
    guard = guard_on(store, clocks)
    for n in range(20):
        assert guard.first_time(str(n), "v0=old")
    clocks.advance(11 * 60 + 1)  # past the window, and more than a minute since the cleanup
    assert guard.first_time("fresh", "v0=1")  # this request cleans up after its check
    assert count_signatures(store) == 1
    clocks.tick += 30
    clocks.now += dt.timedelta(minutes=12)  # v0=1 has expired, but the last cleanup was 30 s ago
    assert guard.first_time("fresh", "v0=2")
    assert count_signatures(store) == 2  # nothing deleted: not every request pays for it
    clocks.tick += 30
    assert guard.first_time("fresh", "v0=3")  # a minute since the last cleanup
    assert count_signatures(store) == 2  # v0=1 went; v0=2 and v0=3 are inside the window


def test_concurrent_deliveries_of_one_request_are_accepted_once(store: Engine) -> None:
    guards = [ReplayGuard(store) for _ in range(4)]
    barrier = threading.Barrier(16)

    def deliver(n: int) -> bool:
        barrier.wait()
        return guards[n % 4].first_time("1700000000", "v0=same")

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(deliver, range(16)))
    assert results.count(True) == 1


def test_on_sqlite_the_guard_never_waits_for_a_weekly_runs_write_lock(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as (_, engine):
        assert replay_store_path(engine) == tmp_path / "healthbot.db.replay.db"
        store = replay_engine(engine)
        guard = ReplayGuard(store)
        with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
            with conn.begin():  # a run storing snapshots holds the main file's write lock
                conn.execute(sa.text("DELETE FROM accounts WHERE account_id = 'none'"))
                started = time.perf_counter()
                assert guard.first_time("1700000000", "v0=during-a-run")
                assert time.perf_counter() - started < 1.0  # the busy timeout is 5 s
        store.dispose()
        assert count_signatures(engine) == 0  # the main file's table is not the one used


@pytest.mark.postgres
def test_on_postgres_a_claim_is_one_autocommitted_insert_that_skips_the_wal_flush(
    tmp_path: Path,
) -> None:
    """The guard's store is its own engine on the main database: autocommit, so the insert is
    the whole round trip (visible to every other process at once, no COMMIT after it), and
    `synchronous_commit = off` on each of its sessions only (the main engine's commits keep
    waiting for the flush)."""
    with migrated_database("postgres", tmp_path) as (_, engine):
        store = replay_engine(engine)
        try:
            assert store is not engine
            guard = ReplayGuard(store)
            assert guard.first_time("1700000000", "v0=once")
            assert count_signatures(engine) == 1  # committed: seen through the main engine
            assert not guard.first_time("1700000000", "v0=once")
            with store.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
                assert conn.connection.dbapi_connection.autocommit is True
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        finally:
            store.dispose()
