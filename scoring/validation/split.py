"""Which account-periods a calibration is judged on: never ones its fit has seen.

Periods of the same account are not independent and a churn is seen by every period whose
horizon covers it, so held-out rows are chosen by time (the latest periods, training only on
periods whose horizon ends before they begin) or, with fewer than 4 periods, by account
(every period of an account in one fold, churned accounts spread evenly over the folds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.errors import HealthbotError

MIN_PERIODS_FOR_TIME_SPLIT = 4


@dataclass(frozen=True)
class Split:
    """Which rows are held out. `fold` per row: k >= 0 test fold, -1 train only, -2 unused."""

    method: str  # "latest_periods" | "account_cv"
    description: str
    fold: np.ndarray
    folds: int


def account_folds(accounts: np.ndarray, churned: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold per row such that each account sits in one fold and churned accounts (those with
    any churned row) are spread evenly: stratified k-fold by account, seeded."""
    ever = pd.Series(churned).groupby(accounts).any()
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(ever))
    stratum = ever.to_numpy()[shuffled]
    order = shuffled[np.argsort(stratum, kind="stable")]
    position = np.empty(len(ever), dtype=np.int64)
    position[order] = np.arange(len(ever))
    start = np.where(ever.to_numpy(), (~ever.to_numpy()).sum(), 0)
    fold = pd.Series((position - start) % k, index=ever.index)
    return fold.reindex(accounts).to_numpy(dtype=np.int64)


def holdout_split(rows: pd.DataFrame, horizon_days: int, seed: int = 0, folds: int = 5) -> Split:
    """The latest quarter of the periods when there are at least 4, else account-grouped CV."""
    churned = rows["churned"].to_numpy(dtype=bool)
    as_of = rows["as_of"]
    periods = sorted(as_of.unique())
    why = "fewer than 4 periods"
    if len(periods) >= MIN_PERIODS_FOR_TIME_SPLIT:
        n_test = max(1, len(periods) // 4)
        start = periods[-n_test]
        test = (as_of >= start).to_numpy()
        train = (as_of + pd.Timedelta(days=horizon_days) <= start).to_numpy()
        if _both(churned[test]) and _both(churned[train]):
            kept = int(pd.Series(as_of[train]).nunique())
            return Split(
                "latest_periods",
                f"held out the latest {n_test} of {len(periods)} periods"
                f" ({_day(start)} to {_day(periods[-1])}); trained on the {kept} earlier periods"
                f" whose {horizon_days}-day horizon ends before {_day(start)}",
                np.where(test, 0, np.where(train, -1, -2)),
                1,
            )
        why = "the latest periods or the ones before them lack churned or retained accounts"
    ids = rows["account_id"].to_numpy()
    ever = pd.Series(churned).groupby(ids).any()
    k = int(min(folds, ever.sum(), (~ever).sum()))
    if k < 2:
        raise HealthbotError(
            "too little history to calibrate: need at least 2 accounts that churned within the"
            " horizon and 2 that did not (widen --from/--to or --horizon-days)"
        )
    return Split(
        "account_cv",
        f"stratified {k}-fold cross-validation by account ({why}): each account's periods stay"
        " in one fold and churned accounts are spread evenly across folds",
        account_folds(ids, churned, k, seed),
        k,
    )


def _both(labels: np.ndarray) -> bool:
    return bool(labels.any() and (~labels).any())


def _day(value: Any) -> str:
    return str(pd.Timestamp(value).date())
