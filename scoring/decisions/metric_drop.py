"""Metric drops: each metric's raw aggregate this window against the window just before it.

A score can hold steady while one input falls off a cliff (usage halves but the scale was
already at its floor, or other metrics make up for it), so the `metric_drop` alert looks at raw
values. Both windows go through the same vectorised aggregates as the engine, so "31.0 → 18.0"
in an alert is exactly what the engine would have computed on each as-of date.

Also here: the current/previous value of the champion signal, the input of `champion_left`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Metric, Model, Scale
from scoring.engine.aggregates import AGGREGATES, ALWAYS_HAS_DATA, Window
from scoring.engine.scales import apply_scale, steps
from scoring.engine.signal_table import SignalTable, day_number

METRIC_DROP_COLUMNS = ["account_id", "metric", "previous_raw", "raw", "change_percent"]
CHAMPION_COLUMNS = ["account_id", "current", "previous"]
CHAMPION_SIGNAL = "champion_status"

AccountIds = pd.DataFrame | pd.Index | pd.Series | Iterable[str]


def account_index(accounts: AccountIds) -> pd.Index:
    """Account ids as a string Index, from an accounts frame, an Index or any list of ids."""
    if isinstance(accounts, pd.DataFrame):
        return pd.Index(accounts["account_id"].astype(str).to_numpy(dtype=object))
    return pd.Index([str(a) for a in accounts], dtype=object)


def raw_values(metric: Metric, window: Window) -> np.ndarray:
    """The engine's raw value for one window: NaN without data, `fill` where the model says."""
    value = AGGREGATES[metric.aggregate](window)
    present = np.isfinite(value)
    if metric.aggregate not in ALWAYS_HAS_DATA:
        present &= window.count() > 0
    if metric.fill is not None:
        return np.where(present, value, metric.fill)
    return np.where(present, value, np.nan)


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
) -> pd.DataFrame:
    """Metrics that moved at least `alerts.metric_drop.percent` percent the bad way.

    For a metric with window W and as-of day D: `previous_raw` over (D - 2W, D - W], `raw`
    over (D - W, D]; `change_percent` = 100 x (raw - previous_raw) / |previous_raw| (negative
    for a fall, positive for a rise). Skipped: `trend` metrics (a slope against a slope is not
    a meaningful percentage) and an earlier value of 0 or missing. Empty when the model has no
    metric_drop rule. Rows: account order, then the biggest move first.
    """
    rule = model.alerts.metric_drop
    ids = account_index(accounts)
    if rule is None or len(ids) == 0:
        return _empty_drops()
    table = SignalTable(signals, ids, layout)
    day = day_number(as_of)
    parts: list[pd.DataFrame] = []
    for key, metric in model.metrics.items():
        if metric.aggregate == "trend":
            continue
        now = raw_values(metric, table.window(metric.signal, day, metric.window_days))
        before = raw_values(
            metric, table.window(metric.signal, day - metric.window_days, metric.window_days)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            change = 100.0 * (now - before) / np.abs(before)
        usable = np.isfinite(before) & (before != 0) & np.isfinite(now)
        # Round away float noise so that a move of exactly P percent counts as P.
        big = np.round(np.abs(np.where(usable, change, 0.0)), 6) >= rule.percent
        hit = usable & big & worse(metric.scale, before, now)
        if hit.any():
            parts.append(
                pd.DataFrame(
                    {
                        "account_id": ids.to_numpy()[hit],
                        "metric": key,
                        "previous_raw": before[hit],
                        "raw": now[hit],
                        "change_percent": change[hit],
                        "_order": np.flatnonzero(hit),
                    }
                )
            )
    if not parts:
        return _empty_drops()
    out = pd.concat(parts, ignore_index=True)
    out = out.assign(_size=-out["change_percent"].abs())
    out = out.sort_values(["_order", "_size"], kind="stable")
    return out[METRIC_DROP_COLUMNS].reset_index(drop=True)


def _empty_drops() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": pd.Series(dtype=object),
            "metric": pd.Series(dtype=object),
            "previous_raw": pd.Series(dtype=float),
            "raw": pd.Series(dtype=float),
            "change_percent": pd.Series(dtype=float),
        }
    )


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
