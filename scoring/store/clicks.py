"""Button clicks on alerts and cards: acknowledge, snooze, log outreach.

Snoozes feed the cooldown (scoring.decisions.alert_cooldown.apply_cooldown), `alert_state` is what a
card shows about past clicks, and the intervention analysis reads outreach notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.store.tables import NAIVE_UTC, utcnow

ACTION_KINDS = ("ack", "snooze", "outreach")


class AccountAction(SQLModel, table=True):
    """A button click on an alert or card: acknowledge, snooze, log outreach."""

    __tablename__ = "account_actions"
    __table_args__ = (sa.Index("ix_account_actions_account", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str
    kind: str  # ack | snooze | outreach
    user_id: str | None = None
    user_email: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    until: dt.date | None = None  # snooze end (inclusive)
    note: str | None = Field(default=None, sa_type=sa.Text)
    outcome: str | None = None
    period: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None


ACTIONS = AccountAction.__table__


def record_action(engine: Engine, account_id: str, kind: str, **values: Any) -> int:
    """Store one click (`kind` one of ACTION_KINDS, `values` the other columns); returns its id."""
    if kind not in ACTION_KINDS:
        raise ValueError(f"unknown action kind {kind!r}")
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(ACTIONS).values(
                account_id=account_id, kind=kind, created_at=utcnow(), **values
            )
        )
        return int(result.inserted_primary_key[0])


def load_actions(engine: Engine, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every click (of the given accounts), oldest first, one column per table column."""
    query = sa.select(ACTIONS).order_by(ACTIONS.c.created_at, ACTIONS.c.id)
    if account_ids is not None:
        query = query.where(ACTIONS.c.account_id.in_(list(account_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in ACTIONS.columns])


def snoozes(engine: Engine) -> pd.DataFrame:
    """(account_id, until) of every snooze, for scoring.decisions.alert_cooldown.apply_cooldown."""
    actions = load_actions(engine)
    mine = actions[actions["kind"] == "snooze"]
    return mine[["account_id", "until"]].reset_index(drop=True)


def alert_state(engine: Engine, account_id: str, today: dt.date) -> dict[str, Any]:
    """What a card shows: last acknowledgement, an active snooze, the last outreach note."""
    actions = load_actions(engine, [account_id])
    state: dict[str, Any] = {}
    acks = actions[actions["kind"] == "ack"]
    if len(acks):
        last = acks.iloc[-1]
        state["acknowledged_by"] = last["user_email"] or last["user_id"]
        state["acknowledged_at"] = str(last["created_at"])[:16]
    until = pd.to_datetime(actions["until"], errors="coerce")
    snz = actions[((actions["kind"] == "snooze") & (until >= pd.Timestamp(today))).to_numpy()]
    if len(snz):
        state["snoozed_until"] = str(snz.iloc[-1]["until"])
    notes = actions[actions["kind"] == "outreach"]
    if len(notes):
        last = notes.iloc[-1]
        outcome = f" ({last['outcome']})" if last["outcome"] else ""
        state["last_note"] = f"{last['note']}{outcome}"
    return state
