"""Did overrides turn out right? Each override against what the computed score said, judged
by whether the account churned within the horizon after the override was set."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd


def override_outcomes(
    inputs: pd.DataFrame,
    scores: pd.DataFrame,
    churns: pd.DataFrame,
    horizon_days: int,
    observed_until: date,
) -> dict[str, Any]:
    """inputs: csm_inputs rows; scores: backtest rows (account_id, as_of, score: computed by the
    model alone); churns: account_id, date. An override that put the score below the computed
    one said "riskier than the data shows": right when the account churned, wrong otherwise
    (and the other way round for overrides above the computed score)."""
    overrides = inputs[(inputs["kind"] == "override") & inputs["revoked_at"].isna()].copy()
    empty = {
        "overrides": 0,
        "judged": 0,
        "too_recent": 0,
        "no_computed_score": 0,
        "right": 0,
        "wrong": 0,
        "rows": [],
    }
    if overrides.empty:
        return empty
    overrides["entered_on"] = pd.to_datetime(overrides["entered_on"]).astype("datetime64[ns]")
    history = scores.assign(
        as_of=pd.to_datetime(scores["as_of"]).astype("datetime64[ns]"),
        account_id=scores["account_id"].astype(str),
    )
    history = history.dropna(subset=["score"]).sort_values("as_of", kind="stable")
    merged = pd.merge_asof(
        overrides.sort_values("entered_on", kind="stable"),
        history[["account_id", "as_of", "score"]],
        left_on="entered_on",
        right_on="as_of",
        by="account_id",
        direction="backward",
    )
    horizon = pd.Timedelta(days=horizon_days)
    first_churn = (
        churns.assign(date=pd.to_datetime(churns["date"]))
        .groupby(churns["account_id"].astype(str))["date"]
        .min()
    )
    churn = merged["account_id"].astype(str).map(first_churn)
    merged["churned"] = (churn > merged["entered_on"]) & (churn <= merged["entered_on"] + horizon)
    recent = merged["entered_on"] + horizon > pd.Timestamp(observed_until)
    known = merged["score"].notna() & ~recent
    riskier = merged["override_score"] < merged["score"]
    right = known & (riskier == merged["churned"])
    judged = merged[known]
    return {
        "overrides": len(merged),
        "judged": int(known.sum()),
        "too_recent": int(recent.sum()),
        "no_computed_score": int((merged["score"].isna() & ~recent).sum()),
        "right": int(right.sum()),
        "wrong": int(known.sum() - right.sum()),
        "rows": [
            {
                "account_id": r["account_id"],
                "entered_on": str(r["entered_on"])[:10],
                "override": float(r["override_score"]),
                "computed": float(r["score"]),
                "churned": bool(r["churned"]),
            }
            for r in judged.to_dict("records")
        ],
    }
