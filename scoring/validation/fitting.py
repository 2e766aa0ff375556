"""The bounded, regularised logistic fit behind `healthbot calibrate`, and its helpers.

Sub-scores go in as 0-1 (sub-score / 100); a missing one is filled with the training mean for
the fit only. The fitted weights are then used exactly as the engine uses weights: a weighted
mean over the metrics with data, which is what the held-out AUC is measured on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from scoring.validation.split import account_folds

PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
RIDGE = 1e-6  # keeps the weights finite on perfectly separable data
MIN_SHARE = 0.01  # a metric with less than 1% of the weight is dropped (weight 0)


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    penalty: float,
    nonnegative: bool = True,
    start: np.ndarray | None = None,
    toward: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """(intercept, weights) of logit P(churn) = b - x @ w, minimising mean log-loss + penalty.

    With `nonnegative`, every weight is bounded at 0 (L-BFGS-B): a higher sub-score can only
    mean less risk. `x` must be complete (impute first). The penalty is plain L2, or with
    `toward` (the current weights) L2 on the part of w that leaves their direction: a strong
    penalty then keeps the user's weights (only their overall scale is fitted), a weak one lets
    the data move them, and cross-validation decides how far the history justifies moving.
    `start` (intercept then weights) warm-starts from a neighbouring penalty's solution. The
    tolerance is loose on purpose: weights are rounded to a tenth of a point anyway.
    """
    n, m = x.shape
    u = None if toward is None else toward / np.sqrt(float((toward * toward).sum()))
    # Centred columns decouple the intercept from the weights (same weights, fewer steps).
    mu = x.mean(axis=0)
    xc = x - mu

    # Element-wise products rather than `x @ w`: the matrix is thin (a handful of metrics), and
    # a multithreaded BLAS call per step leaves spinning threads that slow everything else
    # down on a busy 2-core machine.
    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        z = b - (xc * w).sum(axis=1)
        off = w if u is None else w - float((u * w).sum()) * u
        value = np.mean(np.logaddexp(0.0, z) - y * z)
        value += penalty * float((off * off).sum()) + RIDGE * float((w * w).sum())
        r = (expit(z) - y) / n
        grad = -(xc * r[:, None]).sum(axis=0) + 2.0 * penalty * off + 2.0 * RIDGE * w
        return float(value), np.concatenate([[r.sum()], grad])

    if start is None:
        base = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        start = np.concatenate([[np.log(base / (1 - base))], np.zeros(m)])
    else:
        start = np.concatenate([[start[0] - float((mu * start[1:]).sum())], start[1:]])
    bounds = [(None, None)] + [(0.0, None) if nonnegative else (None, None)] * m
    options = {"ftol": 1e-8, "gtol": 1e-6}
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    w = result.x[1:]
    return float(result.x[0] + (mu * w).sum()), w


def impute(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Missing sub-scores filled with the column means, for the fit only."""
    return np.where(np.isfinite(x), x, means)


def column_means(x: np.ndarray) -> np.ndarray:
    """Mean of each column over the rows with data (0.5, the middle, for a column without)."""
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(x).sum(axis=0)
        sums = np.nansum(x, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.5)


def _log_loss(x: np.ndarray, y: np.ndarray, b: float, w: np.ndarray) -> float:
    z = b - (x * w).sum(axis=1)
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


def choose_penalty(
    x: np.ndarray,
    y: np.ndarray,
    accounts: np.ndarray,
    seed: int,
    toward: np.ndarray | None = None,
) -> float:
    """The penalty with the lowest held-out log-loss over 3 folds grouped by account (the
    strongest one when there are too few churned accounts to tell)."""
    ever = pd.Series(y > 0).groupby(accounts).any()
    k = int(min(3, ever.sum(), (~ever).sum()))
    if k < 2:
        return PENALTIES[-1]
    fold = account_folds(accounts, y > 0, k, seed + 1)
    losses = np.zeros(len(PENALTIES))
    for f in range(k):
        test, train = fold == f, fold != f
        means = column_means(x[train])
        xtr, xte = impute(x[train], means), impute(x[test], means)
        start = None
        for i in reversed(range(len(PENALTIES))):  # strongest first, each warm-starting the next
            b, w = fit_logistic(xtr, y[train], PENALTIES[i], start=start, toward=toward)
            start = np.concatenate([[b], w])
            losses[i] += _log_loss(xte, y[test], b, w)
    return PENALTIES[int(np.argmin(losses))]


def model_weights(w: np.ndarray, total: float) -> np.ndarray | None:
    """Fitted weights on the file's scale (same total as now), tiny ones dropped, one decimal."""
    if w.sum() <= 0:
        return None
    kept = np.where(w / w.sum() < MIN_SHARE, 0.0, w)
    scaled = kept / kept.sum() * total
    rounded = np.floor(scaled * 10 + 0.5) / 10
    return rounded if rounded.sum() > 0 else None


def weighted_score(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The engine's score for these weights: the weighted mean of the sub-scores with data
    (0-100), NaN where no weighted metric has data."""
    has = np.isfinite(x)
    counted = np.where(has, weights, 0.0)
    total = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(has, x, 0.0) * counted).sum(axis=1) / total, np.nan)
