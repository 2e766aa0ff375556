"""The frame contract between storage, sync and the engine.

accounts: one row per account
    account_id (str, unique), name (str), owner_email (str|None), segment (str|None),
    arr (float, NaN when unknown), renewal_date (datetime64, NaT when unknown),
    status (str|None), churned_on (datetime64, NaT when not churned), more columns allowed
signals (long): one row per observation
    account_id (str), date (datetime64[ns], midnight), signal (str), value (float64),
    valid_until (optional datetime64; a manual row is ignored after it)
"""

from __future__ import annotations

import pandas as pd

ACCOUNT_COLUMNS = [
    "account_id",
    "name",
    "owner_email",
    "segment",
    "arr",
    "renewal_date",
    "status",
    "churned_on",
]
SIGNAL_COLUMNS = ["account_id", "date", "signal", "value"]


def accounts_frame(accounts: pd.DataFrame) -> pd.DataFrame:
    """Fill in the optional account columns with their defaults and normalise types."""
    out = accounts.copy()
    out["account_id"] = out["account_id"].astype(str)
    if "name" not in out:
        out["name"] = out["account_id"]
    out["name"] = out["name"].where(out["name"].notna(), out["account_id"]).astype(str)
    for col in ("owner_email", "segment", "status"):
        if col not in out:
            out[col] = None
    out["arr"] = pd.to_numeric(out["arr"], errors="coerce") if "arr" in out else float("nan")
    for col in ("renewal_date", "churned_on"):
        out[col] = pd.to_datetime(out[col]) if col in out else pd.NaT
        out[col] = out[col].astype("datetime64[ns]")
    return out.reset_index(drop=True)


def wide_to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """(account_id, date, one column per signal) -> long rows; an empty cell is no observation."""
    value_cols = [c for c in wide.columns if c not in ("account_id", "date")]
    long = wide.melt(
        id_vars=["account_id", "date"], value_vars=value_cols, var_name="signal", value_name="value"
    )
    return long[long["value"].notna()].reset_index(drop=True)
