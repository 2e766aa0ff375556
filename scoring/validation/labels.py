"""Churn labels for backtest rows: which account-periods were followed by churn in time.

Split from backtest.py so that the labelling rule (first churn strictly after the as-of day,
within the horizon; censored when the horizon ends after the last observed day) reads on its
own. `churn_events` is also what the intervention and override checks label with.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.frames import accounts_frame

ROW_COLUMNS = [
    "account_id",
    "as_of",
    "period",
    "segment",
    "segment_rule",
    "score",
    "score_shown",
    "band",
    "band_rank",
    "status",
    "churn_date",
    "churned",
    "censored",
]


def churn_events(accounts: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Every known churn (account_id, date): `churned` outcomes and the accounts' churned_on."""
    out = outcomes[outcomes["outcome"].astype(str).str.lower() == "churned"]
    acc = accounts_frame(accounts)
    acc = acc.loc[acc["churned_on"].notna(), ["account_id", "churned_on"]]
    events = pd.concat(
        [
            pd.DataFrame(
                {"account_id": out["account_id"].astype(str), "date": pd.to_datetime(out["date"])}
            ),
            acc.rename(columns={"churned_on": "date"}),
        ],
        ignore_index=True,
    )
    events["date"] = events["date"].astype("datetime64[ns]").dt.normalize()
    return events.drop_duplicates().sort_values("date", kind="stable").reset_index(drop=True)


def next_churn(frame: pd.DataFrame, on: str, events: pd.DataFrame) -> pd.Series:
    """The first churn strictly after each row's `on` day for its account (NaT when none),
    aligned with `frame`'s rows: merge_asof forward. events: account_id, date."""
    left = frame[["account_id", on]].assign(_row=np.arange(len(frame)))
    left[on] = left[on].astype("datetime64[ns]")
    left = left.sort_values(on, kind="stable")
    right = events[["account_id", "date"]].rename(columns={"date": "churn_date"})
    right = right.assign(_on=right["churn_date"]).sort_values("_on", kind="stable")
    joined = pd.merge_asof(
        left,
        right,
        left_on=on,
        right_on="_on",
        by="account_id",
        direction="forward",
        allow_exact_matches=False,
    ).sort_values("_row")
    return pd.Series(joined["churn_date"].to_numpy(), index=frame.index)


def label_rows(
    rows: pd.DataFrame, events: pd.DataFrame, horizon: int, observed_until: date
) -> pd.DataFrame:
    """First churn strictly after each as-of day (merge_asof forward) and whether it falls
    within the horizon; rows keep their order."""
    churn_date = next_churn(rows, "as_of", events)
    ahead = (churn_date - rows["as_of"]).dt.days
    churned = (ahead <= horizon).fillna(False).to_numpy(dtype=bool)
    horizon_end = rows["as_of"] + pd.Timedelta(days=horizon)
    censored = ~churned & (horizon_end > pd.Timestamp(observed_until)).to_numpy()
    out = rows.assign(churn_date=churn_date, churned=churned, censored=censored)
    return out[ROW_COLUMNS]
