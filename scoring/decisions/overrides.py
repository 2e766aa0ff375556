"""Score overrides: a CSM's number replaces the computed one for a while, visibly.

The computed score and its explanation are kept beside the effective one, so the override is
never silent and is gone the day it expires (the next scoring pass simply does not apply it).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.engine.score import band_ranks, shown

OVERRIDE_COLUMNS = ["computed_score", "computed_band", "override_id"]


def active_overrides(inputs: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The latest unrevoked override per account in force on `as_of` (entered ≤ as_of ≤ until).

    inputs: csm_inputs rows (id, account_id, kind, entered_on, valid_until, override_score,
    revoked_at, ...).
    """
    if inputs.empty:
        return inputs.iloc[0:0]
    day = pd.Timestamp(as_of)
    live = inputs[
        (inputs["kind"] == "override")
        & inputs["revoked_at"].isna()
        & (pd.to_datetime(inputs["entered_on"]) <= day)
        & (pd.to_datetime(inputs["valid_until"]) >= day)
    ]
    return live.sort_values(["account_id", "id"]).groupby("account_id").tail(1)


def apply_overrides(model: Model, scores: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Scores with overrides in force applied; adds computed_score, computed_band, override_id."""
    out = scores.copy()
    out["computed_score"] = out["score_shown"]
    out["computed_band"] = out["band"]
    out["override_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if overrides.empty:
        return out
    by_account = overrides.set_index("account_id")
    hit = out["account_id"].isin(by_account.index).to_numpy()
    if not hit.any():
        return out
    ids = out.loc[hit, "account_id"]
    value = ids.map(by_account["override_score"]).astype(float).to_numpy()
    effective = shown(value)
    rules = out.loc[hit, "segment_rule"].reset_index(drop=True)
    rank = band_ranks(model, rules, effective)
    names = np.array([b.name for b in model.bands], dtype=object)
    out.loc[hit, "score"] = value
    out.loc[hit, "score_shown"] = effective
    out.loc[hit, "band"] = names[np.minimum(rank, len(names) - 1)]
    out.loc[hit, "band_rank"] = rank
    out.loc[hit, "override_id"] = ids.map(by_account["id"]).astype("Int64").to_numpy()
    return out


def expired_overrides(inputs: pd.DataFrame, previous_as_of: date, as_of: date) -> pd.DataFrame:
    """Overrides in force last time that are no longer: their owners get told."""
    if inputs.empty:
        return inputs.iloc[0:0]
    before = active_overrides(inputs, previous_as_of)
    now = active_overrides(inputs, as_of)
    return before[~before["id"].isin(now["id"])]
