"""Did acting on an alert go with better outcomes? Alerted accounts acted on against the rest.

The buttons on an alert record what CSMs did (acknowledge, log outreach). For each account
that got a health alert, its first one in the range decides its group: acted on (an ack or an
outreach note within `act_within_days` of the alert) or not; snoozing is not acting. The groups
are then compared on churn within the horizon after the alert and on the score some weeks later
against the score at the alert (the backtest's re-scores, so both come from the same model).

This is observational: CSMs pick which alerts to act on (perhaps the savable accounts, perhaps
the worst), so a difference between the groups is not the effect of acting. Every output
carries that caveat, and the counts, so nobody reads more into it than it holds.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.validation.labels import next_churn
from scoring.validation.summary import HEALTH_RULES

ACTED_KINDS = ("ack", "outreach")
CAVEAT = (
    "Observational, not an experiment: CSMs choose which alerts to act on, so the accounts"
    " acted on may differ from the others in ways that matter (how savable they were, their"
    " size, their owner). A difference here is a correlation, not the effect of acting."
)


def _first_alerts(sent: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    alerts = sent[sent["rule"].isin(HEALTH_RULES)].assign(
        account_id=sent["account_id"].astype(str),
        sent_on=pd.to_datetime(sent["sent_on"]).astype("datetime64[ns]"),
    )
    if start is not None:
        alerts = alerts[alerts["sent_on"] >= pd.Timestamp(start)]
    if end is not None:
        alerts = alerts[alerts["sent_on"] <= pd.Timestamp(end)]
    alerts = alerts.sort_values(["sent_on", "account_id"], kind="stable")
    return alerts.drop_duplicates("account_id")[["account_id", "sent_on"]].reset_index(drop=True)


def _acted(first: pd.DataFrame, actions: pd.DataFrame, within: int) -> np.ndarray:
    """Whether each first alert got an ack/outreach from its day to `within` days after."""
    done = actions[actions["kind"].isin(ACTED_KINDS)]
    done = pd.DataFrame(
        {
            "account_id": done["account_id"].astype(str),
            "day": pd.to_datetime(done["created_at"]).dt.normalize().astype("datetime64[ns]"),
        }
    )
    joined = first.reset_index().merge(done, on="account_id", how="inner")
    delay = (joined["day"] - joined["sent_on"]).dt.days
    hit = joined.loc[(delay >= 0) & (delay <= within), "index"].unique()
    out = np.zeros(len(first), dtype=bool)
    out[hit] = True
    return out


def _asof(left: pd.DataFrame, scores: pd.DataFrame, on: str, direction: str) -> np.ndarray:
    """Score per left row from the as-of date nearest `on` in `direction` (NaN if none)."""
    right = scores.rename(columns={"as_of": "_at"}).sort_values("_at", kind="stable")
    ordered = left.assign(_row=np.arange(len(left))).sort_values(on, kind="stable")
    joined = pd.merge_asof(
        ordered, right, left_on=on, right_on="_at", by="account_id", direction=direction
    ).sort_values("_row")
    return joined["score"].to_numpy(dtype=float)


def intervention_effect(
    sent: pd.DataFrame,
    actions: pd.DataFrame,
    scores: pd.DataFrame,
    churns: pd.DataFrame,
    horizon_days: int,
    observed_until: date,
    start: date | None = None,
    end: date | None = None,
    act_within_days: int = 14,
    recovery_days: int = 28,
) -> dict[str, Any]:
    """Compare alerted accounts acted on with those not acted on.

    sent: alerts that went out (alert_log: account_id, rule, sent_on); actions: button clicks
    (account_actions: account_id, kind, created_at); scores: account_id, as_of, score (the
    backtest's rows); churns: account_id, date of each churn. Alerts whose horizon is not over by
    `observed_until` are too recent to judge and are only counted.
    """
    first = _first_alerts(sent, start, end)
    horizon = pd.Timedelta(days=horizon_days)
    recent = (first["sent_on"] + horizon > pd.Timestamp(observed_until)).to_numpy()
    first = first[~recent].reset_index(drop=True)
    first["acted"] = _acted(first, actions, act_within_days)
    events = churns.assign(
        account_id=churns["account_id"].astype(str),
        date=pd.to_datetime(churns["date"]).astype("datetime64[ns]"),
    )
    churn_date = next_churn(first, "sent_on", events)
    churned = ((churn_date - first["sent_on"]) <= horizon).fillna(False).to_numpy(bool)
    pool = scores.assign(
        account_id=scores["account_id"].astype(str),
        as_of=pd.to_datetime(scores["as_of"]).astype("datetime64[ns]"),
    )[["account_id", "as_of", "score"]].dropna(subset=["score"])
    at_alert = _asof(first, pool, "sent_on", "backward")
    later = first.assign(_later=first["sent_on"] + pd.Timedelta(days=recovery_days))
    change = _asof(later, pool, "_later", "forward") - at_alert
    first = first.assign(churned=churned, score_change=change)
    groups = []
    for acted, label in ((True, "acted on"), (False, "not acted on")):
        part = first[first["acted"] == acted]
        moved = part["score_change"].dropna()
        groups.append(
            {
                "group": label,
                "accounts": len(part),
                "churned": int(part["churned"].sum()),
                "churn_rate": float(part["churned"].mean()) if len(part) else None,
                "with_later_score": len(moved),
                "mean_score_change": float(moved.mean()) if len(moved) else None,
                "median_score_change": float(moved.median()) if len(moved) else None,
            }
        )
    return {
        "groups": groups,
        "too_recent": int(recent.sum()),
        "act_within_days": act_within_days,
        "recovery_days": recovery_days,
        "horizon_days": horizon_days,
        "caveat": CAVEAT,
    }
