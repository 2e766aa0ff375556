"""What people did and what the system told them: sent alerts, button clicks, CSM input.

`alert_log` feeds the cooldown (what was sent, at which score and band); `account_actions`
holds acknowledgements, snoozes and outreach notes (cooldown, cards, the intervention
analysis); `csm_inputs` holds CSM notes and score overrides with who, when and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.store.tables import utcnow

NAIVE_UTC = sa.DateTime()
ACTION_KINDS = ("ack", "snooze", "outreach")


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


ALERT_LOG = AlertLog.__table__
ACTIONS = AccountAction.__table__
CSM_INPUTS = CsmInput.__table__


def record_alerts(
    engine: Engine,
    alerts: pd.DataFrame,
    period: str,
    sent_on: dt.date,
    run_id: int | None = None,
    keys: dict[str, str] | None = None,
) -> int:
    """Remember the alerts of a run (columns of scoring.decisions.alerts.ALERT_COLUMNS)."""
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


def alert_history(engine: Engine, before: dt.date) -> pd.DataFrame:
    """Alerts sent before a date (scoring.decisions.alerts.HISTORY_COLUMNS) for the cooldown."""
    query = sa.select(
        ALERT_LOG.c.account_id,
        ALERT_LOG.c.rule,
        ALERT_LOG.c.sent_on,
        ALERT_LOG.c.score_shown,
        ALERT_LOG.c.band_rank,
    ).where(ALERT_LOG.c.sent_on < before)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["account_id", "rule", "sent_on", "score_shown", "band_rank"])


def record_action(engine: Engine, account_id: str, kind: str, **values: Any) -> int:
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
    query = sa.select(ACTIONS).order_by(ACTIONS.c.created_at, ACTIONS.c.id)
    if account_ids is not None:
        query = query.where(ACTIONS.c.account_id.in_(list(account_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in ACTIONS.columns])


def snoozes(engine: Engine) -> pd.DataFrame:
    """(account_id, until) of every snooze, for scoring.decisions.alerts.apply_cooldown."""
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


CHAMPION_VALUES = {"in_place": 2, "at_risk": 1, "left": 0}


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
        result = conn.execute(
            sa.insert(CSM_INPUTS).values(
                account_id=account_id,
                kind="note",
                user_id=user_id,
                user_email=user_email,
                created_at=utcnow(),
                entered_on=entered_on,
                valid_until=valid_until,
                sentiment=sentiment,
                champion_status=champion_status,
                reason=reason,
            )
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
        return int(result.inserted_primary_key[0])


def add_override(
    engine: Engine,
    account_id: str,
    *,
    score: float,
    reason: str,
    entered_on: dt.date,
    valid_until: dt.date,
    user_id: str | None = None,
    user_email: str | None = None,
) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            sa.insert(CSM_INPUTS).values(
                account_id=account_id,
                kind="override",
                user_id=user_id,
                user_email=user_email,
                created_at=utcnow(),
                entered_on=entered_on,
                valid_until=valid_until,
                override_score=float(score),
                reason=reason,
            )
        )
        return int(result.inserted_primary_key[0])


def load_csm_inputs(engine: Engine, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    query = sa.select(CSM_INPUTS).order_by(CSM_INPUTS.c.id)
    if account_ids is not None:
        query = query.where(CSM_INPUTS.c.account_id.in_(list(account_ids)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in CSM_INPUTS.columns])


def audit_trail(engine: Engine, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Who did what, when and why, for every account: CSM input and button clicks together."""
    inputs = load_csm_inputs(engine, account_ids)
    actions = load_actions(engine, account_ids)
    a = pd.DataFrame(
        {
            "when": inputs["created_at"],
            "account_id": inputs["account_id"],
            "who": inputs["user_email"].fillna(inputs["user_id"]),
            "what": inputs["kind"],
            "detail": _input_detail(inputs),
            "why": inputs["reason"],
            "valid_until": inputs["valid_until"],
        }
    )
    b = pd.DataFrame(
        {
            "when": actions["created_at"],
            "account_id": actions["account_id"],
            "who": actions["user_email"].fillna(actions["user_id"]),
            "what": actions["kind"],
            "detail": actions["outcome"].fillna(""),
            "why": actions["note"].fillna(""),
            "valid_until": actions["until"],
        }
    )
    frames = [f for f in (a, b) if len(f)]
    if not frames:
        return a.iloc[0:0]
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values("when", kind="stable")
        .reset_index(drop=True)
    )


def _input_detail(inputs: pd.DataFrame) -> pd.Series:
    champion = {v: k.replace("_", " ") for k, v in CHAMPION_VALUES.items()}
    sentiment = "sentiment " + inputs["sentiment"].astype("Int64").astype(str)
    champ = "champion " + inputs["champion_status"].map(champion).fillna("")
    score = "score set to " + inputs["override_score"].astype(str)
    note = (
        sentiment.where(inputs["sentiment"].notna(), "")
        + "; "
        + champ.where(inputs["champion_status"].notna(), "")
    ).str.strip("; ")
    return score.where(inputs["kind"] == "override", note)


class SnapshotOverride(SQLModel, table=True):
    """The computed score of a snapshot whose effective score is an override."""

    __tablename__ = "snapshot_overrides"

    period: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    override_id: int
    computed_score: float | None = None
    computed_band: str


SNAPSHOT_OVERRIDES = SnapshotOverride.__table__


def save_snapshot_overrides(engine: Engine, period: str, scores: pd.DataFrame) -> int:
    """Replace a period's record of overridden accounts (from decisions.overrides)."""
    hit = scores[scores["override_id"].notna()]
    rows = [
        {
            "period": period,
            "account_id": str(r["account_id"]),
            "override_id": int(r["override_id"]),
            "computed_score": None if pd.isna(r["computed_score"]) else float(r["computed_score"]),
            "computed_band": str(r["computed_band"]),
        }
        for r in hit.to_dict("records")
    ]
    with engine.begin() as conn:
        conn.execute(sa.delete(SNAPSHOT_OVERRIDES).where(SNAPSHOT_OVERRIDES.c.period == period))
        if rows:
            conn.execute(sa.insert(SNAPSHOT_OVERRIDES), rows)
    return len(rows)


def load_snapshot_overrides(engine: Engine, periods: Sequence[str]) -> pd.DataFrame:
    """Overridden snapshots with who set the override, why and until when."""
    o, c = SNAPSHOT_OVERRIDES, CSM_INPUTS
    query = (
        sa.select(
            o.c.period,
            o.c.account_id,
            o.c.override_id,
            o.c.computed_score,
            o.c.computed_band,
            sa.func.coalesce(c.c.user_email, c.c.user_id).label("override_by"),
            c.c.reason.label("override_reason"),
            c.c.valid_until.label("override_until"),
        )
        .join(c, c.c.id == o.c.override_id)
        .where(o.c.period.in_(list(periods)))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(
        rows,
        columns=[
            "period",
            "account_id",
            "override_id",
            "computed_score",
            "computed_band",
            "override_by",
            "override_reason",
            "override_until",
        ],
    )
