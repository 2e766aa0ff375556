"""Which alerts a CSM has actually seen: the cooldown starts from these, not from decisions.

An alert is shown when the DM carrying it was delivered to Slack with the account in its full
list (not in "and N more", not added later by an update), or printed by the terminal transport
(healthbot run without Slack, as the demo is: whoever runs it reads the DMs there), or when the
owner opened the account from the DM's full list. Everything else is considered again by the
next run (docs/architecture.md, "The cooldown rule").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from scoring.store.alert_log import ALERT_LOG, history_query, read_history
from scoring.store.tables import NAIVE_UTC, utcnow

HOW = ("dm", "printed", "opened", "replayed")


class AlertShown(SQLModel, table=True):
    """An account's alerts of one period reached its owner's eyes (once per period)."""

    __tablename__ = "alert_shown"

    period: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    outbox_key: str | None = None
    # "dm": in the full list of the DM delivered to Slack; "printed": of the DM the terminal
    # transport printed; "opened": the owner clicked it in the DM's full list; "replayed": a
    # history the demo rebuilt (bot/cli/replayed_history.py)
    how: str
    shown_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)


ALERT_SHOWN = AlertShown.__table__


def insert_shown(
    conn: Connection,
    period: str,
    account_ids: Iterable[str],
    how: str,
    outbox_key: str | None = None,
    when: dt.datetime | None = None,
) -> int:
    """Record accounts as shown inside the caller's transaction (so it commits with the
    delivery that showed them); accounts already shown this period keep their first record."""
    if how not in HOW:
        raise ValueError(f"how must be one of {HOW}, not {how!r}")
    ids = sorted({str(a) for a in account_ids})
    if not ids:
        return 0
    rows = [
        {
            "period": period,
            "account_id": a,
            "outbox_key": outbox_key,
            "how": how,
            "shown_at": when or utcnow(),
        }
        for a in ids
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ALERT_SHOWN).on_conflict_do_nothing(
        index_elements=["period", "account_id"]
    )
    return len(conn.execute(stmt.returning(ALERT_SHOWN.c.account_id), rows).all())


def mark_shown(engine: Engine, period: str, account_id: str, how: str = "opened") -> bool:
    """The owner opened an account from a DM's full list: its alerts now count as shown."""
    with engine.begin() as conn:
        return insert_shown(conn, period, [account_id], how) == 1


def listed_accounts(value: str | None) -> list[str]:
    """The JSON list of account ids an outbox row stores (`accounts`, `posted_accounts`)."""
    return [str(a) for a in json.loads(value)] if value else []


def shown_alert_history(engine: Engine, before: dt.date) -> pd.DataFrame:
    """Alerts that were shown, decided before `before`: what the cooldown compares against
    (columns: scoring.decisions.alert_schema.HISTORY_COLUMNS)."""
    shown = sa.exists().where(
        ALERT_SHOWN.c.period == ALERT_LOG.c.period,
        ALERT_SHOWN.c.account_id == ALERT_LOG.c.account_id,
    )
    return read_history(engine, history_query(before).where(shown))
