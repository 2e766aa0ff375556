"""Standard errors of held-out AUCs, and of their paired differences, by account.

Scores compared on the same held-out rows are correlated, so the error of their difference is
much smaller than either AUC's own; and one account's weekly rows are not independent cases.
Both are handled by resampling accounts (a cluster bootstrap): each replicate draws accounts
with replacement and weighs every row of a drawn account by how often it was drawn. The AUC of
a replicate is the weighted Mann-Whitney statistic, from one sort per score, so 200 replicates
of 100,000 rows take a moment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REPLICATES = 200


class _Ranked:
    """One score, sorted once: per row its distinct-value bin, so that a weighted AUC is two
    bincounts and a cumulative sum."""

    def __init__(self, score: np.ndarray) -> None:
        values, self.bins = np.unique(score, return_inverse=True)
        self.size = len(values)

    def auc(self, w1: np.ndarray, w0: np.ndarray) -> float:
        """P(a churner scores below a retained row), ties 1/2, rows weighted (w1 churners'
        weights, w0 the others', zero for the other class)."""
        c1 = np.bincount(self.bins, weights=w1, minlength=self.size)
        c0 = np.bincount(self.bins, weights=w0, minlength=self.size)
        above = c0.sum() - np.cumsum(c0)  # retained rows scoring strictly higher
        total = c1.sum() * c0.sum()
        return float((c1 * (above + 0.5 * c0)).sum() / total) if total > 0 else float("nan")


def bootstrap_aucs(
    scores: dict[str, np.ndarray],
    churned: np.ndarray,
    accounts: np.ndarray,
    seed: int = 0,
    replicates: int = REPLICATES,
) -> tuple[dict[str, float], dict[str, float], dict[tuple[str, str], float]]:
    """(AUC, its standard error) per named score, and the standard error of each pair's
    difference, resampling accounts. Every score must be finite on every row."""
    churned = np.asarray(churned, dtype=bool)
    codes, _ = pd.factorize(pd.Series(accounts))
    ranked = {name: _Ranked(np.asarray(s, dtype=float)) for name, s in scores.items()}
    ones = np.ones(len(churned))
    point = {n: r.auc(ones * churned, ones * ~churned) for n, r in ranked.items()}
    rng = np.random.default_rng(seed)
    draws = {n: np.empty(replicates) for n in ranked}
    k = int(codes.max()) + 1 if len(codes) else 0
    for b in range(replicates):
        weight = np.bincount(rng.integers(0, k, k), minlength=k)[codes].astype(float)
        w1, w0 = weight * churned, weight * ~churned
        for name, r in ranked.items():
            draws[name][b] = r.auc(w1, w0)
    se = {n: float(np.nanstd(d, ddof=1)) for n, d in draws.items()}
    names = list(ranked)
    pair = {
        (a, b): float(np.nanstd(draws[a] - draws[b], ddof=1))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    return point, se, pair
