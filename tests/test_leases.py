"""Leases with a heartbeat: held while beating, taken over once stale by exactly one worker,
and a worker whose lease was taken over learns it and stops."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from bot.jobs.control import RunControl
from bot.jobs.heartbeat import Heartbeat
from scoring.store.leases import LEASES, heartbeat, live_holders, take_lease
from scoring.store.tables import utcnow

STALE = timedelta(seconds=2)


def test_a_beating_lease_is_kept_and_a_stale_one_taken_over(engine):
    assert take_lease(engine, "weekly:W1", "a", STALE).won
    assert not take_lease(engine, "weekly:W1", "b", STALE).won
    time.sleep(1.2)
    assert heartbeat(engine, "a", STALE) == 1
    time.sleep(1.2)  # 2.4 s since taken, 1.2 s since the heartbeat: still alive
    refused = take_lease(engine, "weekly:W1", "b", STALE)
    assert not refused.won and refused.held_by == "a"
    assert live_holders(engine, STALE) == {"a"}
    time.sleep(2.1)
    taken = take_lease(engine, "weekly:W1", "b", STALE, run_id=7)
    assert taken.won and taken.took_over_from == "a"
    assert live_holders(engine, STALE) == {"b"}
    assert heartbeat(engine, "a", STALE) == 0, "the old holder holds nothing any more"


def test_only_one_of_many_workers_takes_over_a_stale_lease(engine):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(LEASES).values(
                name="weekly:W1",
                holder="dead",
                heartbeat_at=utcnow() - timedelta(minutes=5),
                expires_at=utcnow() - timedelta(minutes=4),
            )
        )
    barrier = threading.Barrier(6)
    won: list[str] = []

    def contend(name: str) -> None:
        barrier.wait()
        if take_lease(engine, "weekly:W1", name, STALE).won:
            won.append(name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1, won


def test_the_heartbeat_keeps_leases_alive_and_notices_a_takeover(engine):
    control = RunControl(holder="me")
    assert take_lease(engine, "weekly:W1", "me", STALE).won
    control.leases.add("weekly:W1")
    with Heartbeat(engine, control, timedelta(seconds=0.2), STALE):
        time.sleep(1.5)
        assert not take_lease(engine, "weekly:W1", "other", STALE).won, "kept alive"
        assert not control.lost.is_set()
        with engine.begin() as conn:  # another worker took it (as after a long pause)
            conn.execute(sa.update(LEASES).values(holder="other", heartbeat_at=utcnow()))
        deadline = time.monotonic() + 3
        while not control.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert control.lost.is_set() and control.should_stop()
