"""Playbooks (the suggested next step per account) and urgency (which account to call first).

The model file lists playbooks in priority order and the first whose `when` keys all hold
wins, so a CSM sees one specific next step instead of a menu. Each `when` key is a mask over
every account at once; the loop is over the handful of playbooks, never over accounts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.config.sections import PlaybookWhen
from scoring.decisions.history import main_driver
from scoring.frames import accounts_frame

PLAYBOOK_INPUT_COLUMNS = [
    "account_id",
    "band",
    "segment",
    "arr",
    "renewal_date",
    "delta",
    "previous_delta",
    "driver",
]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A frame column, or all-missing when the caller has no such input (the key never holds)."""
    if name in frame:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype=object)


def _number(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(_column(frame, name), errors="coerce").to_numpy(dtype=float)


def improving(frame: pd.DataFrame) -> np.ndarray:
    """Score up this week and up the week before: two rises, not one noisy bounce."""
    with np.errstate(invalid="ignore"):
        return (_number(frame, "delta") > 0) & (_number(frame, "previous_delta") > 0)


def when_mask(when: PlaybookWhen, as_of: date, frame: pd.DataFrame) -> np.ndarray:
    """Where all of a playbook's `when` keys hold; an empty `when` holds everywhere."""
    hit = np.ones(len(frame), dtype=bool)
    if when.band is not None:
        hit &= (_column(frame, "band") == when.band).fillna(False).to_numpy(dtype=bool)
    if when.driver is not None:
        hit &= (_column(frame, "driver") == when.driver).fillna(False).to_numpy(dtype=bool)
    if when.segment is not None:
        segment = _column(frame, "segment").astype("string").str.casefold()
        hit &= (segment == when.segment.casefold()).fillna(False).to_numpy(dtype=bool)
    if when.renewal_within_days is not None:
        renewal = pd.to_datetime(_column(frame, "renewal_date")).dt.normalize()
        days = (renewal - pd.Timestamp(as_of)).dt.days
        soon = (days >= 0) & (days <= when.renewal_within_days)
        hit &= soon.fillna(False).to_numpy(dtype=bool)
    if when.arr_at_least is not None:
        with np.errstate(invalid="ignore"):
            hit &= _number(frame, "arr") >= when.arr_at_least
    if when.improving is not None:
        hit &= improving(frame) if when.improving else ~improving(frame)
    return hit


def choose_playbooks(model: Model, as_of: date, frame: pd.DataFrame) -> pd.Series:
    """The first playbook whose `when` holds, per row of `frame` (None: no playbook matches).

    frame: PLAYBOOK_INPUT_COLUMNS (see `playbook_inputs`); a missing column means that key
    never holds (and `improving: false` always does). Returned on `frame`'s index.
    """
    chosen = np.full(len(frame), None, dtype=object)
    open_rows = np.ones(len(frame), dtype=bool)
    for playbook in model.playbooks:
        hit = open_rows & when_mask(playbook.when, as_of, frame)
        chosen[hit] = playbook.name
        open_rows &= ~hit
    return pd.Series(chosen, index=frame.index, dtype=object, name="playbook")


def playbook_dict(model: Model, name: Any) -> dict[str, Any] | None:
    """A chosen playbook as templates show it (None: no rule matched)."""
    for p in model.playbooks:
        if p.name == name:
            return {"name": p.name, "steps": list(p.steps), "links": list(p.links)}
    return None


def playbook_inputs(
    comparison: pd.DataFrame,
    accounts: pd.DataFrame,
    driver_frame: pd.DataFrame,
    previous_comparison: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Assemble the `choose_playbooks` frame from this week's and last week's `compare()`.

    `previous_delta` is last week's delta (NaN without last week's comparison); `driver` is
    `history.main_driver()` (None when no metric fell).
    """
    out = comparison[["account_id", "band", "delta"]].assign(
        account_id=comparison["account_id"].astype(str)
    )
    acc = accounts_frame(accounts)[["account_id", "segment", "arr", "renewal_date"]]
    out = out.merge(acc, on="account_id", how="left")
    if previous_comparison is not None and not previous_comparison.empty:
        prev = previous_comparison.set_index(previous_comparison["account_id"].astype(str))
        out["previous_delta"] = out["account_id"].map(prev["delta"]).astype(float)
    else:
        out["previous_delta"] = np.nan
    driver = main_driver(driver_frame) if driver_frame is not None else pd.Series(dtype=object)
    driver.index = driver.index.astype(str)
    mapped = out["account_id"].map(driver).astype(object)
    out["driver"] = mapped.where(mapped.notna(), None)
    return out[PLAYBOOK_INPUT_COLUMNS]


def urgency(score_shown: pd.Series | np.ndarray, arr: pd.Series | np.ndarray) -> np.ndarray:
    """ARR at stake: (100 − score) / 100 × ARR. Missing ARR counts as 0 (nothing known at
    stake); no score (insufficient data) is 0 too, as there is no health to weigh."""
    score = pd.to_numeric(pd.Series(np.asarray(score_shown)), errors="coerce").to_numpy(float)
    money = pd.to_numeric(pd.Series(np.asarray(arr)), errors="coerce").to_numpy(float)
    value = (100.0 - score) / 100.0 * np.nan_to_num(money, nan=0.0)
    return np.where(np.isnan(score), 0.0, value)


def order_by_urgency(frame: pd.DataFrame) -> pd.DataFrame:
    """Most ARR at stake first, then the lower score, then account_id; accounts without a
    score (insufficient data) last. Adds an `urgency` column."""
    score = pd.to_numeric(frame["score_shown"], errors="coerce")
    arr = frame["arr"] if "arr" in frame else pd.Series(np.nan, index=frame.index)
    out = frame.assign(
        urgency=urgency(score.to_numpy(), arr.to_numpy()),
        _unscored=score.isna().to_numpy(),
        _score=score.to_numpy(),
    )
    keys = ["_unscored", "urgency", "_score"] + (["account_id"] if "account_id" in out else [])
    out = out.sort_values(
        keys, ascending=[True, False, True, True][: len(keys)], kind="stable", na_position="last"
    )
    return out.drop(columns=["_unscored", "_score"]).reset_index(drop=True)
