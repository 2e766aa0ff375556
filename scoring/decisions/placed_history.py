"""The metric-drop rule's weekly windows and the champion value for signals read in place.

A signal whose table is never copied (a warehouse `table` source) has no rows in memory, so
its weekly history is asked of its backend as aggregates: one query per history week for the
metrics' own windows and one GROUP BY (account, week) for every 7-day window (every
in-place metric at once, with the row count that tells a quiet week from a week without
data), and two `last` values for champion_left. What comes back is exactly what
`metric_history.weekly_values` computes from rows: the engine's raw value per window, `fill`
applied, NaN without data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Metric
from scoring.config.sections import MetricDrop
from scoring.decisions.metric_history import ADDITIVE
from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.signal_table import day_number
from scoring.engine.window_aggregates import Aggregated, AggregateSource, aggregate_weeks

Weekly = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class InPlaceSignals:
    """Signals read where they are stored: their aggregates come from `source`, never rows;
    `first_day`: day number of their earliest row (where the data starts), None without."""

    signals: frozenset[str]
    source: AggregateSource
    first_day: int | None = None


def judged_recently(metric: Metric, rule: MetricDrop) -> bool:
    """Whether a metric's move is judged on the last `recent_days` of its signal: its own
    window is longer (a slide shows in a 30-day mean only weeks late) and its aggregate means
    something over a few days (not `days_since`)."""
    short = 0 < rule.recent_days < metric.window_days
    return short and metric.aggregate != "days_since"


def placed_weekly(
    metrics: dict[str, Metric],
    rule: MetricDrop,
    placed: InPlaceSignals,
    ids: pd.Index,
    as_of: date,
    start: int | None,
) -> tuple[dict[str, Weekly], dict[str, np.ndarray]]:
    """(weekly, recent) for the metrics whose signal is in place, as `metric_drops` builds
    them from rows: weekly[key] = (values, has_rows), recent[key] = values over the last
    `recent_days`, each (history_weeks + 1) x accounts, row k ending k weeks before as_of."""
    mine = {k: m for k, m in metrics.items() if m.signal in placed.signals}
    if not mine:
        return {}, {}
    specs: list[AggregateSpec] = []
    slots: dict[tuple[str, str], tuple[int, int]] = {}
    for key, metric in mine.items():
        spans = [("own", metric.window_days)]
        if judged_recently(metric, rule):
            spans.append(("recent", rule.recent_days))
        for name, days in spans:
            slots[(key, name)] = (len(specs), days)
            specs.append(AggregateSpec(key, metric.signal, metric.aggregate, days, metric.fill))
            specs.append(AggregateSpec(f"{key} rows", metric.signal, "count", days))
    weeks, n = rule.history_weeks, len(ids)
    values = {slot: np.full((weeks + 1, n), np.nan) for slot in slots}
    has_rows = {slot: np.zeros((weeks + 1, n), dtype=bool) for slot in slots}
    account_ids = ids.to_numpy(dtype=object)
    results = _weekly_results(placed.source, specs, account_ids, as_of, weeks)
    for k, result in enumerate(results):
        day = as_of - timedelta(days=7 * k)
        for slot, (j, days) in slots.items():
            has_rows[slot][k] = result.raw[:, j + 1] > 0
            week = result.raw[:, j]
            additive = mine[slot[0]].aggregate in ADDITIVE
            if k and additive and start is not None and start > day_number(day) - days + 1:
                week = np.full(n, np.nan)  # a window the data only partly covers
            values[slot][k] = week
    weekly = {key: (values[(key, "own")], has_rows[(key, "own")]) for key in mine}
    recent = {key: values[(key, name)] for key, name in slots if name == "recent"}
    return weekly, recent


def _weekly_results(
    source: AggregateSource,
    specs: list[AggregateSpec],
    account_ids: np.ndarray,
    as_of: date,
    weeks: int,
) -> list[Aggregated]:
    """Every spec on as_of and each of the `weeks` weeks before it. The 7-day windows (the
    `recent_days` default) are the weeks themselves: one GROUP BY (account, week) where the
    source can (`aggregate_weeks`), which takes them out of the per-week queries. Each query
    costs about in proportion to its aggregates (DuckDB, 100,000 accounts), so that query
    and per-week queries half as wide cost less than full-width ones
    (docs/architecture.md)."""
    short = [j for j, s in enumerate(specs) if s.window_days == 7]
    weekly = aggregate_weeks(source, [specs[j] for j in short], account_ids, as_of, weeks)
    if weekly is None:
        short, weekly = [], [None] * (weeks + 1)
    rest = [j for j in range(len(specs)) if j not in set(short)]
    shape = (len(account_ids), len(specs))
    out = []
    for k, part in enumerate(weekly):
        whole = Aggregated(np.full(shape, np.nan), np.zeros(shape, dtype=bool), set())
        if part is not None:
            whole.raw[:, short], whole.has[:, short] = part.raw, part.has
            whole.seen.update(part.seen)
        if rest:
            day = as_of - timedelta(days=7 * k)
            other = source.aggregate([specs[j] for j in rest], account_ids, day)
            whole.raw[:, rest], whole.has[:, rest] = other.raw, other.has
            whole.seen.update(other.seen)
        out.append(whole)
    return out


def placed_start(placed: InPlaceSignals | None, earliest: int, other: int | None) -> int | None:
    """The metric-drop rule's data start with in-place signals: the earlier of the rows'
    start (`other`) and theirs, never before `earliest`."""
    if placed is None or placed.first_day is None:
        return other
    mine = max(placed.first_day, earliest)
    return mine if other is None else min(mine, other)


def placed_last(
    placed: InPlaceSignals, signal: str, ids: pd.Index, as_of: date, window: int
) -> np.ndarray:
    """The latest value of an in-place `signal` in the window ending on as_of, per account."""
    spec = AggregateSpec("last", signal, "last", window)
    return placed.source.aggregate([spec], ids.to_numpy(dtype=object), as_of).raw[:, 0]
