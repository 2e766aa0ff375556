"""Metric drops: a metric's raw value this week against what is usual for the account.

A score can hold steady while one input falls off a cliff (usage halves but the scale was
already at its floor, or other metrics make up for it), so the `metric_drop` alert looks at raw
values. But raw values are noisy (one extra ticket is "+100%"), so a move alerts only when it
is large three ways: against the account's own last `history_weeks` weeks (a robust z-score:
median and MAD of the metric's window ending on each of those weeks, through the engine's own
aggregates), in absolute terms (`min_change`, `min_base`, `percent`), and after taking out
what its whole segment did this week (a holiday dip moves everyone; a real slider still
stands out). With fewer than 4 weeks of history only the absolute minimums apply.

Also here: the current/previous value of the champion signal, the input of `champion_left`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Metric, Model, Scale
from scoring.config.sections import MetricDrop
from scoring.decisions.metric_history import (
    ADDITIVE,
    MIN_HISTORY_WEEKS,
    WeeklyWindows,
    data_start,
    default_min_change,
    group_codes,
    seen_by,
    segment_ratio,
    usual_and_spread,
    weekly_values,
)
from scoring.engine.aggregates import AGGREGATES
from scoring.engine.scales import apply_scale, steps
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
]
CHAMPION_COLUMNS = ["account_id", "current", "previous"]
CHAMPION_SIGNAL = "champion_status"

AccountIds = pd.DataFrame | pd.Index | pd.Series | Iterable[str]


def account_index(accounts: AccountIds) -> pd.Index:
    """Account ids as a string Index, from an accounts frame, an Index or any list of ids."""
    if isinstance(accounts, pd.DataFrame):
        return pd.Index(accounts["account_id"].astype(str).to_numpy(dtype=object))
    return pd.Index([str(a) for a in accounts], dtype=object)


def _step_direction(scale: Scale) -> int:
    """+1 if a step scale rewards high values, -1 if low ones, 0 if it cannot tell.

    Scores a value below every threshold against one above every threshold.
    """
    assert scale.steps is not None
    cuts = [s.below if s.below is not None else s.at_least for s in scale.steps]
    cuts = [c for c in cuts if c is not None]
    if not cuts:
        return 0
    low, high = steps(scale, np.array([min(cuts) - 1.0, max(cuts) + 1.0]), pd.Series())
    return int(np.sign(high - low))


def worse(scale: Scale, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Whether each move from `previous` to `current` goes the metric's bad way.

    linear: best < worst means lower is better; percentile: its direction; steps: the step
    score fell, or (same step) the raw value moved against the scale's overall direction.
    """
    with np.errstate(invalid="ignore"):
        if scale.kind == "linear":
            assert scale.best is not None and scale.worst is not None
            return current > previous if scale.best < scale.worst else current < previous
        if scale.kind == "percentile":
            lower_is_better = scale.percentile == "lower_is_better"
            return current > previous if lower_is_better else current < previous
        empty = pd.Series(dtype=object)
        before = apply_scale(scale, previous, empty)
        after = apply_scale(scale, current, empty)
        direction = _step_direction(scale)
        same = after == before
        against = (current < previous) if direction > 0 else (current > previous)
        return (after < before) | (same & (direction != 0) & against)


def metric_drops(
    model: Model,
    accounts: AccountIds,
    signals: pd.DataFrame,
    as_of: date,
    layout: str = "long",
    segments: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Metrics that moved the bad way by enough to tell a CSM (METRIC_DROP_COLUMNS).

    For a metric with window W and as-of day D, `raw` is its value over (D - W, D] and
    `usual` the median of the same window ending 1..history_weeks weeks earlier (not counted:
    weeks before the account's first signal, and sum/count weeks the data does not cover).
    `segments` (one label per account, e.g. the CRM segment; default: the whole portfolio)
    gives the common move that is taken out: `segment_percent` is the segment's median move
    this week, `change_percent` the account's move beyond it (against usual x that ratio).
    `z`: that move over the history's MAD x 1.4826, floored at min_change / z (a flat history)
    and, for sum/count, at sqrt(usual) (a count's own noise); NaN with under 4 history weeks,
    where it does not apply. `signals` must reach back `MetricDrop.days_read(W)` days.
    Skipped: `trend` metrics and accounts without a usual value. Empty when the model has no
    metric_drop rule. Rows: account order, then the biggest move first.
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
    weekly = {}
    for key, metric in sorted(metrics.items(), key=lambda item: item[1].signal):
        weekly[key] = weekly_values(metric, windows, rule.history_weeks, start)
        if all(m.signal != metric.signal for k, m in metrics.items() if k not in weekly):
            windows.release(metric.signal)
    seen = seen_by([rows for _, rows in weekly.values()]) if weekly else None
    groups = group_codes(segments, len(ids))
    parts = [
        _judge(key, metric, rule, weekly[key][0], seen, groups, ids)
        for key, metric in metrics.items()  # model order: ties keep the model's metric order
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_drops()
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(_size=-out["change_percent"].abs())
    out = out.sort_values(["_order", "_size"], kind="stable")
    return out[METRIC_DROP_COLUMNS].reset_index(drop=True)


def _judge(
    key: str,
    metric: Metric,
    rule: MetricDrop,
    values: np.ndarray,
    seen: np.ndarray | None,
    groups: np.ndarray | None,
    ids: pd.Index,
) -> pd.DataFrame:
    """The accounts whose `metric` moved enough, as rows of METRIC_DROP_COLUMNS (+ _order)."""
    now = values[0]
    history = np.where(seen, values[1:], np.nan) if seen is not None else values[1:]
    usual, spread, weeks = usual_and_spread(history)
    ratio = segment_ratio(usual, now, groups)
    expected = usual * ratio
    min_change = rule.min_change.get(key, default_min_change(metric.scale, now))
    with np.errstate(invalid="ignore", divide="ignore"):
        change = now - expected
        percent = 100.0 * change / np.abs(expected)
        floor = np.full(len(now), min_change / rule.z)
        if metric.aggregate in ADDITIVE:
            # A count varies by about its square root on its own (Poisson), which weekly
            # windows that overlap by all but a week cannot show: 2 -> 4 tickets in 90 days.
            floor = np.maximum(floor, np.sqrt(np.maximum(np.abs(usual), 1.0)))
        z = np.abs(change) / np.maximum(spread, floor)
    usable = np.isfinite(usual) & np.isfinite(now)
    size = np.abs(np.where(usable, change, 0.0))
    # Round away float noise so that a move of exactly P percent (or the minimum) counts.
    big = np.round(np.abs(np.where(usable, percent, 0.0)), 6) >= rule.percent
    large = np.round(size, 9) >= min_change
    large &= np.maximum(np.abs(usual), np.abs(now)) >= rule.min_base.get(key, 0.0)
    unusual = (weeks < MIN_HISTORY_WEEKS) | (np.round(z, 9) >= rule.z)
    # The bad way beyond the segment's move, and the bad way in itself: a flat account in a
    # rising segment is not "falling".
    way = worse(metric.scale, expected, now) & worse(metric.scale, usual, now)
    hit = usable & (size > 0) & big & large & unusual & way
    if not hit.any():
        return _empty_drops()
    return pd.DataFrame(
        {
            "account_id": ids.to_numpy()[hit],
            "metric": key,
            "usual": usual[hit],
            "raw": now[hit],
            "change_percent": percent[hit],
            "segment_percent": 100.0 * (ratio[hit] - 1.0),
            "z": np.where(weeks[hit] >= MIN_HISTORY_WEEKS, z[hit], np.nan),
            "history_weeks": weeks[hit],
            "_order": np.flatnonzero(hit),
        }
    )


def _empty_drops() -> pd.DataFrame:
    kinds = dict.fromkeys(METRIC_DROP_COLUMNS, float) | {"account_id": object, "metric": object}
    kinds["history_weeks"] = int
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in kinds.items()})


def champion_values(
    model: Model,
    accounts: AccountIds,
    signals: pd.DataFrame,
    as_of: date,
    signal: str = CHAMPION_SIGNAL,
    layout: str = "long",
) -> pd.DataFrame:
    """Latest `signal` value this week and last week, per account: the champion_left input.

    The look-back is the window of the metric(s) reading that signal (the longest, if several),
    else the longest metric window: a champion flag is sticky, so a value set weeks ago still
    holds. `previous` is the same look-back ending 7 days before `as_of`. NaN: no value.
    """
    ids = account_index(accounts)
    windows = [m.window_days for m in model.metrics.values() if m.signal == signal]
    window = max(windows or [m.window_days for m in model.metrics.values()])
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
