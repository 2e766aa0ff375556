"""The weekly digest's numbers, computed from one period's view (templates only format them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.decisions.history import main_driver
from scoring.decisions.portfolio_moves import account_segments, move_records, segment_moves

TOP_MOVERS = 5


def urgency(score_shown: pd.Series, arr: pd.Series) -> pd.Series:
    """(100 − score) / 100 × ARR; missing ARR counts as 0, no score means no urgency."""
    risk = (100.0 - pd.to_numeric(score_shown, errors="coerce")) / 100.0
    return (risk * pd.to_numeric(arr, errors="coerce").fillna(0.0)).fillna(0.0)


@dataclass(frozen=True)
class Digest:
    period: str
    bands: list[dict[str, Any]]
    arr_at_risk: float
    arr_at_risk_change: float | None
    average_score: float | None
    drops: pd.DataFrame
    gains: pd.DataFrame
    downgrades: pd.DataFrame
    renewals: pd.DataFrame
    expansion: pd.DataFrame
    data_quality: pd.DataFrame
    accounts: int
    quiet: bool
    extra: dict[str, Any] = field(default_factory=dict)
    # Segment-wide dips (portfolio_moves.move_records) the digest explains in a line each.
    moves: list[dict[str, Any]] = field(default_factory=list)


def filter_where(frame: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    """Rows whose columns equal every `where` value (text, case-insensitive): a digest's scope.
    A key the frame lacks matches nothing, so a typo shows an empty digest, not everyone."""
    mask = np.ones(len(frame), dtype=bool)
    for key, wanted in where.items():
        column = frame[key] if key in frame else pd.Series([None] * len(frame))
        mask &= (
            (column.astype("string").str.casefold() == str(wanted).casefold())
            .fillna(False)
            .to_numpy()
        )
    return frame[mask]


def build_digest(
    model: Model,
    view: Any,
    as_of: date,
    where: dict[str, Any] | None = None,
    renewal_days: int = 90,
    stale: pd.Series | None = None,
) -> Digest:
    """`view` is a scoring.batch.views.PeriodView; `stale` maps account_id -> days without data."""
    frame = filter_where(view.scores, where or {}).copy()
    prev = view.previous_scores
    prev = prev[prev["account_id"].isin(frame["account_id"])]
    frame["urgency"] = urgency(frame["score_shown"], frame["arr"])
    frame["driver"] = frame["account_id"].map(main_driver(view.drivers))
    frame["driver_label"] = frame["driver"].map({k: m.label for k, m in model.metrics.items()})
    names = [b.name for b in model.bands] + [INSUFFICIENT_DATA]
    arr = pd.to_numeric(frame["arr"], errors="coerce").fillna(0.0)
    prev_arr = prev["account_id"].map(frame.set_index("account_id")["arr"]).astype(float)
    bands = []
    for name in names:
        now = frame["band"] == name
        was = prev["band"] == name
        bands.append(
            {
                "name": name,
                "accounts": int(now.sum()),
                "arr": float(arr[now].sum()),
                "change": int(now.sum() - was.sum()) if len(prev) else None,
                "color": model.band_color(name),
            }
        )
    below_top = frame["band_rank"].fillna(0).astype(int) > 0
    at_risk = float(arr[below_top].sum())
    prev_below = pd.to_numeric(prev["band_rank"], errors="coerce").fillna(0) > 0
    at_risk_before = float(prev_arr[prev_below.to_numpy()].fillna(0).sum()) if len(prev) else None
    moved = frame[frame["delta"].notna()]
    drops = moved[moved["delta"] < 0].sort_values(["delta", "urgency"], ascending=[True, False])
    gains = moved[moved["delta"] > 0].sort_values(["delta", "arr"], ascending=[False, False])
    downgrades = frame[frame["band_change"] == "down"].sort_values("urgency", ascending=False)
    renew = pd.to_datetime(frame["renewal_date"])
    soon = (renew >= pd.Timestamp(as_of)) & (
        renew <= pd.Timestamp(as_of + timedelta(days=renewal_days))
    )
    # Values are assigned to the selected rows only: assigning a full-length Series to an
    # empty selection makes pandas adopt its index, i.e. one all-NaN row per account.
    renewing = soon & below_top & frame["score_shown"].notna()
    renewals = (
        frame[renewing]
        .assign(days_left=(renew - pd.Timestamp(as_of)).dt.days[renewing])
        .sort_values("renewal_date")
    )
    improving = (frame["delta"] > 0) & (frame["previous_delta"] > 0)
    expansion = frame[(frame["band_rank"] == 0) & improving].sort_values("arr", ascending=False)
    stale_days = (
        frame["account_id"].map(stale)
        if stale is not None
        else pd.Series(np.nan, index=frame.index)
    )
    # A renewal date already behind us is a data problem (the CRM was not updated), never a
    # coming renewal: it is listed here and nowhere among the renewals.
    renewal_past = (renew < pd.Timestamp(as_of)).fillna(False)
    troubled = (frame["band"] == INSUFFICIENT_DATA) | stale_days.notna() | renewal_past
    quality = (
        frame[troubled]
        .assign(stale_days=stale_days[troubled], renewal_past=renewal_past[troubled])
        .sort_values("arr", ascending=False)
    )
    moves = segment_moves(view.scores, model)
    moves = moves[moves["segment"].isin(set(account_segments(frame)))]
    quiet = drops.empty and gains.empty and downgrades.empty
    scored = frame["score_shown"].dropna()
    return Digest(
        view.period,
        bands,
        at_risk,
        None if at_risk_before is None else at_risk - at_risk_before,
        float(scored.mean()) if len(scored) else None,
        drops,
        gains,
        downgrades,
        renewals,
        expansion,
        quality,
        len(frame),
        quiet,
        moves=move_records(moves),
    )
