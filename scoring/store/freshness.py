"""Each metric's data freshness per account and period (scoring/decisions/freshness.py),
written beside the period's snapshot, so a card reads its account's rows by the primary key
instead of scanning signals on every lookup."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.store.bulk import execute, write_frame
from scoring.store.bulk.kinds import Kind
from scoring.store.db import SQLITE_BEGIN

FRESHNESS_TYPES: dict[str, Kind] = {
    "period": "str",
    "account_id": "str",
    "metric": "str",
    "latest": "date",
    "cadence_days": "float",
    "age_days": "int",
    "stale": "bool",
    "dates": "int",
}


class MetricFreshness(SQLModel, table=True):
    """How old a metric's latest data was when a period was scored, and whether it is stale."""

    __tablename__ = "metric_freshness"

    period: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    latest: dt.date
    cadence_days: float | None = None
    age_days: int
    stale: bool
    # Distinct dates of the signal in the rows read (NULL before migration 0012): whether a
    # silent signal was a regular feed (scoring/decisions/feed_stale.py).
    dates: int | None = None


FRESHNESS = MetricFreshness.__table__


def save_freshness(engine: Engine, period: str, frame: pd.DataFrame) -> int:
    """Replace `period`'s freshness rows with `frame` (scoring.decisions.freshness columns)."""
    rows = frame.assign(period=period)
    if "dates" not in rows:  # unknown: never read as a regular feed that stopped
        rows = rows.assign(dates=pd.Series(pd.NA, index=rows.index, dtype="Int64"))
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
        with conn.begin():
            sql = "DELETE FROM metric_freshness WHERE period = :period"
            execute(conn, sql, {"period": period}).close()
            return write_frame(conn, "metric_freshness", rows, FRESHNESS_TYPES) if len(rows) else 0


def account_freshness(conn: sa.Connection, account_id: str, period: str) -> list[dict[str, Any]]:
    """One account's rows of a period, by metric (a primary-key lookup, cheap per card)."""
    c = FRESHNESS.c
    query = sa.select(c.metric, c.latest, c.cadence_days, c.age_days, c.stale).where(
        c.period == period, c.account_id == account_id
    )
    return [
        {
            "metric": r.metric,
            "latest": str(r.latest)[:10],
            "cadence_days": None if r.cadence_days is None else float(r.cadence_days),
            "age_days": int(r.age_days),
            "stale": bool(r.stale),
        }
        for r in conn.execute(query)
    ]


def stale_freshness(engine: Engine, period: str) -> pd.DataFrame:
    """A period's stale rows (scoring.decisions.freshness columns): all the weekly decisions
    need to find stopped feeds (a stopped feed is always stale), a small share of the rows."""
    c = FRESHNESS.c
    columns = [c.account_id, c.metric, c.latest, c.cadence_days, c.age_days, c.stale, c.dates]
    query = sa.select(*columns).where(c.period == period, c.stale.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(FRESHNESS_TYPES)[1:])
    return frame.assign(latest=pd.to_datetime(frame["latest"]))
