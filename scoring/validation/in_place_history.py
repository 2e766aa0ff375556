"""Backtest periods whose signals are (partly) read in place: a warehouse `table` source.

Such signals have no rows in healthbot's store, so the backtest cannot slice them per period
from memory as it does the others (`windows.py`); each period asks their backend instead, as
the weekly run does: the window aggregates (one compiled query per period, every in-place
metric at once), the metric-drop rule's weekly windows and champion value
(`scoring.decisions.placed_history`), and the latest date per account for the stale rule (one
GROUP BY per period). Never a query per account; never a row fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.decisions.placed_history import InPlaceSignals
from scoring.engine.signal_table import EPOCH
from scoring.engine.window_aggregates import AggregateSource, FrameSource, SplitSource
from scoring.pushdown.in_place import Placement
from scoring.validation.windows import SignalWindows

NONE = np.iinfo(np.int64).min


@dataclass(frozen=True)
class PlacedPeriods:
    """The placement (connections to the in-place sources) and what the decisions read."""

    placement: Placement
    signals: InPlaceSignals

    @classmethod
    def of(cls, placement: Placement | None) -> PlacedPeriods | None:
        """None without in-place signals: the backtest then reads rows only, as before."""
        if placement is None or not placement:
            return None
        first = placement.first_day()
        return cls(
            placement, InPlaceSignals(placement.signals, placement.aggregate_source(), first)
        )


def scoring_input(
    rows: pd.DataFrame, layout: str, placed: PlacedPeriods | None
) -> pd.DataFrame | AggregateSource:
    """What `score_accounts` reads for one period: its rows, plus the in-place signals'
    aggregates computed by their backend."""
    if placed is None:
        return rows
    signals = placed.signals
    return SplitSource([(signals.signals, signals.source)], FrameSource(rows, layout))


def decision_signals(placed: PlacedPeriods | None) -> InPlaceSignals | None:
    """What the weekly decisions take as `in_place` (None: every signal is in the rows)."""
    return None if placed is None else placed.signals


def last_days(
    windows: SignalWindows, as_of: date, lookback: int, placed: PlacedPeriods | None
) -> np.ndarray:
    """Latest signal day number per account (windows' order) within (as_of - lookback,
    as_of], rows and in-place signals together (int64 min: none)."""
    days = windows.last_day(as_of, lookback)
    if placed is None:
        return days
    latest = placed.placement.latest_dates(as_of, since=as_of - timedelta(days=lookback))
    if not len(latest):
        return days
    stamps = pd.to_datetime(pd.Series(latest.to_numpy())).to_numpy("datetime64[D]")
    numbers = pd.Series((stamps - EPOCH).astype(np.int64), index=latest.index.astype(str))
    theirs = numbers.reindex(windows.account_ids.astype(str)).fillna(NONE).to_numpy(np.int64)
    return np.maximum(days, theirs)
