"""Portfolio-wide movements: a week where a whole segment dips (a holiday, an outage of a
shared feed) says nothing about any one customer.

Each account's change is judged against its segment's median change (`segment_shift`), so a
dip everyone shares is corrected for rather than suppressed: an account sliding faster than
its segment still stands out. Only falls are corrected: a segment that rose does not turn an
account that merely held steady into a drop. A segment where at least `percent` of the
accounts fell together (`segment_moves`) is named to owners and in the digest, so nobody
mistakes the quiet DM for a quiet week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Model

SHIFT_COLUMNS = ["account_id", "segment", "segment_shift", "segment_delta"]
MOVE_COLUMNS = ["segment", "accounts", "dropped", "share", "median_delta", "points"]
TOP_LEVEL = ""  # accounts in no model segment form one group of their own


def account_segments(scores: pd.DataFrame) -> pd.Series:
    """The model segment of each account (`segment_rule`), TOP_LEVEL for none."""
    if "segment_rule" not in scores:
        return pd.Series(TOP_LEVEL, index=scores.index, dtype=object)
    rule = scores["segment_rule"].astype(object)
    return rule.where(rule.notna(), TOP_LEVEL).astype(str)


def segment_shift(scores: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Per account (SHIFT_COLUMNS): its segment, the segment's median change when that is a
    fall (else 0), and `segment_delta` = its own change minus that shift (NaN without a
    change). A segment with fewer than `portfolio_move.min_accounts` changes has too noisy a
    median of its own and borrows the whole portfolio's; a portfolio that small is not
    corrected at all.

    scores: account_id, delta, optionally segment_rule (the engine's, or a PeriodView's).
    """
    least = model.alerts.portfolio_move.min_accounts
    delta = pd.to_numeric(scores["delta"], errors="coerce")
    segment = account_segments(scores)
    known = delta.notna()
    counts = known.groupby(segment).transform("sum")
    medians = delta.groupby(segment).transform("median")
    overall = float(delta.median()) if known.sum() >= least else 0.0
    median = medians.where(counts >= least, overall).fillna(0.0)
    shift = np.minimum(median.to_numpy(dtype=float), 0.0)
    return pd.DataFrame(
        {
            "account_id": scores["account_id"].astype(str).to_numpy(),
            "segment": segment.to_numpy(),
            "segment_shift": shift,
            "segment_delta": np.round(delta.to_numpy(dtype=float) - shift, 1),
        }
    )


def segment_spread(scores: pd.DataFrame, model: Model) -> np.ndarray:
    """Per account, how far scores in its segment commonly move in a week: the robust
    standard deviation (MAD x 1.4826) of this week's changes, the portfolio's for a segment
    under `portfolio_move.min_accounts`; 0 for a portfolio that small (nothing to learn from).

    scores: account_id, delta, optionally segment_rule.
    """
    least = model.alerts.portfolio_move.min_accounts
    delta = pd.to_numeric(scores["delta"], errors="coerce")
    segment = account_segments(scores)
    known = delta.notna()
    if known.sum() < least:
        return np.zeros(len(scores))
    mad = (delta - delta.median()).abs().median()
    overall = 1.4826 * float(mad)
    centre = delta.groupby(segment).transform("median")
    spread = 1.4826 * (delta - centre).abs().groupby(segment).transform("median")
    counts = known.groupby(segment).transform("sum")
    return spread.where(counts >= least, overall).fillna(overall).to_numpy(dtype=float)


def segment_moves(scores: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Segments where at least `portfolio_move.percent` of the accounts with a change fell
    `portfolio_move.points` or more together (MOVE_COLUMNS; share in percent), largest share
    first. Segments smaller than `min_accounts` never count: three accounts are not a trend."""
    rule = model.alerts.portfolio_move
    delta = pd.to_numeric(scores["delta"], errors="coerce")
    frame = pd.DataFrame(
        {
            "segment": account_segments(scores).to_numpy(),
            "known": delta.notna().to_numpy(),
            "fell": (delta <= -rule.points).to_numpy(),
            "delta": delta.to_numpy(),
        }
    )
    grouped = frame.groupby("segment", sort=True).agg(
        accounts=("known", "sum"), dropped=("fell", "sum"), median_delta=("delta", "median")
    )
    grouped = grouped[grouped["accounts"] >= rule.min_accounts]
    share = 100.0 * grouped["dropped"] / grouped["accounts"]
    moved = grouped.assign(share=share, points=rule.points)[share >= rule.percent - 1e-9]
    moved = moved.sort_values("share", ascending=False, kind="stable").reset_index()
    return moved.astype({"accounts": int, "dropped": int})[MOVE_COLUMNS]


def move_records(moves: pd.DataFrame) -> list[dict[str, object]]:
    """Moves as template data: segment None for the top level (templates name it)."""
    return [
        {
            "segment": None if m["segment"] == TOP_LEVEL else str(m["segment"]),
            "accounts": int(m["accounts"]),
            "dropped": int(m["dropped"]),
            "share": float(m["share"]),
            "median_delta": float(m["median_delta"]),
            "points": float(m["points"]),
        }
        for m in moves.to_dict("records")
    ]
