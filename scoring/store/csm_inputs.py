"""CSM input: notes (sentiment, champion status) and the table that also holds overrides.

A note becomes signal rows (`csm_sentiment`, `champion_status`) that expire with it, so the
engine weighs a CSM's judgement like any other signal. Overrides share the `csm_inputs` table
(same who/when/why/until audit columns) and are written by scoring.store.overrides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.store.tables import NAIVE_UTC, utcnow

CHAMPION_VALUES = {"in_place": 2, "at_risk": 1, "left": 0}
CHAMPION_NAMES = {value: name for name, value in CHAMPION_VALUES.items()}


class CsmInput(SQLModel, table=True):
    """A CSM's judgement (sentiment, champion status) or a score override, audited."""

    __tablename__ = "csm_inputs"
    __table_args__ = (sa.Index("ix_csm_inputs_account", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str
    kind: str  # note | override
    user_id: str | None = None
    user_email: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    entered_on: dt.date
    valid_until: dt.date
    sentiment: int | None = None
    champion_status: int | None = None
    override_score: float | None = None
    reason: str = Field(sa_type=sa.Text)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)


CSM_INPUTS = CsmInput.__table__


def insert_input(conn: sa.Connection, **values: object) -> int:
    """One `csm_inputs` row (a note or an override), stamped now; returns its id."""
    result = conn.execute(sa.insert(CSM_INPUTS).values(created_at=utcnow(), **values))
    return int(result.inserted_primary_key[0])


def add_note(
    engine: Engine,
    account_id: str,
    *,
    reason: str,
    entered_on: dt.date,
    valid_until: dt.date,
    sentiment: int | None = None,
    champion_status: int | None = None,
    user_id: str | None = None,
    user_email: str | None = None,
) -> int:
    """Store a CSM note and the signals it becomes (csm_sentiment, champion_status), together.

    The signal rows are dated the day of entry and carry `valid_until`, so the engine stops
    using them when the note expires; the model file decides their weight.
    """
    signals = [
        (name, value)
        for name, value in (("csm_sentiment", sentiment), ("champion_status", champion_status))
        if value is not None
    ]
    with engine.begin() as conn:
        note_id = insert_input(
            conn,
            account_id=account_id,
            kind="note",
            user_id=user_id,
            user_email=user_email,
            entered_on=entered_on,
            valid_until=valid_until,
            sentiment=sentiment,
            champion_status=champion_status,
            reason=reason,
        )
        for name, value in signals:
            key = {"account_id": account_id, "signal": name, "date": entered_on}
            conn.execute(
                sa.text(
                    "DELETE FROM signals WHERE account_id = :account_id AND"
                    " signal = :signal AND date = :date"
                ),
                key,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO signals (account_id, signal, date, value, source, valid_until)"
                    " VALUES (:account_id, :signal, :date, :value, 'csm', :valid_until)"
                ),
                key | {"value": float(value), "valid_until": valid_until},
            )
        return note_id


def load_csm_inputs(engine: Engine, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every note and override (of the given accounts) in entry order, revoked ones included."""
    query = sa.select(CSM_INPUTS).order_by(CSM_INPUTS.c.id)
    if account_ids is not None:
        query = query.where(CSM_INPUTS.c.account_id.in_(list(account_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in CSM_INPUTS.columns])
