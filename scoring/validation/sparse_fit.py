"""Choosing at most 7 of many sub-scores at once: a non-negative logistic fit with an L1 penalty.

With weights bounded at zero, the L1 penalty is simply lambda x (sum of weights): a smooth,
linear term that L-BFGS-B handles as it is. Walking lambda down from "nothing enters" and
warm-starting each fit from the one before, sub-scores enter one by one in the order the data
supports them jointly, which a one-at-a-time forward search cannot see: a metric that says
little alone (call failures) can matter once another (usage) is in.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

RIDGE = 1e-6
PATH = 20  # lambdas on the path, geometric, from 1 down to 1e-5 of the largest


def fit_l1(x: np.ndarray, y: np.ndarray, lam: float, start: np.ndarray | None = None) -> np.ndarray:
    """(intercept, weights) of logit P(churn) = b - x @ w with w >= 0, minimising mean
    log-loss + lam * sum(w). `x` complete (imputed), 0-1."""
    n, m = x.shape
    mu = x.mean(axis=0)
    xc = x - mu

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        z = b - xc @ w
        value = np.mean(np.logaddexp(0.0, z) - y * z) + lam * w.sum() + RIDGE * (w @ w)
        r = (expit(z) - y) / n
        grad = -(xc.T @ r) + lam + 2.0 * RIDGE * w
        return float(value), np.concatenate([[r.sum()], grad])

    if start is None:
        base = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        start = np.concatenate([[np.log(base / (1 - base))], np.zeros(m)])
    bounds = [(None, None)] + [(0.0, None)] * m
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x


def l1_path(x: np.ndarray, y: np.ndarray, most: int) -> list[list[int]]:
    """The sets of columns (at most `most`) that enter as the penalty falls, smallest first;
    each set is the support of one fit on the path, in order of entry."""
    y = y.astype(float)
    xc = x - x.mean(axis=0)
    # The smallest lambda at which every weight stays 0: the largest "pull" of a column.
    top = float(np.max(-(xc.T @ (y - y.mean())) / len(y)))
    if top <= 0:
        return []
    sets: list[list[int]] = []
    order: list[int] = []
    theta = None
    for lam in top * np.geomspace(1.0, 1e-5, PATH):
        theta = fit_l1(x, y, lam, theta)
        support = list(np.flatnonzero(theta[1:] > 1e-6))
        order = [j for j in order if j in support] + [j for j in support if j not in order]
        if len(order) > most:
            break
        if order and (not sets or sets[-1] != order):
            sets.append(list(order))
    return sets
