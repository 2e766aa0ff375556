"""The runs log: scoring runs, syncs and deliveries, and how each ended.

Leases (one weekly run per period at a time) are in scoring/store/leases.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.tables import Run, utcnow

RUNS = Run.__table__


def record_run(
    conn: sa.Connection,
    kind: str,
    status: str,
    *,
    period: str | None = None,
    started_at: datetime | None = None,
    accounts_scored: int = 0,
    alerts: int = 0,
    error: str | None = None,
    details: Any = None,
) -> int:
    """Insert a finished run inside the caller's transaction (so it commits with the work)."""
    now = utcnow()
    result = conn.execute(
        sa.insert(RUNS).values(
            period=period,
            kind=kind,
            status=status,
            started_at=started_at or now,
            finished_at=now,
            accounts_scored=accounts_scored,
            alerts=alerts,
            error=error,
            details=None if details is None else json.dumps(details, default=str),
        )
    )
    return int(result.inserted_primary_key[0])


def start_run(engine: Engine, kind: str, period: str | None = None) -> int:
    """Open a run (status "running") that `finish_run` closes; returns its id.

    Times are naive UTC (`utcnow`) like every other timestamp in the store: an aware value
    would be converted to the session's time zone by PostgreSQL before landing in the naive
    column, so a server not running in UTC would shift it.
    """
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(RUNS).values(
                period=period,
                kind=kind,
                status="running",
                started_at=utcnow(),
                accounts_scored=0,
                alerts=0,
            )
        )
        return int(result.inserted_primary_key[0])


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    *,
    accounts_scored: int = 0,
    alerts: int = 0,
    error: str | None = None,
    details: Any = None,
) -> None:
    """Close a run `start_run` opened: its status, counts and details, finished now (UTC)."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                accounts_scored=accounts_scored,
                alerts=alerts,
                error=error,
                details=None if details is None else json.dumps(details, default=str),
            )
        )


def last_run(engine: Engine, kind: str) -> dict[str, Any] | None:
    """The most recent run of `kind`, details decoded; None when there has been none."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.select(RUNS).where(RUNS.c.kind == kind).order_by(RUNS.c.id.desc()).limit(1)
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    out = dict(row)
    out["details"] = json.loads(out["details"]) if out["details"] else None
    return out
