"""The scoring engine: accounts + signals + model + as_of -> scores with their explanations.

Pure pandas/numpy: no database, clock or Slack. Every metric is a vectorised pass over the
signal rows in its window; weights, completeness and bands are matrix operations over accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.engine.aggregate_specs import specs_of
from scoring.engine.aggregates import ALWAYS_HAS_DATA
from scoring.engine.scales import apply_scale
from scoring.engine.segments import segment_rules
from scoring.engine.window_aggregates import AggregateSource, FrameSource, significant
from scoring.errors import ConfigError, OutputCheckFailed
from scoring.frames import accounts_frame

SCORE_COLUMNS = [
    "account_id",
    "segment_rule",
    "score",
    "score_shown",
    "band",
    "band_rank",
    "completeness",
    "status",
]
METRIC_COLUMNS = [
    "account_id",
    "metric",
    "raw",
    "has_data",
    "metric_score",
    "weight",
    "share",
    "points",
]


@dataclass(frozen=True)
class Scores:
    """One scoring pass: a row per scored account, a row per (account, metric), and who was left
    out (churned on or before as_of) with the reason."""

    as_of: date
    model_version: str
    accounts: pd.DataFrame
    metrics: pd.DataFrame
    excluded: pd.DataFrame


def shown(score: np.ndarray | pd.Series) -> np.ndarray:
    """Half-up to one decimal, after rounding away float noise: the number users see."""
    return np.floor(np.round(np.asarray(score, dtype=float), 6) * 10.0 + 0.5) / 10.0


def score_accounts(
    model: Model,
    accounts: pd.DataFrame,
    signals: pd.DataFrame | AggregateSource,
    as_of: date,
    layout: str = "long",
) -> Scores:
    """Score every account not churned by `as_of`. `signals` is either signal rows (`layout`
    says how they are shaped) or a source that computes the window aggregates itself."""
    frame = accounts_frame(accounts)
    churned = frame["churned_on"].notna() & (frame["churned_on"] <= pd.Timestamp(as_of))
    active = frame[~churned].reset_index(drop=True)
    excluded = frame.loc[churned, ["account_id", "churned_on"]].assign(
        reason="churned on or before the as-of date"
    )
    source = FrameSource(signals, layout) if isinstance(signals, pd.DataFrame) else signals
    result = source.aggregate(specs_of(model), active["account_id"].to_numpy(), as_of)
    raw = significant(result.raw)
    metric_scores = _metric_scores(model, raw, result.has, active)
    rules = segment_rules(model, active)
    weights = _weights(model, rules)
    _refuse_absent_signals(model, result.seen, weights)
    out_accounts, out_metrics = _combine(
        model, active, rules, raw, result.has, metric_scores, weights
    )
    _check(out_accounts)
    return Scores(as_of, model.version, out_accounts, out_metrics, excluded.reset_index(drop=True))


def _refuse_absent_signals(model: Model, names: set[str], weights: np.ndarray) -> None:
    """Refuse a metric whose signal is absent from the signals entirely: scoring would quietly
    share its weight among the other metrics (a misspelt signal: every score inflates).
    Per-account gaps keep the completeness rules; a metric with `fill` or a count-like
    aggregate always has a value, so it drops no weight."""
    for j, key in enumerate(model.metric_keys):
        metric = model.metrics[key]
        if metric.signal in names or metric.fill is not None:
            continue
        if metric.aggregate in ALWAYS_HAS_DATA or not (weights[:, j] > 0).any():
            continue
        known = ", ".join(sorted(names)[:10]) or "none"
        raise ConfigError(
            f"metrics.{key}.signal: no {metric.signal!r} rows among the signals scored"
            f" (signals present: {known}); refusing to score without this metric's weight"
            " (sync the signal, fix its name, or give the metric a `fill:` value)"
        )


def _metric_scores(
    model: Model, raw: np.ndarray, has: np.ndarray, accounts: pd.DataFrame
) -> np.ndarray:
    groups = accounts["segment"] if "segment" in accounts else pd.Series([None] * len(accounts))
    groups = groups.astype("string").reset_index(drop=True)
    out = np.full(raw.shape, np.nan)
    for j, key in enumerate(model.metric_keys):
        values = np.where(has[:, j], raw[:, j], np.nan)
        out[:, j] = apply_scale(model.metrics[key].scale, values, groups)
    return out


def _weights(model: Model, rules: pd.Series) -> np.ndarray:
    keys = model.metric_keys
    matrix = np.tile(
        np.array([model.metrics[k].weight for k in keys], dtype=float), (len(rules), 1)
    )
    for name in model.segments:
        rows = (rules == name).to_numpy()
        if rows.any():
            seg_weights = model.segment_weights(name)
            matrix[rows] = np.array([seg_weights[k] for k in keys], dtype=float)
    return matrix


def band_ranks(model: Model, rules: pd.Series, score_shown: np.ndarray) -> np.ndarray:
    """Band rank per account: how many of its bands' mins lie above the shown score."""
    mins = np.tile(np.array([b.min for b in model.bands]), (len(rules), 1))
    for name, seg in model.segments.items():
        rows = (rules == name).to_numpy()
        if rows.any() and seg.bands is not None:
            mins[rows] = np.array([b.min for b in model.segment_bands(name)])
    with np.errstate(invalid="ignore"):
        return (mins > score_shown[:, None]).sum(axis=1)


def _combine(
    model: Model,
    accounts: pd.DataFrame,
    rules: pd.Series,
    raw: np.ndarray,
    has: np.ndarray,
    metric_scores: np.ndarray,
    weights: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    counted = np.where(has, weights, 0.0)
    with_data = counted.sum(axis=1)
    completeness = with_data / weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counted / with_data[:, None]
    # The score is the sum of the contributions, so the explanation adds up by construction.
    contributions = np.where(has, np.nan_to_num(metric_scores) * share, 0.0)
    score = contributions.sum(axis=1)
    sufficient = (with_data > 0) & (completeness + 1e-12 >= model.min_completeness)
    # A weighted mean of values in [0, 100] can only leave it by float noise.
    score = np.where(sufficient, np.clip(score, 0.0, 100.0), np.nan)
    score_shown = shown(score)
    rank = band_ranks(model, rules, score_shown)
    names = np.array([b.name for b in model.bands], dtype=object)
    band = np.where(sufficient, names[np.minimum(rank, len(names) - 1)], INSUFFICIENT_DATA)
    account_out = pd.DataFrame(
        {
            "account_id": accounts["account_id"].to_numpy(),
            "segment_rule": pd.Series(rules.to_numpy(), dtype=object).where(rules.notna(), None),
            "score": score,
            "score_shown": score_shown,
            "band": band,
            "band_rank": pd.array(np.where(sufficient, rank, -1), dtype="Int64"),
            "completeness": completeness,
            "status": np.where(sufficient, "scored", INSUFFICIENT_DATA),
        }
    )
    account_out.loc[~sufficient, "band_rank"] = pd.NA
    share = np.where(sufficient[:, None], share, np.nan)
    points = np.where(sufficient[:, None], contributions, np.nan)
    n, m = raw.shape
    metric_out = pd.DataFrame(
        {
            "account_id": np.repeat(accounts["account_id"].to_numpy(), m),
            "metric": np.tile(np.array(model.metric_keys, dtype=object), n),
            "raw": raw.ravel(),
            "has_data": has.ravel(),
            "metric_score": metric_scores.ravel(),
            "weight": weights.ravel(),
            "share": share.ravel(),
            "points": points.ravel(),
        }
    )
    return account_out, metric_out


def _check(scores: pd.DataFrame) -> None:
    """Refuse to hand on anything the contract forbids, rather than store a wrong score."""
    values = scores["score"].to_numpy(dtype=float)
    scored = scores["status"].to_numpy() == "scored"
    if np.isnan(values[scored]).any() or (~np.isnan(values[~scored])).any():
        raise OutputCheckFailed("a score is missing where the band says scored (or vice versa)")
    if ((values[scored] < -1e-9) | (values[scored] > 100 + 1e-9)).any():
        raise OutputCheckFailed("a score fell outside [0, 100]")
    if scores["account_id"].duplicated().any():
        raise OutputCheckFailed("an account was scored twice")
