"""Scales turn a raw aggregate into a 0-100 metric score (the registry the model file names)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from scoring.config import Scale

Array = np.ndarray


def linear(scale: Scale, raw: Array, groups: pd.Series) -> Array:
    """100 x (x - worst) / (best - worst), clamped; best < worst means lower is better."""
    assert scale.worst is not None and scale.best is not None
    with np.errstate(invalid="ignore"):
        return np.clip(100.0 * (raw - scale.worst) / (scale.best - scale.worst), 0.0, 100.0)


def steps(scale: Scale, raw: Array, groups: pd.Series) -> Array:
    """The first step whose condition holds wins; the last step catches everything."""
    assert scale.steps is not None
    conditions, scores = [], []
    for step in scale.steps:
        if step.below is not None:
            conditions.append(raw < step.below)
        elif step.at_least is not None:
            conditions.append(raw >= step.at_least)
        else:
            conditions.append(np.ones_like(raw, dtype=bool))
        scores.append(step.score)
    out = np.select(conditions, scores, default=np.nan)
    return np.where(np.isnan(raw), np.nan, out)


def percentile(scale: Scale, raw: Array, groups: pd.Series) -> Array:
    """100 x (strictly worse + 0.5 x ties) / (n - 1) within each segment value; 50 when n = 1.

    With average ranks, strictly worse + half the other ties is exactly rank - 1.
    """
    values = pd.Series(raw)
    keys = groups.fillna("\x00none").to_numpy()
    ascending = scale.percentile == "higher_is_better"
    ranked = values.groupby(keys).rank(method="average", ascending=ascending)
    n = values.notna().groupby(keys).transform("sum").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 1, 100.0 * (ranked.to_numpy() - 1.0) / (n - 1.0), 50.0)
    return np.where(np.isnan(raw), np.nan, out)


SCALES: dict[str, Callable[[Scale, Array, pd.Series], Array]] = {
    "linear": linear,
    "steps": steps,
    "percentile": percentile,
}


def apply_scale(scale: Scale, raw: Array, groups: pd.Series) -> Array:
    return SCALES[scale.kind](scale, raw, groups)
