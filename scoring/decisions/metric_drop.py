"""Metric drops: a metric's raw value this week against what is usual for the account.

A score can hold steady while one input falls off a cliff (usage halves but the scale was
already at its floor, or other metrics make up for it), so the `metric_drop` alert looks at raw
values. But raw values are noisy (one extra ticket is "+100%"), so a move alerts only when it
is large three ways: against the account's own last `history_weeks` weeks (a robust z-score:
median and MAD of the metric's value on each of those weeks, through the engine's own
aggregates; `metric_noise`), in absolute terms (`min_change`, `min_base`, `percent`), and
after taking out what its whole segment did this week (a holiday dip moves everyone; a real
slider still stands out). With fewer than 4 weeks of history only the absolute minimums apply.

A metric whose window is longer than `recent_days` (7) is judged on its signal's last 7 days
against the same 7 days of each usual week, wherever the account has data most weeks: a slide
shows there within a week or two, while a 30-day mean moves only weeks later. Sparse signals (a
quarterly survey) keep the metric's own window. Several metrics slipping at once alert together
(`metric_moves.together`, `combined_z`) before any one of them is large alone.

Also here: the current/previous value of the champion signal, the input of `champion_left`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Metric, Model
from scoring.config.sections import MetricDrop
from scoring.decisions.alert_schema import CHAMPION_SIGNAL
from scoring.decisions.metric_history import (
    WeeklyWindows,
    data_start,
    group_codes,
    seen_by,
    weekly_values,
)
from scoring.decisions.metric_moves import Moves, judge_metric, metric_weights, together
from scoring.decisions.metric_noise import weekly_data
from scoring.decisions.placed_history import (
    InPlaceSignals,
    judged_recently,
    placed_last,
    placed_start,
    placed_weekly,
)
from scoring.engine.aggregates import AGGREGATES
from scoring.engine.signal_table import SignalTable, day_number

METRIC_DROP_COLUMNS = [
    "account_id",
    "metric",
    "usual",
    "raw",
    "change_percent",
    "segment_percent",
    "z",
    "history_weeks",
    "window_days",
]
CHAMPION_COLUMNS = ["account_id", "current", "previous"]

AccountIds = pd.DataFrame | pd.Index | pd.Series | Iterable[str]


def account_index(accounts: AccountIds) -> pd.Index:
    """Account ids as a string Index, from an accounts frame, an Index or any list of ids."""
    if isinstance(accounts, pd.DataFrame):
        return pd.Index(accounts["account_id"].astype(str).to_numpy(dtype=object))
    return pd.Index([str(a) for a in accounts], dtype=object)


def metric_drops(
    model: Model,
    accounts: AccountIds,
    signals: pd.DataFrame,
    as_of: date,
    layout: str = "long",
    segments: pd.Series | np.ndarray | None = None,
    in_place: InPlaceSignals | None = None,
) -> pd.DataFrame:
    """Metrics that moved the bad way by enough to tell a CSM (METRIC_DROP_COLUMNS).

    For a metric with window W and as-of day D, `raw` is its value over (D - W, D] and
    `usual` the median of the same window ending 1..history_weeks weeks earlier (not counted:
    weeks before the account's first signal, and sum/count weeks the data does not cover);
    W is `recent_days` instead where the metric is judged on its last days (`window_days`
    says which).
    `segments` (one label per account, e.g. the CRM segment; default: the whole portfolio)
    gives the common move that is taken out: `segment_percent` is the segment's median move
    this week, `change_percent` the account's move beyond it (against usual x that ratio).
    `z`: that move over the history's MAD x 1.4826 (shrunk towards the segment's typical
    spread), floored at min_change / z and one unit for whole numbers; sums and counts of whole
    events also face their Poisson tail (`metric_noise.noise_z`); NaN with under 4 history
    weeks, where it does not apply. `signals` must reach back `MetricDrop.days_read(W)` days.
    Skipped: `trend` metrics and accounts without a usual value. Empty when the model has no
    metric_drop rule. Rows: account order, then the biggest move first. `in_place`: signals
    not in `signals` but read where they are stored, week by week as aggregates.
    """
    rule = model.alerts.metric_drop
    ids = account_index(accounts)
    if rule is None or len(ids) == 0:
        return _empty_drops()
    metrics = {k: m for k, m in model.metrics.items() if m.aggregate != "trend"}
    longest = max((m.window_days for m in metrics.values()), default=0)
    table = SignalTable(signals, ids, layout)
    day, days = day_number(as_of), rule.days_read(longest)
    windows = WeeklyWindows(table, signals, day, days)
    start = data_start(signals, {m.signal for m in metrics.values()}, day - days + 1)
    start = placed_start(in_place, day - days + 1, start)
    weekly, recent = (
        placed_weekly(metrics, rule, in_place, ids, as_of, start) if in_place else ({}, {})
    )
    for key, metric in sorted(metrics.items(), key=lambda item: item[1].signal):
        if key in weekly:
            continue
        weekly[key] = weekly_values(metric, windows, rule.history_weeks, start)
        if judged_recently(metric, rule):
            short = metric.model_copy(update={"window_days": rule.recent_days})
            recent[key] = weekly_values(short, windows, rule.history_weeks, start)[0]
        if all(m.signal != metric.signal for k, m in metrics.items() if k not in weekly):
            windows.release(metric.signal)
    seen = seen_by([rows for _, rows in weekly.values()]) if weekly else None
    groups = group_codes(segments, len(ids))
    labels = None if segments is None else np.asarray(segments, dtype=object)
    judged: list[tuple[Moves, np.ndarray]] = []
    last_week: list[tuple[Moves, np.ndarray]] = []
    for key, metric in metrics.items():  # model order: ties keep the model's metric order
        values = weekly[key][0]
        weight = metric_weights(model, key, labels, len(ids))
        judged_on = [(values, metric.window_days)]  # (weeks + 1) x accounts, window days
        if key in recent:  # the last days where the account has data most weeks, else its own
            dense = weekly_data(recent[key], seen)
            short = np.where(dense, recent[key], np.nan)
            judged_on = [
                (short, rule.recent_days),
                (np.where(dense, np.nan, values), judged_on[0][1]),
            ]
        for vals, span in judged_on:
            cols = np.flatnonzero(np.isfinite(vals).any(axis=0))  # the accounts judged here
            if not len(cols):
                continue
            args = (key, metric, rule)
            judged.append((_judged(*args, vals, seen, groups, span, cols), weight))
            if rule.combined_z > 0:  # the same, a week earlier: has the slide gone on?
                earlier = None if seen is None else seen[1:]
                last_week.append((_judged(*args, vals[1:], earlier, groups, span, cols), weight))
    joint = together(judged, rule, last_week)
    parts = [
        move.rows(move.alone | (joint[i] if len(joint[i]) else False))
        for i, (move, _) in enumerate(judged)
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_drops()
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(account_id=ids.to_numpy()[out["_order"].to_numpy()])
    out = out.assign(_size=-out["change_percent"].abs())
    out = out.sort_values(["_order", "_size"], kind="stable")
    return out[METRIC_DROP_COLUMNS].reset_index(drop=True)


def _judged(
    key: str,
    metric: Metric,
    rule: MetricDrop,
    values: np.ndarray,
    seen: np.ndarray | None,
    groups: np.ndarray | None,
    window_days: int,
    cols: np.ndarray,
) -> Moves:
    """`judge_metric` on the accounts `cols` only (the others have no value on this window:
    the same answer for less work), placed back among all accounts."""
    n = values.shape[1]
    part = None if seen is None else seen[:, cols]
    codes = None if groups is None else groups[cols]
    move = judge_metric(key, metric, rule, values[:, cols], part, codes, window_days)
    return move if len(cols) == n else move.expand(cols, n)


def _empty_drops() -> pd.DataFrame:
    kinds = dict.fromkeys(METRIC_DROP_COLUMNS, float) | {"account_id": object, "metric": object}
    kinds["history_weeks"] = int
    kinds["window_days"] = int
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in kinds.items()})


def champion_values(
    model: Model,
    accounts: AccountIds,
    signals: pd.DataFrame,
    as_of: date,
    signal: str = CHAMPION_SIGNAL,
    layout: str = "long",
    in_place: InPlaceSignals | None = None,
) -> pd.DataFrame:
    """Latest `signal` value this week and last week, per account: the champion_left input.

    The look-back is the window of the metric(s) reading that signal (the longest, if several),
    else the longest metric window: a champion flag is sticky, so a value set weeks ago still
    holds. `previous` is the same look-back ending 7 days before `as_of`. NaN: no value.
    """
    ids = account_index(accounts)
    windows = [m.window_days for m in model.metrics.values() if m.signal == signal]
    window = max(windows or [m.window_days for m in model.metrics.values()])
    if in_place is not None and signal in in_place.signals:
        return pd.DataFrame(
            {
                "account_id": ids.to_numpy(),
                "current": placed_last(in_place, signal, ids, as_of, window),
                "previous": placed_last(in_place, signal, ids, as_of - timedelta(days=7), window),
            }
        )
    table = SignalTable(signals, ids, layout)
    day = day_number(as_of)
    last = AGGREGATES["last"]
    return pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "current": last(table.window(signal, day, window)),
            "previous": last(table.window(signal, day - 7, window)),
        }
    )
