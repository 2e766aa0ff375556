"""Alert quality as a RevOps reader weighs it: how many interruptions, for whom, worth what.

For each rule, and for all health alerts together, both as the rules fire and as the owners
would have read them (after cooldown and the per-DM cap, from `replay.py`):
- alerts per 100 scored accounts per week, and per owner per week (median and 95th
  percentile over every owner-week with scored accounts, quiet weeks included: a median of
  the busy weeks alone would hide how often an owner is left alone);
- precision: alerted account-weeks followed by churn within the horizon, leaving out weeks
  whose horizon is not over yet (a churn there may not have happened *yet*);
- lift: precision over the base churn rate of the same judgeable account-weeks;
- recall: churned accounts that got the alert in a week followed by their churn.
Health rules are `HEALTH_RULES`; renewal and stale notices are reported on their own rows and
never counted in "all health alerts". Vectorised: groupbys over alert rows, no loop over
accounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEALTH_RULES = ("score_drop", "band_downgrade", "metric_drop", "champion_left")
OTHER_RULES = ("renewal", "stale")
ALL_HEALTH = "all health alerts"
MODES = ("fired", "delivered")
QUALITY_COLUMNS = [
    "mode",
    "rule",
    "alerts",
    "per_100_accounts_week",
    "per_owner_week_median",
    "per_owner_week_p95",
    "judged",
    "followed_by_churn",
    "precision",
    "base_rate",
    "lift",
    "churned_accounts_caught",
    "recall",
]


def alert_quality(
    rows: pd.DataFrame, owners: pd.Series, alerts_by_mode: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per (mode, rule): QUALITY_COLUMNS.

    rows: the backtest's account-weeks (account_id, as_of, status, score, churned, censored);
    owners: owner per account_id; alerts_by_mode: `fired` / `delivered` frames with at least
    account_id, as_of and rule.
    """
    scored = rows[(rows["status"] == "scored") & rows["score"].notna()]
    keys = scored[["account_id", "as_of", "churned", "censored"]].assign(
        account_id=scored["account_id"].astype(str),
        as_of=pd.to_datetime(scored["as_of"]),
    )
    owner = keys["account_id"].map(owners.set_axis(owners.index.astype(str))).fillna("")
    keys = keys.assign(owner_email=owner.astype(str).to_numpy())
    owner_weeks = keys.groupby(["as_of", "owner_email"], sort=False).size().index
    judged = keys[~keys["censored"]]
    base = float(judged["churned"].mean()) if len(judged) else float("nan")
    churned_accounts = judged.loc[judged["churned"], "account_id"].nunique()
    out = []
    for mode in MODES:
        alerts = alerts_by_mode.get(mode)
        if alerts is None:
            continue
        alerts = alerts.assign(
            account_id=alerts["account_id"].astype(str), as_of=pd.to_datetime(alerts["as_of"])
        )
        alerts = alerts.drop(columns=["owner_email"], errors="ignore")
        alerts = alerts.merge(keys, on=["account_id", "as_of"], how="inner")
        health = alerts[alerts["rule"].isin(HEALTH_RULES)].assign(rule=ALL_HEALTH)
        groups = [(r, alerts[alerts["rule"] == r]) for r in HEALTH_RULES + OTHER_RULES]
        groups.append((ALL_HEALTH, health))
        for rule, group in groups:
            group = group.drop_duplicates(["account_id", "as_of"])
            out.append(
                {"mode": mode, "rule": rule}
                | _measures(group, len(keys), owner_weeks, base, churned_accounts)
            )
    return pd.DataFrame(out, columns=QUALITY_COLUMNS)


def _measures(
    group: pd.DataFrame,
    scored_weeks: int,
    owner_weeks: pd.MultiIndex,
    base: float,
    churned_accounts: int,
) -> dict[str, float | int]:
    """The measures of one rule's alert rows (one per alerted account-week)."""
    per_owner = group.groupby(["as_of", "owner_email"], sort=False).size()
    counts = per_owner.reindex(owner_weeks, fill_value=0).to_numpy(dtype=float)
    judged = group[~group["censored"]]
    hits = int(judged["churned"].sum())
    precision = hits / len(judged) if len(judged) else float("nan")
    caught = judged.loc[judged["churned"], "account_id"].nunique()
    return {
        "alerts": len(group),
        "per_100_accounts_week": 100.0 * len(group) / scored_weeks if scored_weeks else np.nan,
        "per_owner_week_median": float(np.median(counts)) if len(counts) else np.nan,
        "per_owner_week_p95": float(np.percentile(counts, 95)) if len(counts) else np.nan,
        "judged": len(judged),
        "followed_by_churn": hits,
        "precision": precision,
        "base_rate": base,
        "lift": precision / base if base and np.isfinite(base) and base > 0 else np.nan,
        "churned_accounts_caught": int(caught),
        "recall": caught / churned_accounts if churned_accounts else np.nan,
    }
