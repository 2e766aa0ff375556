"""Week-over-week comparison: deltas, band changes and the drivers of each change.

Comparison is only ever with the immediately preceding period's snapshot: no snapshot there
(a new account, a skipped week) or no score there (insufficient data) means no delta.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPARISON_COLUMNS = [
    "account_id",
    "score_shown",
    "band",
    "band_rank",
    "previous_score",
    "previous_band",
    "previous_rank",
    "delta",
    "band_change",
    "model_changed",
]


def compare(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """One row per current account: previous shown score and band, delta, band change.

    `current`/`previous` are snapshot frames (account_id, score_shown, band, band_rank and
    optionally model_version); `previous` may be empty.
    """
    prev = previous.reindex(
        columns=["account_id", "score_shown", "band", "band_rank", "model_version"]
    ).rename(
        columns={
            "score_shown": "previous_score",
            "band": "previous_band",
            "band_rank": "previous_rank",
            "model_version": "previous_version",
        }
    )
    cur = current.copy()
    if "model_version" not in cur:
        cur["model_version"] = None
    out = cur.merge(prev, on="account_id", how="left")
    now_rank = pd.to_numeric(out["band_rank"], errors="coerce").to_numpy(dtype=float)
    was_rank = pd.to_numeric(out["previous_rank"], errors="coerce").to_numpy(dtype=float)
    out["delta"] = np.round(
        out["score_shown"].astype(float) - out["previous_score"].astype(float), 1
    )
    both = ~np.isnan(now_rank) & ~np.isnan(was_rank)
    change = np.select(
        [both & (now_rank < was_rank), both & (now_rank > was_rank), both],
        ["up", "down", "same"],
        default=None,
    )
    out["band_change"] = pd.Series(change, index=out.index, dtype=object).where(both, None)
    out["model_changed"] = out["previous_version"].notna() & (
        out["previous_version"] != out["model_version"]
    )
    return out[COMPARISON_COLUMNS]


def drivers(current_metrics: pd.DataFrame, previous_metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (account, metric) change in points contributed, largest move first per account.

    Only accounts scored in both periods have drivers.
    """
    cols = ["account_id", "metric", "points"]
    merged = current_metrics[cols].merge(
        previous_metrics[cols], on=["account_id", "metric"], suffixes=("", "_previous")
    )
    merged = merged[merged["points"].notna() & merged["points_previous"].notna()]
    merged = merged.assign(delta_points=merged["points"] - merged["points_previous"])
    merged = merged.assign(magnitude=merged["delta_points"].abs())
    merged = merged.sort_values(["account_id", "magnitude"], ascending=[True, False], kind="stable")
    return merged[["account_id", "metric", "delta_points"]].reset_index(drop=True)


def main_driver(driver_frame: pd.DataFrame) -> pd.Series:
    """The metric with the most negative contribution delta, per account (NaN when none fell)."""
    falling = driver_frame[driver_frame["delta_points"] < 0]
    if falling.empty:
        return pd.Series(dtype=object)
    idx = falling.groupby("account_id")["delta_points"].idxmin()
    return falling.loc[idx].set_index("account_id")["metric"]


def sparkline(values: list[float | None]) -> str:
    """▁▂▃▄▅▆▇█ over 0..100 (a gap for missing weeks), so trends read at a glance."""
    bars = "▁▂▃▄▅▆▇█"
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append("·")
        else:
            out.append(bars[min(int(float(v) / 100 * len(bars)), len(bars) - 1)])
    return "".join(out)
