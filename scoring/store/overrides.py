"""Score overrides: a CSM setting an account's score by hand, and which snapshots used one.

The override itself is a `csm_inputs` row (kind "override", audited like a note);
`snapshot_overrides` keeps the score the engine computed underneath, so a period's view can
show both and say who overrode it, why and until when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.errors import DataError
from scoring.store.csm_inputs import CSM_INPUTS, insert_input


def override_problem(
    score: float, entered_on: dt.date, valid_until: dt.date, max_days: int
) -> tuple[str, str] | None:
    """(field, words) of what makes an override unacceptable, or None. One rule for every way
    an override is stored: a score from 0 to 100 that runs from its day of entry to at most
    `max_days` (the model file's `access.override_max_days`) ahead, so none outlives a review."""
    latest = entered_on + dt.timedelta(days=max_days)
    if not 0 <= score <= 100:
        return "score", "A score from 0 to 100."
    if valid_until < entered_on:
        return "until", "Pick a date from today on."
    if valid_until > latest:
        return "until", f"An override runs at most until {latest}: pick that day or sooner."
    return None


def add_override(
    engine: Engine,
    account_id: str,
    *,
    score: float,
    reason: str,
    entered_on: dt.date,
    valid_until: dt.date,
    max_days: int,
    user_id: str | None = None,
    user_email: str | None = None,
) -> int:
    """Store an override of `account_id`'s score until `valid_until`; returns its id. Raises
    DataError (nothing stored) past `max_days` ahead or outside 0-100: the cap holds for every
    writer, not only for the Slack modal."""
    problem = override_problem(score, entered_on, valid_until, max_days)
    if problem:
        raise DataError(
            f"override of {account_id} refused (score {score}, until {valid_until}): {problem[1]}"
        )
    with engine.begin() as conn:
        return insert_input(
            conn,
            account_id=account_id,
            kind="override",
            user_id=user_id,
            user_email=user_email,
            entered_on=entered_on,
            valid_until=valid_until,
            override_score=float(score),
            reason=reason,
        )


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
