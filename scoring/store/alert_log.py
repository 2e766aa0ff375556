"""The alert log: every alert that went out, with the score and band it showed.

The cooldown (scoring.decisions.alerts) reads it back to decide whether a later week's alert
for the same account and rule is new enough to send; the App Home lists the open ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel


class AlertLog(SQLModel, table=True):
    """One alert that went out: the cooldown compares later weeks against it."""

    __tablename__ = "alert_log"
    __table_args__ = (sa.Index("ix_alert_log_account", "account_id", "rule"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = None
    period: str
    account_id: str
    rule: str
    severity: str
    reason: str = Field(sa_type=sa.Text)
    score_shown: float | None = None
    band_rank: int | None = None
    sent_on: dt.date
    outbox_key: str | None = None


ALERT_LOG = AlertLog.__table__


def record_alerts(
    engine: Engine,
    alerts: pd.DataFrame,
    period: str,
    sent_on: dt.date,
    run_id: int | None = None,
    keys: dict[str, str] | None = None,
) -> int:
    """Remember the alerts of a run (columns of scoring.decisions.alert_schema.ALERT_COLUMNS)."""
    if alerts.empty:
        return 0
    rows = [
        {
            "run_id": run_id,
            "period": period,
            "account_id": str(r["account_id"]),
            "rule": r["rule"],
            "severity": r["severity"],
            "reason": r["reason"],
            "score_shown": None if pd.isna(r["score_shown"]) else float(r["score_shown"]),
            "band_rank": None if pd.isna(r["band_rank"]) else int(r["band_rank"]),
            "sent_on": sent_on,
            "outbox_key": (keys or {}).get(str(r["account_id"])),
        }
        for r in alerts.to_dict("records")
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.delete(ALERT_LOG).where(
                ALERT_LOG.c.period == period,
                ALERT_LOG.c.account_id.in_(sorted({r["account_id"] for r in rows})),
            )
        )
        conn.execute(sa.insert(ALERT_LOG), rows)
    return len(rows)


def history_query(before: dt.date) -> sa.Select:
    """Alerts decided before a date, in the cooldown's columns (alert_schema.HISTORY_COLUMNS)."""
    return sa.select(
        ALERT_LOG.c.account_id,
        ALERT_LOG.c.rule,
        ALERT_LOG.c.sent_on,
        ALERT_LOG.c.score_shown,
        ALERT_LOG.c.band_rank,
    ).where(ALERT_LOG.c.sent_on < before)


def read_history(engine: Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["account_id", "rule", "sent_on", "score_shown", "band_rank"])


def alert_history(engine: Engine, before: dt.date) -> pd.DataFrame:
    """Alerts decided before a date, shown or not (the validation's alert precision); the
    cooldown reads only those shown (alert_shown.shown_alert_history)."""
    return read_history(engine, history_query(before))


def owner_alerts(
    engine: Engine, account_ids: list[str], period: str | None = None
) -> tuple[str | None, pd.DataFrame]:
    """(period, its alerts on these accounts: account_id, rule, reason) for an owner's full
    list of a week's alerts; `period` None: the latest period with any alert. Reads through
    the account index, in chunks, never the whole log."""
    columns = ["account_id", "rule", "reason"]
    with engine.connect() as conn:
        if period is None:
            period = conn.execute(sa.select(sa.func.max(ALERT_LOG.c.period))).scalar()
        rows: list[Any] = []
        for start in range(0, len(account_ids) if period else 0, 500):
            chunk = account_ids[start : start + 500]
            query = (
                sa.select(ALERT_LOG.c.account_id, ALERT_LOG.c.rule, ALERT_LOG.c.reason)
                .where(ALERT_LOG.c.account_id.in_(chunk), ALERT_LOG.c.period == period)
                .order_by(ALERT_LOG.c.id)
            )
            rows += conn.execute(query).all()
    return period, pd.DataFrame([tuple(r) for r in rows], columns=columns)
