"""Outcomes sources: what happened to accounts (used to validate the model against reality).

Either an `outcome` column (churned, renewed, expanded, downgraded) or a 0/1 `churned` column,
where 1 records a `churned` outcome on that row's date and 0 records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.config.sources import Source
from scoring.sync.parse import Columns, dates, ids, map_columns, numbers, texts
from scoring.sync.readers import RawTable

OUTCOMES = ("churned", "renewed", "expanded", "downgraded")


@dataclass
class OutcomeBatch:
    raw: RawTable
    cols: Columns
    frame: pd.DataFrame  # account_id, date (datetime64), outcome, _pos
    rows_read: int
    skipped: int = 0


def prepare_outcomes(raw: RawTable, source: Source, timezone: str) -> OutcomeBatch:
    cols = map_columns(raw, source)
    cols.require("account_id", "date")
    if not cols.has("outcome") and not cols.has("churned"):
        cols.require("outcome")
    codes, names = ids(cols, "account_id")
    day = dates(cols, "date", timezone, allow_blank=False)
    pos = np.arange(len(day), dtype=np.int64)
    if cols.has("outcome"):
        outcome = _outcomes(cols)
        keep = np.ones(len(day), dtype=bool)
    else:
        flag = numbers(cols, "churned", allow_blank=False)
        bad = ~np.isin(flag, (0.0, 1.0))
        if bad.any():
            i = int(np.argmax(bad))
            raise raw.fail(f"{flag[i]:g} is not 0 or 1", i, cols.shown("churned"))
        keep = flag == 1.0
        outcome = np.full(len(day), "churned", dtype=object)
    frame = pd.DataFrame(
        {
            "account_id": names.to_numpy()[codes][keep],
            "date": pd.to_datetime(day[keep]).astype("datetime64[ns]"),
            "outcome": outcome[keep],
            "_pos": pos[keep],
        }
    )
    frame = frame.drop_duplicates(["account_id", "date", "outcome"]).reset_index(drop=True)
    return OutcomeBatch(raw, cols, frame, rows_read=len(day))


def _outcomes(cols: Columns) -> np.ndarray:
    values = texts(cols, "outcome")
    lowered = values.str.lower()
    bad = (values.isna() | ~lowered.isin(OUTCOMES)).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        shown = "empty" if values.iloc[i] is None else repr(values.iloc[i])
        raise cols.raw.fail(
            f"{shown} is not an outcome (expected one of {', '.join(OUTCOMES)})",
            i,
            cols.shown("outcome"),
        )
    return lowered.to_numpy(dtype=object)


def drop_unknown_outcomes(batch: OutcomeBatch, known: pd.Index, policy: str) -> None:
    unknown = ~batch.frame["account_id"].isin(known).to_numpy()
    if not unknown.any():
        return
    if policy == "skip":
        batch.skipped += int(unknown.sum())
        batch.frame = batch.frame[~unknown].reset_index(drop=True)
        return
    i = int(np.argmax(unknown))
    raise batch.raw.fail(
        f"account {batch.frame.at[i, 'account_id']!r} is unknown (not stored and in no accounts"
        " source; set `unknown_accounts: skip` on this source to skip such rows)",
        int(batch.frame.at[i, "_pos"]),
        batch.cols.shown("account_id"),
    )
