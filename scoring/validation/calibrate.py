"""Fitting the model's weights (and suggesting band thresholds) from the backtest's history.

The fit is a logistic regression of churn-within-the-horizon on the metric sub-scores, with the
weights bounded at zero (scipy's L-BFGS-B; scikit-learn's LogisticRegression cannot bound
coefficients). Non-negative weights keep the model what it was: a weighted average of
sub-scores where every metric can only pull the score in the direction its scale says, and a
weight of 0 drops a metric. A metric that predicts the opposite way is flagged for the user to
look at its scale, never silently inverted. An L2 penalty, chosen by cross-validation grouped by
account, keeps noisy metrics from grabbing weight.

Whether the new weights are better is measured on rows the fit never saw: the latest periods
when there are at least 4 (training only on periods whose horizon ends before those begin, so
no churn is seen twice), otherwise stratified 5-fold cross-validation by account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.errors import HealthbotError
from scoring.validation.backtest import Backtest
from scoring.validation.fitting import (
    choose_penalty,
    column_means,
    fit_logistic,
    impute,
    model_weights,
    weighted_score,
)
from scoring.validation.metrics import auc, is_monotone, rates_by_group
from scoring.validation.split import Split, holdout_split
from scoring.validation.summary import metric_table


@dataclass
class Calibration:
    segment: str | None
    current: dict[str, float]
    proposed: dict[str, float]
    penalty: float
    split: Split
    auc_before: float
    auc_after: float
    heldout_rows: int
    heldout_churned: int
    bands_current: dict[str, float]
    bands_proposed: dict[str, float] | None
    band_rates: pd.DataFrame
    bands_monotone: bool
    metrics: pd.DataFrame
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from scoring.validation.summary import plain

        def clean(frame: pd.DataFrame) -> list[dict[str, Any]]:
            frame = frame.astype(object).where(frame.notna(), None)
            return [{k: plain(v) for k, v in r.items()} for r in frame.to_dict("records")]

        return {
            "segment": self.segment,
            "weights_current": self.current,
            "weights_proposed": self.proposed,
            "penalty": self.penalty,
            "holdout": {"method": self.split.method, "description": self.split.description},
            "auc_before": plain(self.auc_before),
            "auc_after": plain(self.auc_after),
            "heldout_rows": self.heldout_rows,
            "heldout_churned": self.heldout_churned,
            "bands_current": self.bands_current,
            "bands_proposed": self.bands_proposed,
            "band_churn": clean(self.band_rates),
            "bands_monotone": self.bands_monotone,
            "metrics": clean(self.metrics),
            "flags": self.flags,
            "notes": self.notes,
        }


def not_worse(proposed: float, current: float) -> bool:
    """Whether a proposal may be written: its held-out AUC is known and at least the current
    model's (an unknown current AUC cannot be beaten, nor lost to)."""
    if not np.isfinite(proposed):
        return False
    return not np.isfinite(current) or proposed >= current


def _fit(
    x: np.ndarray, y: np.ndarray, ids: np.ndarray, current: np.ndarray, seed: int
) -> tuple[float, np.ndarray | None]:
    """(penalty, weights on the file's scale) from sub-scores `x` (0-100, NaN = no data),
    shrunk toward the `current` weights as far as cross-validation says."""
    unit = x / 100.0
    penalty = choose_penalty(unit, y, ids, seed, toward=current)
    _, w = fit_logistic(impute(unit, column_means(unit)), y, penalty, toward=current)
    return penalty, model_weights(w, float(current.sum()))


def fit_rows(backtest: Backtest, model: Model, segment: str | None) -> np.ndarray:
    """Rows whose score the weights being fitted decide: a model segment's rows, or (at the top
    level) rows in no segment or in a segment without weights of its own; scored rows only."""
    rows = backtest.rows
    scored = (rows["status"] == "scored").to_numpy() & rows["score"].notna().to_numpy()
    if segment is not None:
        if segment not in model.segments:
            raise HealthbotError(
                f"calibrate --segment takes a model segment (one with `where:` in the model file:"
                f" {', '.join(model.segments) or 'none defined'}), got {segment!r}"
            )
        return scored & (rows["segment_rule"] == segment).to_numpy()
    own = [name for name, seg in model.segments.items() if seg.weights]
    return scored & ~rows["segment_rule"].isin(own).to_numpy()


def calibrate(
    model: Model, backtest: Backtest, segment: str | None = None, seed: int = 0
) -> Calibration:
    mask = fit_rows(backtest, model, segment)
    sub = backtest.subset(mask)
    rows = sub.rows
    if rows.empty:
        raise HealthbotError("no scored account-periods to calibrate on")
    keys = model.metric_keys
    x = sub.metric_scores[keys].to_numpy(dtype=float)
    y = rows["churned"].to_numpy(dtype=float)
    ids = rows["account_id"].to_numpy()
    current = model.segment_weights(segment)
    prior = np.array([current[k] for k in keys], dtype=float)
    split = holdout_split(rows, backtest.horizon_days, seed)
    after = np.full(len(rows), np.nan)
    for k in range(split.folds):
        test = split.fold == k
        train = (split.fold == -1) if split.method == "latest_periods" else ~test
        _, weights = _fit(x[train], y[train], ids[train], prior, seed)
        if weights is not None:
            after[test] = weighted_score(x[test], weights)
    before = rows["score"].to_numpy(dtype=float)
    held = (split.fold >= 0) & np.isfinite(after) & np.isfinite(before)
    penalty, weights = _fit(x, y, ids, prior, seed)
    if weights is None:
        raise HealthbotError(
            "no metric predicts churn in the expected direction on this history: nothing to"
            " propose (see the per-metric AUC in `healthbot backtest`)"
        )
    proposed = dict(zip(keys, (float(v) for v in weights), strict=True))
    score = weighted_score(x, weights)
    bands = suggest_bands(model, segment, rows, score)
    band_rates, monotone = _band_rates(model, segment, bands, score, y > 0)
    table = metric_table(sub, model).assign(
        weight=[current[k] for k in keys], proposed=[proposed[k] for k in keys]
    )
    return Calibration(
        segment=segment,
        current={k: float(v) for k, v in current.items()},
        proposed=proposed,
        penalty=penalty,
        split=split,
        auc_before=auc(before[held], y[held] > 0),
        auc_after=auc(after[held], y[held] > 0),
        heldout_rows=int(held.sum()),
        heldout_churned=int(y[held].sum()),
        bands_current={b.name: b.min for b in model.segment_bands(segment)},
        bands_proposed=bands,
        band_rates=band_rates,
        bands_monotone=monotone,
        metrics=table,
        flags=_flags(table),
        notes=_notes(model, segment, len(rows)),
    )


def suggest_bands(
    model: Model, segment: str | None, rows: pd.DataFrame, score: np.ndarray
) -> dict[str, float] | None:
    """Band minimums for the new score that keep today's share of accounts in each band (in the
    latest period), so the number of accounts CSMs are asked to look at stays the same. None
    when the shares cannot be kept with distinct whole-number minimums."""
    bands = model.segment_bands(segment)
    latest = (rows["as_of"] == rows["as_of"].max()).to_numpy() & np.isfinite(score)
    rank = pd.to_numeric(rows["band_rank"], errors="coerce").to_numpy(dtype=float)[latest]
    if not latest.any() or np.isnan(rank).any():
        return None
    shares = np.bincount(rank.astype(np.int64), minlength=len(bands)) / latest.sum()
    below = np.cumsum(shares[::-1])[::-1]  # below[k]: share in band k or worse
    cuts = np.quantile(score[latest], np.clip(below[1:], 0, 1)) if len(bands) > 1 else []
    mins = [float(np.floor(c + 0.5)) for c in cuts] + [0.0]
    ok = all(a > b for a, b in zip(mins, mins[1:], strict=False)) and 0 < mins[0] <= 100
    return dict(zip((b.name for b in bands), mins, strict=True)) if ok else None


def _band_rates(
    model: Model,
    segment: str | None,
    bands: dict[str, float] | None,
    score: np.ndarray,
    churned: np.ndarray,
) -> tuple[pd.DataFrame, bool]:
    """Churn per band under the proposed weights and band minimums (in-sample)."""
    current = model.segment_bands(segment)
    names = [b.name for b in current]
    mins = np.array([bands[n] if bands else b.min for n, b in zip(names, current, strict=True)])
    keep = np.isfinite(score)
    rank = (mins[None, :] > np.floor(score[keep] * 10 + 0.5)[:, None] / 10).sum(axis=1)
    n, hit, rate = rates_by_group(rank, churned[keep], len(names))
    frame = pd.DataFrame({"band": names, "min": mins, "rows": n.astype(int)})
    return frame.assign(churned=hit.astype(int), churn_rate=rate), is_monotone(rate)


def _flags(table: pd.DataFrame) -> list[str]:
    out = []
    for row in table[table["verdict"] == "wrong_way"].itertuples():  # a few metrics, not rows
        out.append(
            f"{row.label} ({row.metric}) predicts churn the opposite way to its scale (AUC"
            f" {row.auc:.2f}: higher sub-scores came before MORE churn). Check its scale's"
            " worst/best; it is not inverted automatically, and its weight cannot go below 0."
        )
    return out


def _notes(model: Model, segment: str | None, rows: int) -> list[str]:
    scope = f"segment {segment}" if segment else "the top-level weights"
    out = [f"Fitted on {rows:,} scored account-periods, the ones {scope} decide."]
    own = [name for name, seg in model.segments.items() if seg.weights]
    if segment is None and own:
        out.append(
            f"Accounts in segments with weights of their own ({', '.join(own)}) are left out;"
            " calibrate them with --segment NAME."
        )
    return out
