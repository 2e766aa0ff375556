"""The digest chart's trend: average score and ARR at risk per week, from stored snapshots.

Pure (frames in, frame out) so the numbers the chart draws can be checked against the digest's
own: the last week of the trend is the week the digest describes, computed the same way (ARR
at risk = current ARR of every account below the top band; insufficient data is not at risk).
Past weeks use today's ARR because the store keeps only the current ARR of an account.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.periods import previous_period

TREND_WEEKS = 12
TREND_COLUMNS = ["period", "accounts", "scored", "average_score", "arr_at_risk"]


def trend_periods(period: str, weeks: int = TREND_WEEKS) -> list[str]:
    """`period` and the `weeks - 1` ISO weeks before it, oldest first."""
    out = [period]
    while len(out) < weeks:
        out.append(previous_period(out[-1]))
    return out[::-1]


def weekly_trend(snapshots: pd.DataFrame, arr: pd.Series, periods: Sequence[str]) -> pd.DataFrame:
    """One row per period of `periods`, in that order: accounts, scored accounts, average score
    and ARR at risk. A week without snapshots has 0 accounts and NaN average and ARR at risk
    (unknown, not zero, so a chart leaves a gap instead of a misleading dip).

    snapshots: period, account_id, score_shown, band_rank (band_rank missing = no score).
    arr: ARR by account_id; accounts without ARR count as 0.
    """
    frame = snapshots[snapshots["period"].isin(list(periods))]
    rank = pd.to_numeric(frame["band_rank"], errors="coerce").fillna(0).to_numpy()
    money = pd.to_numeric(frame["account_id"].map(arr), errors="coerce").fillna(0.0).to_numpy()
    score = pd.to_numeric(frame["score_shown"], errors="coerce").to_numpy(dtype=float)
    parts = pd.DataFrame(
        {
            "period": frame["period"].to_numpy(),
            "one": 1,
            "scored": ~np.isnan(score),
            "score": score,
            "at_risk": np.where(rank > 0, money, 0.0),
        }
    )
    grouped = parts.groupby("period").agg(
        accounts=("one", "sum"),
        scored=("scored", "sum"),
        average_score=("score", "mean"),
        arr_at_risk=("at_risk", "sum"),
    )
    out = grouped.reindex(list(periods))
    out["accounts"] = out["accounts"].fillna(0).astype(int)
    out["scored"] = out["scored"].fillna(0).astype(int)
    out.index.name = "period"
    return out.reset_index()[TREND_COLUMNS]
