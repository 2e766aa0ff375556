"""The runs log: scoring runs, syncs and deliveries, and how each ended.

A weekly run's status tells the truth (docs/architecture.md, "Run states"): `running`, then
`succeeded` (everything delivered), `delivering` (everything queued, some messages still on
their way: the sweep turns it into `succeeded` once they are), `failed` (retried by the
scheduler), `blocked` (a refusal retrying cannot fix), `interrupted` (SIGTERM) or `abandoned`
(its worker died). Leases (one weekly run per period at a time) are in leases.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.outbox import OUTBOX
from scoring.store.tables import Run, utcnow

RUNS = Run.__table__
RUN_STATUSES = (
    "running",
    "succeeded",
    "delivering",
    "failed",
    "blocked",
    "interrupted",
    "abandoned",
)
DONE = ("succeeded", "delivering")  # a period with one of these needs no new run


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


def start_run(
    engine: Engine,
    kind: str,
    period: str | None = None,
    *,
    transport: str | None = None,
    holder: str | None = None,
    attempt: int = 1,
) -> int:
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
                transport=transport,
                holder=holder,
                attempt=attempt,
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
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
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


def set_status(
    engine: Engine, run_id: int, status: str, *, was: tuple[str, ...], error: str | None = None
) -> bool:
    """Move a run from one of the statuses `was` to `status` (False if it had moved on)."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow()}
    if error is not None:
        values["error"] = error[:2000]
    stmt = sa.update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(was)).values(**values)
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def period_runs(engine: Engine, period: str, kind: str = "weekly") -> list[dict[str, Any]]:
    """Every run of a period, oldest first."""
    query = sa.select(RUNS).where(RUNS.c.kind == kind, RUNS.c.period == period)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(RUNS.c.id)).mappings()]


def period_done(engine: Engine, period: str, transport: str = "slack") -> bool:
    """Whether the period had a weekly run that queued everything: a Slack worker counts only
    runs that delivered through Slack (a terminal run printed the messages, it did not send
    them); runs from before transports were recorded count as Slack."""
    query = sa.select(sa.func.count()).where(
        RUNS.c.kind == "weekly", RUNS.c.period == period, RUNS.c.status.in_(DONE)
    )
    if transport == "slack":
        query = query.where(sa.or_(RUNS.c.transport.is_(None), RUNS.c.transport == "slack"))
    with engine.connect() as conn:
        return bool(conn.execute(query.select_from(RUNS)).scalar())


def open_rows(engine: Engine, period: str, transport: str = "slack") -> list[dict[str, Any]]:
    """The period's messages not yet delivered through `transport` (key, status, error, next
    attempt): what keeps a run `delivering`."""
    statuses = ["pending", "sending"] + (["printed"] if transport == "slack" else [])
    query = (
        sa.select(
            OUTBOX.c.key,
            OUTBOX.c.status,
            OUTBOX.c.error,
            OUTBOX.c.next_attempt_at,
            OUTBOX.c.updated_at,
        )
        .where(OUTBOX.c.period == period, OUTBOX.c.status.in_(statuses))
        .order_by(OUTBOX.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def delivering_runs(engine: Engine) -> list[dict[str, Any]]:
    query = sa.select(RUNS).where(RUNS.c.kind == "weekly", RUNS.c.status == "delivering")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(RUNS.c.id)).mappings()]


def dead_runs(engine: Engine, live: set[str], started_before: datetime) -> list[dict[str, Any]]:
    """`running` weekly runs whose worker holds no live lease: it died without saying so."""
    query = sa.select(RUNS).where(
        RUNS.c.kind == "weekly",
        RUNS.c.status == "running",
        RUNS.c.started_at < started_before,
        sa.or_(RUNS.c.holder.is_(None), RUNS.c.holder.not_in(sorted(live) or [""])),
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(RUNS.c.id)).mappings()]


def interrupt_runs_of(engine: Engine, holder: str) -> list[int]:
    """A stopping worker's runs still `running` become `interrupted`."""
    query = sa.select(RUNS.c.id).where(RUNS.c.status == "running", RUNS.c.holder == holder)
    with engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    return [i for i in ids if set_status(engine, i, "interrupted", was=("running",))]


def abandon_running(engine: Engine, period: str) -> list[int]:
    """Under the period's lease, with no run of ours going: every `running` run of the period
    is a dead one (its worker died, or its end could not be written while the database was
    away)."""
    ids = [r["id"] for r in period_runs(engine, period) if r["status"] == "running"]
    return [i for i in ids if set_status(engine, i, "abandoned", was=("running",))]
