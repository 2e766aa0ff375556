"""What a period's digests are built from, read from the store once.

The weekly run already holds the period's view; it hands it in here so the digest reads only
what the view does not carry (account ARR, the last signal dates behind the stale list, twelve
weeks of snapshot scores for the trend). Rendering then needs no database at all, which is
what lets `healthbot digest --preview` and the weekly run share one renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.batch.views import PeriodView, last_signal_dates
from scoring.config import Model
from scoring.decisions.digest_trend import trend_periods
from scoring.decisions.weekly import stale_days
from scoring.store import load_accounts
from scoring.store.bulk import Kind
from scoring.store.snapshots import snapshot_rows

TREND_TYPES: dict[str, Kind] = {
    "period": "str",
    "account_id": "str",
    "score_shown": "float",
    "band_rank": "int",
}


@dataclass(frozen=True)
class DigestInputs:
    """A period's view plus the few store reads its digests add to it."""

    view: PeriodView
    as_of: date
    accounts: pd.DataFrame
    stale: pd.Series
    trend_periods: list[str]
    trend_snapshots: pd.DataFrame


def load_digest_inputs(
    engine: Engine,
    model: Model,
    view: PeriodView,
    as_of: date | None = None,
    accounts: pd.DataFrame | None = None,
) -> DigestInputs:
    """`as_of` defaults to the period's own scoring date; `accounts` when the caller has them."""
    as_of = as_of or pd.Timestamp(view.scores["as_of"].max()).date()
    periods = trend_periods(view.period)
    return DigestInputs(
        view,
        as_of,
        load_accounts(engine) if accounts is None else accounts,
        stale_days(last_signal_dates(engine), as_of, model.alerts.stale_days),
        periods,
        _trend_snapshots(engine, periods),
    )


def _trend_snapshots(engine: Engine, periods: list[str]) -> pd.DataFrame:
    """Only the four snapshot columns the trend needs: twelve weeks of 100,000 accounts stay
    a small read (load_snapshots would bring every metric row along)."""
    with engine.connect() as conn:
        return snapshot_rows(conn, "score_snapshots", TREND_TYPES, periods)
