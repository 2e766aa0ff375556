"""How early the score warns, and churn per band with unfinished horizons counted honestly.

Lead time: for every churn the backtest saw coming (an account-period followed by churn within
the horizon), the weeks between the churn and the first as-of day within that horizon on which
the score was in a band or worse, or on which a health alert fired (`HEALTH_RULES`, from the
same firings the alert tables count). Only the horizon before the churn is searched, so a dip a
year earlier that recovered does not count as a warning; a churn that was already in the band at
the first backtested period has a lead time cut short by the backtest's start (counted in
`at_first_period`).

Survival: an account-period whose horizon reaches past the last observed day has not had its
whole horizon yet. Counting it as "stayed" understates churn; the Kaplan-Meier estimate
(lifelines) counts it as censored on the day observation stops. Account-periods of one account
are not independent, so the confidence intervals are narrower than they should be; the point
estimates are what to read.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.decisions.alert_schema import HEALTH_RULES

ANY_ALERT = "any health alert"
LEAD_COLUMNS = ["warning", "churns", "warned", "share", "median", "q1", "q3", "at_first_period"]
SURVIVAL_COLUMNS = ["band", "rows", "censored", "churned", "km_churn", "km_low", "km_high"]


def _scored(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[(rows["status"] == "scored").to_numpy() & rows["score"].notna().to_numpy()]


def lead_times(rows: pd.DataFrame, alerts: pd.DataFrame, band_names: list[str]) -> pd.DataFrame:
    """Weeks before churn of the first warning, per kind: each band below the top ("X or
    worse": band_rank >= the band's), then any health alert. `rows`: the backtest's rows;
    `alerts`: its firings (account_id, as_of, rule)."""
    ahead = _scored(rows)
    ahead = ahead[ahead["churned"].to_numpy(dtype=bool)]
    keys = ahead["account_id"].astype(str) + "\x00" + ahead["churn_date"].astype(str)
    weeks = (ahead["churn_date"] - ahead["as_of"]).dt.days.to_numpy(dtype=float) / 7.0
    churns = keys.nunique()
    first_as_of = rows["as_of"].min()
    early = pd.Series(ahead["as_of"].to_numpy() == first_as_of).groupby(keys.to_numpy()).any()
    warnings: list[tuple[str, np.ndarray]] = []
    rank = pd.to_numeric(ahead["band_rank"], errors="coerce").to_numpy(dtype=float)
    for i, name in enumerate(band_names[1:], start=1):
        label = name if i == len(band_names) - 1 else f"{name} or worse"
        warnings.append((label.replace("_", " "), rank >= i))
    health = alerts[alerts["rule"].isin(HEALTH_RULES)][["account_id", "as_of"]]
    fired = pd.MultiIndex.from_frame(health.astype({"account_id": str}).drop_duplicates())
    index = pd.MultiIndex.from_arrays([ahead["account_id"].astype(str), ahead["as_of"]])
    warnings.append((ANY_ALERT, index.isin(fired)))
    out = []
    for label, hit in warnings:
        lead = pd.Series(weeks[hit]).groupby(keys.to_numpy()[hit]).max()
        q1, median, q3 = lead.quantile([0.25, 0.5, 0.75]) if len(lead) else [np.nan] * 3
        out.append(
            {
                "warning": label,
                "churns": int(churns),
                "warned": len(lead),
                "share": len(lead) / churns if churns else np.nan,
                "median": float(median),
                "q1": float(q1),
                "q3": float(q3),
                "at_first_period": int(early.reindex(lead.index).sum()),
            }
        )
    return pd.DataFrame(out, columns=LEAD_COLUMNS)


def durations(
    rows: pd.DataFrame, horizon: int, observed_until: date
) -> tuple[np.ndarray, np.ndarray]:
    """(days followed, churned) per row: days to the churn when it came within the horizon,
    else the horizon or the days until observation stopped, whichever is shorter (censored)."""
    churned = rows["churned"].to_numpy(dtype=bool)
    to_churn = (rows["churn_date"] - rows["as_of"]).dt.days.to_numpy(dtype=float)
    seen = (pd.Timestamp(observed_until) - rows["as_of"]).dt.days.to_numpy(dtype=float)
    followed = np.where(churned, to_churn, np.clip(np.minimum(seen, horizon), 0, None))
    return followed, churned


def survival_by_band(
    rows: pd.DataFrame, band_names: list[str], horizon: int, observed_until: date
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Kaplan-Meier churn within the horizon per band (table), and each band's churn curve
    (days, cumulative churn share) for the chart."""
    from lifelines import KaplanMeierFitter  # slow to import; only a backtest needs it

    scored = _scored(rows)
    followed, churned = durations(scored, horizon, observed_until)
    censored = scored["censored"].to_numpy(dtype=bool)
    band = scored["band"].astype(str).to_numpy()
    out, curves = [], {}
    for name in band_names:
        mask = band == name
        entry = {"band": name, "rows": int(mask.sum()), "censored": int(censored[mask].sum())}
        entry["churned"] = int(churned[mask].sum())
        if not mask.any():
            out.append(entry | {"km_churn": np.nan, "km_low": np.nan, "km_high": np.nan})
            continue
        fit = KaplanMeierFitter().fit(followed[mask], churned[mask])
        surv = fit.survival_function_.iloc[:, 0]
        ci = fit.confidence_interval_survival_function_
        at = surv.index.searchsorted(horizon, side="right") - 1
        entry["km_churn"] = float(1.0 - surv.iloc[at])
        entry["km_low"] = float(1.0 - ci.iloc[at, 1])
        entry["km_high"] = float(1.0 - ci.iloc[at, 0])
        out.append(entry)
        keep = surv.index.to_numpy() <= horizon
        curves[name] = (surv.index.to_numpy()[keep], 1.0 - surv.to_numpy()[keep])
    return pd.DataFrame(out, columns=SURVIVAL_COLUMNS), curves
