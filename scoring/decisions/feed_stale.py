"""Stopped feeds: an account whose regular feed of one signal went silent while its other data
still arrives. Its score then moves because a window holds fewer, older days, not because the
customer changed, so it is a data problem (a `stale` notice) and gets no score-based alert
(score_drop, band_downgrade) and no metric drop of that feed; the drops of its other metrics,
a champion who left and a renewal still reach the owner.

A feed counts as stopped for an account when, for a metric that carries weight:
- the metric has no `fill` (with a fill, no rows means a value, e.g. no tickets = 0 tickets);
- its signal comes regularly, at least twice within `stale_days` (the cadence metric_freshness
  declares or learns: a daily usage feed, a weekly billing snapshot; never a quarterly survey);
- its latest value is `stale_days` or more old;
- it came for a while before: its dates x its cadence cover at least half the metric's window
  (two survey answers that happened to come 5 days apart are not a feed that stopped).

Frames in, frame out: the freshness is the period's own (scoring/decisions/freshness.py), as
stored beside the snapshot by the weekly run or computed from the same rows by a replay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_words import joined_per_key, number_text

STOPPED_COLUMNS = ["account_id", "metric", "latest", "cadence_days", "age_days"]


def stopped_feeds(model: Model, freshness: pd.DataFrame | None) -> pd.DataFrame:
    """The (account, metric) pairs whose feed stopped (STOPPED_COLUMNS), from a period's
    freshness rows (scoring.decisions.freshness.FRESHNESS_COLUMNS); empty when `stale_days` is
    off or no freshness is known."""
    days = model.alerts.stale_days
    if days is None or freshness is None or freshness.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STOPPED_COLUMNS})
    watched = watched_metrics(model)
    cadence = pd.to_numeric(freshness["cadence_days"], errors="coerce")
    age = pd.to_numeric(freshness["age_days"], errors="coerce")
    window = freshness["metric"].map({k: m.window_days for k, m in model.metrics.items()})
    dates = pd.to_numeric(freshness["dates"], errors="coerce") if "dates" in freshness else np.nan
    came = dates * cadence >= window / 2
    hit = freshness["metric"].isin(watched) & (cadence <= days / 2) & (age >= days) & came
    out = freshness.loc[hit.to_numpy(dtype=bool), STOPPED_COLUMNS]
    return out.assign(account_id=out["account_id"].astype(str)).reset_index(drop=True)


def without_stopped(frame: pd.DataFrame, stopped: pd.DataFrame) -> pd.DataFrame:
    """`frame` (account_id, metric, ...: e.g. metric drops) without the stopped pairs."""
    pairs = pd.MultiIndex.from_arrays(
        [stopped["account_id"].astype(str), stopped["metric"].astype(str)]
    )
    mine = pd.MultiIndex.from_arrays([frame["account_id"].astype(str), frame["metric"].astype(str)])
    return frame[~mine.isin(pairs)]


def watched_metrics(model: Model) -> list[str]:
    """Metrics without a fill that weigh in the score somewhere (top level or a segment)."""
    out = []
    for key, metric in model.metrics.items():
        segments = [s.weights.get(key, metric.weight) for s in model.segments.values()]
        weights = [metric.weight, *segments]
        if metric.fill is None and max(weights) > 0:
            out.append(key)
    return out


def stopped_feed_reasons(model: Model, stopped: pd.DataFrame) -> pd.Series:
    """'Product usage: no data since 2026-11-09 (27 days; it usually comes every day)' per
    account_id, the metrics of one account joined by '; '."""
    if stopped.empty:
        return pd.Series(dtype=object)
    labels = {key: m.label or key for key, m in model.metrics.items()}
    rows = stopped.sort_values(["account_id", "metric"], kind="stable")
    cadence = pd.to_numeric(rows["cadence_days"], errors="coerce")
    every = np.where(np.isclose(cadence, 1.0), "day", number_text(cadence, 1).astype(str) + " days")
    latest = pd.to_datetime(rows["latest"]).dt.strftime("%Y-%m-%d")
    words = (
        rows["metric"].map(labels).astype(str)
        + ": no data since "
        + latest
        + " ("
        + number_text(rows["age_days"], 0)
        + " days; it usually comes every "
        + every
        + ")"
    )
    return joined_per_key(words, rows["account_id"].astype(str), "; ")
