"""The data notice for an account that lost its score this week (fell into insufficient data):
its owner is told once, in the week it happens, which metrics have no data and what to do. A
notice, not a health alert (alert_schema.NOTICE_RULES): the customer did not get worse, the
data went missing, so alert-quality counts leave it out.

Vectorised over accounts: frames in, a frame of alerts (ALERT_COLUMNS) out.
"""

from __future__ import annotations

import pandas as pd

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.decisions.alert_schema import ALERT_COLUMNS
from scoring.decisions.alert_words import joined_per_key, number_text

RULE = "lost_score"


def missing_metrics(model: Model, metrics: pd.DataFrame, account_ids: pd.Series) -> pd.Series:
    """Each account's weighted metrics without data this period, as "Label, Label" (by
    account_id); `metrics`: a PeriodView's metric rows (account_id, metric, has_data, weight)."""
    wanted = metrics["account_id"].astype(str).isin(set(account_ids.astype(str)))
    rows = metrics[wanted.to_numpy() & ~metrics["has_data"].astype(bool).to_numpy()]
    rows = rows[pd.to_numeric(rows["weight"], errors="coerce").fillna(0).to_numpy() > 0]
    labels = (
        rows["metric"].map({k: m.label for k, m in model.metrics.items()}).fillna(rows["metric"])
    )
    return joined_per_key(labels, rows["account_id"].astype(str).to_numpy(), ", ")


def lost_score_notices(
    model: Model, scores: pd.DataFrame, metrics: pd.DataFrame | None
) -> pd.DataFrame:
    """One `lost_score` notice per account that had a score last week and has none now.

    scores: a PeriodView's scores (account_id, band, previous_score, completeness, ...);
    metrics: its metric rows (None, as in a replay that keeps none: the notice then says
    "some metrics")."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})
    if not {"band", "previous_score"} <= set(scores.columns):
        return empty
    lost = (scores["band"].astype(str) == INSUFFICIENT_DATA).to_numpy() & (
        pd.to_numeric(scores["previous_score"], errors="coerce").notna().to_numpy()
    )
    rows = scores[lost]
    if rows.empty:
        return empty
    ids = rows["account_id"].astype(str)
    named = missing_metrics(model, metrics, ids) if metrics is not None else pd.Series(dtype=object)
    missing = ids.map(named).fillna("some metrics")
    share = pd.to_numeric(rows.get("completeness", pd.Series(index=rows.index)), errors="coerce")
    weight = (
        " (" + number_text(share * 100, 0) + "% of the weight has data, a score needs "
    ).where(share.notna(), " (a score needs ")
    reason = (
        "No score this week (it was "
        + number_text(rows["previous_score"], 1)
        + "): no data for "
        + missing
        + weight
        + f"{model.min_completeness * 100:.0f}% of it"
        + "). Check that these sources still sync, or add a CSM note."
    )
    return pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "rule": RULE,
            "severity": "data",
            "reason": reason.to_numpy(),
            "score_shown": float("nan"),
            "previous_score": rows["previous_score"].to_numpy(),
            "delta": float("nan"),
            "band": INSUFFICIENT_DATA,
            "previous_band": rows["previous_band"].to_numpy() if "previous_band" in rows else None,
            "band_rank": float("nan"),
        }
    )[list(ALERT_COLUMNS)]
