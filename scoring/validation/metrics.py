"""Classification measures for a health score, where a LOW score means HIGH churn risk.

Everything here takes the score itself (0-100, higher = healthier) and a boolean "churned
within the horizon" label, so no caller has to remember to flip a sign. All functions are
vectorised over rows (one account per period) and handle ties the way a user expects: two
accounts with the same score carry no ranking information, so a tie counts as half a win.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

Array = np.ndarray


def _clean(score: Array, churned: Array) -> tuple[Array, Array]:
    score = np.asarray(score, dtype=float)
    churned = np.asarray(churned, dtype=bool)
    keep = np.isfinite(score)
    return score[keep], churned[keep]


def auc(score: Array, churned: Array) -> float:
    """ROC AUC of the score for churn: P(a churner scores below a non-churner), ties = 1/2.

    The Mann-Whitney rank formula: with average ranks of the risk (-score), the rank sum of the
    churners minus its minimum, divided by the number of (churner, non-churner) pairs. NaN when
    either class is empty (there is nothing to rank) or scores are missing everywhere.
    """
    score, churned = _clean(score, churned)
    n1 = int(churned.sum())
    n0 = len(churned) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(-score, method="average")
    u = ranks[churned].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def auc_standard_error(value: float, n_churned: int, n_kept: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC with n_churned / n_kept cases.

    Rows of the same account in consecutive periods are not independent, so callers pass
    account counts rather than row counts: the interval is then honest rather than narrow.
    """
    if not math.isfinite(value) or n_churned < 1 or n_kept < 1:
        return float("nan")
    q1 = value / (2.0 - value)
    q2 = 2.0 * value * value / (1.0 + value)
    var = (
        value * (1.0 - value)
        + (n_churned - 1) * (q1 - value * value)
        + (n_kept - 1) * (q2 - value * value)
    ) / (n_churned * n_kept)
    return float(math.sqrt(max(var, 0.0)))


def direction(value: float, se: float, z: float = 1.96) -> str:
    """`informative`, `noise` or `wrong_way`: whether an AUC is clearly above, near or below 0.5.

    A metric whose AUC is clearly below 0.5 predicts churn the opposite way to its scale (a
    higher sub-score comes before MORE churn): the user must look at the scale, so it is
    flagged, never silently inverted.
    """
    if not math.isfinite(value):
        return "no_data"
    margin = z * se if math.isfinite(se) else 0.0
    if value < 0.5 - margin:
        return "wrong_way"
    if value > 0.5 + margin:
        return "informative"
    return "noise"


def roc_points(score: Array, churned: Array) -> tuple[Array, Array]:
    """(false positive rate, true positive rate) flagging accounts at or below each score.

    One point per distinct score (ties move together, a diagonal segment), from (0, 0) to (1, 1).
    """
    score, churned = _clean(score, churned)
    n1 = churned.sum()
    n0 = len(churned) - n1
    if n1 == 0 or n0 == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    values, inverse = np.unique(score, return_inverse=True)
    pos = np.bincount(inverse, weights=churned.astype(float), minlength=len(values))
    neg = np.bincount(inverse, weights=(~churned).astype(float), minlength=len(values))
    tpr = np.concatenate([[0.0], np.cumsum(pos) / n1])
    fpr = np.concatenate([[0.0], np.cumsum(neg) / n0])
    return fpr, tpr


def lowest_share_rate(score: Array, churned: Array, share: float = 0.1) -> float:
    """Churn rate among the lowest-scoring `share` of rows.

    Accounts tied on the cut-off score are counted fractionally (each carries the same share of
    the remaining places), so the answer does not depend on an arbitrary order among ties.
    """
    score, churned = _clean(score, churned)
    if len(score) == 0:
        return float("nan")
    places = share * len(score)
    order = np.argsort(score, kind="stable")
    cut = score[order[max(int(math.ceil(places)) - 1, 0)]]
    below = score < cut
    tied = score == cut
    weight = (places - below.sum()) / tied.sum()
    return float((churned[below].sum() + weight * churned[tied].sum()) / places)


def lift(score: Array, churned: Array, share: float = 0.1) -> dict[str, float]:
    """Churn rate of the lowest-scoring decile against the average: how much better than random
    a CSM does by working the bottom of the list first."""
    score, churned = _clean(score, churned)
    base = float(churned.mean()) if len(churned) else float("nan")
    rate = lowest_share_rate(score, churned, share)
    value = rate / base if base and math.isfinite(base) and base > 0 else float("nan")
    return {"share": share, "rate": rate, "base_rate": base, "lift": value}


def rates_by_group(codes: Array, churned: Array, groups: int) -> tuple[Array, Array, Array]:
    """(rows, churned, churn rate) per integer group code 0..groups-1 (NaN rate if empty)."""
    codes = np.asarray(codes, dtype=np.int64)
    churned = np.asarray(churned, dtype=float)
    n = np.bincount(codes, minlength=groups).astype(float)
    hit = np.bincount(codes, weights=churned, minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, hit, np.where(n > 0, hit / n, np.nan)


def is_monotone(rates: Array) -> bool:
    """Whether churn never falls as bands get worse (rates ordered best band first).

    Empty bands are skipped: a band nobody is in cannot break the order.
    """
    values = np.asarray(rates, dtype=float)
    values = values[np.isfinite(values)]
    return bool(np.all(np.diff(values) >= -1e-12))
