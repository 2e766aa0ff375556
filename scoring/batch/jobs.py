"""Scoring jobs at the storage edge: load from the store, run the engine, save snapshots."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.decisions.alert_schema import CHAMPION_SIGNAL
from scoring.decisions.freshness import metric_freshness
from scoring.decisions.overrides import active_overrides, apply_overrides
from scoring.engine.score import Scores, score_accounts
from scoring.engine.window_aggregates import AggregateSource, FrameSource
from scoring.periods import period_of
from scoring.pushdown import EngineRunner, SqlSource
from scoring.pushdown.in_place import Placement, place_signals
from scoring.store import load_accounts, save_snapshots
from scoring.store.csm_inputs import load_csm_inputs
from scoring.store.freshness import save_freshness
from scoring.store.overrides import save_snapshot_overrides
from scoring.store.reads import load_signal_windows


@dataclass(frozen=True)
class ScoredPeriod:
    period: str
    as_of: date
    scores: Scores

    def summary(self) -> str:
        frame = self.scores.accounts
        counts = frame["band"].value_counts()
        bands = ", ".join(f"{name} {int(n)}" for name, n in counts.items())
        left_out = len(self.scores.excluded)
        churned = f"; {left_out} churned left out" if left_out else ""
        return (
            f"{self.period} (as of {self.as_of}): {len(frame)} accounts scored"
            f"{churned} — {bands or 'no accounts'}"
        )


def lookback_days(model: Model) -> int:
    """How far back a scoring pass reads: the longest metric window."""
    return max(m.window_days for m in model.metrics.values())


def signal_windows(model: Model, for_alerts: bool = False) -> dict[str, int]:
    """Days of history each signal needs: its longest window, reaching `history_weeks` further
    back when the metric-drop rule compares this week with the weeks before it."""
    drop = model.alerts.metric_drop if for_alerts else None
    out: dict[str, int] = {}
    for metric in model.metrics.values():
        days = drop.days_read(metric.window_days) if drop else metric.window_days
        out[metric.signal] = max(out.get(metric.signal, 0), days)
    if for_alerts and model.alerts.champion_left is not None:
        longest = max(m.window_days for m in model.metrics.values())
        out[CHAMPION_SIGNAL] = max(out.get(CHAMPION_SIGNAL, 0), longest + 7)
    return out


def alert_signals(model: Model) -> set[str]:
    """Signals an alert rule reads besides the metrics' (champion_left's)."""
    return {CHAMPION_SIGNAL} if model.alerts.champion_left is not None else set()


def placement_of(model: Model) -> Placement:
    """Which of the model's signals (and the alert rules') are read in place, connected."""
    return place_signals(model, alert_signals(model))


def signal_starts(model: Model, first: date, for_alerts: bool = False) -> dict[str, date]:
    """Per signal, the last day before the rows a pass from `first` on needs."""
    return {
        name: first - timedelta(days=days)
        for name, days in signal_windows(model, for_alerts).items()
    }


def load_model_signals(
    engine: Engine,
    model: Model,
    first: date,
    last: date,
    for_alerts: bool = False,
    skip: Collection[str] = (),
) -> pd.DataFrame:
    """Only the rows some metric (or alert rule) will look at: each signal with its own
    window, instead of the longest window for everything. `skip`: signals read in place."""
    starts = {
        name: start
        for name, start in signal_starts(model, first, for_alerts).items()
        if name not in skip
    }
    frame = load_signal_windows(engine, starts, last)
    for column in ("account_id", "signal"):
        frame[column] = frame[column].astype("category")
    return frame


def score_and_store(
    engine: Engine,
    model: Model,
    as_ofs: list[date],
    signals: pd.DataFrame | None = None,
    in_database: bool = False,
    placement: Placement | None = None,
    for_alerts: bool = False,
    accounts: pd.DataFrame | None = None,
) -> list[ScoredPeriod]:
    """Score each as-of date and replace its period's snapshot.

    By default one read of every row the windows need, aggregated in Python (the reference
    engine); `in_database` computes the aggregates in the database instead (`scoring.pushdown`),
    which on the row stores SQLite and PostgreSQL is not faster today (docs/architecture.md).
    Signals of in-place sources (`placement`, found from the model when None) are always
    aggregated by their own backend, freshness included; `signals` then holds the others
    (`for_alerts`: read with the alert rules' longer look-back, as the weekly run does).
    `accounts`: `load_accounts` as the caller read it already (the model's data checks), so
    100,000 accounts are not read twice; read here when None.
    """
    accounts = load_accounts(engine) if accounts is None else accounts
    placement = placement_of(model) if placement is None else placement
    if signals is None:
        # Freshness (each metric's latest date and usual cadence) still reads the rows' dates
        # in the database path: the cadence is a median of gaps, not yet compiled to SQL.
        signals = load_model_signals(
            engine, model, min(as_ofs), max(as_ofs), for_alerts, skip=placement.signals
        )
    stored: AggregateSource = (
        SqlSource(EngineRunner(engine)) if in_database else FrameSource(signals)
    )
    source = placement.source(stored)
    starts = signal_starts(model, min(as_ofs), for_alerts)
    inputs = load_csm_inputs(engine)
    out = []
    for as_of in as_ofs:
        scores = score_accounts(model, accounts, source, as_of)
        effective = apply_overrides(model, scores.accounts, active_overrides(inputs, as_of))
        period = period_of(as_of)
        save_snapshots(engine, period, as_of, model.version, effective, scores.metrics)
        save_snapshot_overrides(engine, period, effective)
        placed = placement.freshness(starts, as_of) if placement else None
        save_freshness(engine, period, metric_freshness(model, signals, as_of, placed))
        out.append(ScoredPeriod(period, as_of, replace(scores, accounts=effective)))
    return out
