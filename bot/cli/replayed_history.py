"""Replaying the alert rules over stored weeks: the reads `healthbot check --history` needs,
and a history of shown alerts for a store that was filled without weekly runs.

The demo scores twelve weeks of history in one go, then runs the weekly pipeline for its last
two. Without the alerts those history weeks would have sent, its first weekly run would alert
every account that slid during them at once (a backlog a running deployment never has, since
it alerted each one in the week its slide began) and nothing would be in cooldown.
`record_replayed_alerts` stores what the weekly decisions would have shown in those weeks, as
the weekly run stores them (`alert_log`, `alert_shown` with how = "replayed"), so the weekly
runs after it judge exactly as in week N of a deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.batch.jobs import signal_windows
from scoring.config import Model
from scoring.decisions.alert_schema import CHAMPION_SIGNAL
from scoring.store import load_accounts
from scoring.store.alert_log import record_alerts
from scoring.store.alert_shown import insert_shown, shown_alert_history
from scoring.store.reads import load_signal_windows
from scoring.validation.replay import Replay, replay_weeks


@dataclass(frozen=True)
class ReplayInputs:
    """What the weekly runs of `as_ofs` would read, for one or more model files."""

    accounts: pd.DataFrame
    signals: pd.DataFrame
    history: pd.DataFrame  # alerts shown before the first week (the cooldown's start)
    spans: list[dict[str, int]]  # per model: each signal's look-back, as the weekly run's


def load_replay_inputs(engine: Engine, models: Sequence[Model], as_ofs: list[date]) -> ReplayInputs:
    """One scan of the signals for every model: each signal from its own look-back before the
    first week (and the week before it, for its comparison), plus the stale rule's."""
    spans = [signal_windows(m, for_alerts=True) for m in models]
    starts: dict[str, date] = {}
    for span, model in zip(spans, models, strict=True):
        extra = 7 + (model.alerts.stale_days or 0)
        for name in span.keys() | {m.signal for m in model.metrics.values()} | {CHAMPION_SIGNAL}:
            start = as_ofs[0] - timedelta(days=span.get(name, max(span.values())) + extra)
            starts[name] = min(starts.get(name, start), start)
    return ReplayInputs(
        accounts=load_accounts(engine),
        signals=load_signal_windows(engine, starts, as_ofs[-1]),
        history=shown_alert_history(engine, before=as_ofs[0]),
        spans=spans,
    )


def replay_stored_weeks(
    inputs: ReplayInputs, model: Model, span: dict[str, int], as_ofs: list[date], reasons: bool
) -> Replay:
    return replay_weeks(
        model,
        inputs.accounts,
        inputs.signals,
        as_ofs,
        inputs.history,
        lookback=span,
        with_reasons=reasons,
    )


def record_replayed_alerts(engine: Engine, model: Model, as_ofs: list[date]) -> int:
    """Store the alerts the weekly runs of `as_ofs` would have shown; returns how many."""
    if not as_ofs:
        return 0
    inputs = load_replay_inputs(engine, [model], as_ofs)
    replay = replay_stored_weeks(inputs, model, inputs.spans[0], as_ofs, reasons=True)
    stored = 0
    for week in replay.weeks:
        if week.shown_alerts.empty:
            continue
        stored += record_alerts(engine, week.shown_alerts, week.period, week.as_of)
        with engine.begin() as conn:
            accounts = week.shown_alerts["account_id"].astype(str)
            insert_shown(conn, week.period, accounts, "replayed", when=None)
    return stored
