"""Leases: named locks their holder keeps alive with a heartbeat, taken over once it stops.

A weekly run holds `weekly:<period>`, the delivery sweep holds `sweep`. The holder renews every
lease it holds in one UPDATE on a heartbeat (bot/jobs/heartbeat.py, every 30 s on its own
connection). Another worker takes a lease over only when its heartbeat is older than `stale`,
and re-checks that inside the same transaction that takes it (a row lock on PostgreSQL, BEGIN
IMMEDIATE on SQLite), so two workers never both believe they hold it. A live holder also
proves that its `sending` outbox rows are still in flight (`live_holders`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.db import SQLITE_BEGIN
from scoring.store.tables import Lease, utcnow

LEASES = Lease.__table__


@dataclass(frozen=True)
class Taken:
    """The outcome of `take_lease`: won or not, and whose stale lease was taken over (with the
    run it protected), so the caller can mark that run abandoned."""

    won: bool
    took_over_from: str | None = None
    abandoned_run: int | None = None
    held_by: str | None = None


def take_lease(
    engine: Engine, name: str, holder: str, stale: timedelta, run_id: int | None = None
) -> Taken:
    """Take lease `name` for `holder` (or renew it) unless another holder's heartbeat is
    younger than `stale`."""
    now = utcnow()
    values = {"holder": holder, "heartbeat_at": now, "expires_at": now + stale, "run_id": run_id}
    try:
        with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
            with conn.begin():
                row = (
                    conn.execute(sa.select(LEASES).where(LEASES.c.name == name).with_for_update())
                    .mappings()
                    .first()
                )
                if row is None:
                    conn.execute(sa.insert(LEASES).values(name=name, **values))
                    return Taken(True)
                if row["holder"] != holder and _alive(row, now, stale):
                    return Taken(False, held_by=row["holder"])
                conn.execute(sa.update(LEASES).where(LEASES.c.name == name).values(**values))
                if row["holder"] == holder:
                    return Taken(True)
                return Taken(True, took_over_from=row["holder"], abandoned_run=row["run_id"])
    except sa.exc.IntegrityError:  # another process inserted the lease first
        return Taken(False)


def _alive(row: Any, now: datetime, stale: timedelta) -> bool:
    beat = row["heartbeat_at"]
    if beat is None:  # a lease from before heartbeats: its expiry is all there is
        return row["expires_at"] > now
    return beat > now - stale


def set_lease_run(engine: Engine, name: str, holder: str, run_id: int) -> None:
    """Name the run a lease protects (known only after the lease is taken)."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(LEASES)
            .where(LEASES.c.name == name, LEASES.c.holder == holder)
            .values(run_id=run_id)
        )


def heartbeat(
    engine: Engine, holder: str, stale: timedelta, names: Collection[str] | None = None
) -> int:
    """Renew the leases `holder` holds (only `names`, when given: a lease the worker failed
    to release, say while the database was away, is left to go stale); returns how many it
    still holds (fewer than `names`: it lost some)."""
    now = utcnow()
    query = sa.update(LEASES).where(LEASES.c.holder == holder)
    if names is not None:
        query = query.where(LEASES.c.name.in_(sorted(names)))
    with engine.begin() as conn:
        result = conn.execute(query.values(heartbeat_at=now, expires_at=now + stale))
        return int(result.rowcount)


def holds(engine: Engine, name: str, holder: str) -> bool:
    query = sa.select(sa.func.count()).where(LEASES.c.name == name, LEASES.c.holder == holder)
    with engine.connect() as conn:
        return bool(conn.execute(query.select_from(LEASES)).scalar())


def release_lease(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder))


def release_all(engine: Engine, holder: str) -> int:
    """Everything `holder` holds (a worker shutting down)."""
    with engine.begin() as conn:
        return int(conn.execute(sa.delete(LEASES).where(LEASES.c.holder == holder)).rowcount)


def live_holders(engine: Engine, stale: timedelta) -> set[str]:
    """Holders whose heartbeat is younger than `stale`: their posts may still be in flight."""
    now = utcnow()
    alive = sa.or_(
        LEASES.c.heartbeat_at > now - stale,
        sa.and_(LEASES.c.heartbeat_at.is_(None), LEASES.c.expires_at > now),
    )
    with engine.connect() as conn:
        return set(conn.execute(sa.select(LEASES.c.holder).where(alive)).scalars())


def list_leases(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(LEASES).order_by(LEASES.c.name)).mappings()]


def acquire_lease(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Take lease `name` unless another holder's heartbeat is younger than `ttl`."""
    return take_lease(engine, name, holder, ttl).won
