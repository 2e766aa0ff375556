"""Accounts sources: validate the export, then work out inserts, updates and who went missing.

Only `account_id` is required; `name` defaults to the id and the other known columns to empty.
Columns we do not know are kept as JSON `attributes` (segment rules match on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.config.sources import Source
from scoring.sync.parse import Columns, blank, dates, ids, map_columns, numbers, texts
from scoring.sync.readers import RawTable

TEXT_FIELDS = ("owner_email", "segment", "status")
DATE_FIELDS = ("renewal_date", "churned_on")
KNOWN = ("account_id", "name", *TEXT_FIELDS, "arr", *DATE_FIELDS)
INACTIVE_STATUSES = ("churned", "inactive", "cancelled", "canceled", "closed")
COMPARED = ("name", *TEXT_FIELDS, "arr", *DATE_FIELDS, "attributes", "inactive_since")


@dataclass
class AccountBatch:
    raw: RawTable
    cols: Columns
    frame: pd.DataFrame  # account_id + KNOWN fields + attributes, one row per account
    pos: np.ndarray  # row of raw for each frame row


def prepare_accounts(raw: RawTable, source: Source, timezone: str) -> AccountBatch:
    cols = map_columns(raw, source)
    cols.require("account_id")
    codes, names = ids(cols, "account_id")
    _refuse_duplicates(cols, codes, names)
    account_id = names.to_numpy()[codes]
    frame = pd.DataFrame({"account_id": account_id})
    name = texts(cols, "name") if cols.has("name") else pd.Series(None, index=frame.index)
    frame["name"] = name.where(name.notna(), pd.Series(account_id)).astype(object)
    for field in TEXT_FIELDS:
        frame[field] = texts(cols, field).to_numpy() if cols.has(field) else None
    frame["arr"] = numbers(cols, "arr", allow_blank=True) if cols.has("arr") else np.nan
    for field in DATE_FIELDS:
        values = dates(cols, field, timezone, allow_blank=True) if cols.has(field) else None
        frame[field] = (
            pd.to_datetime(values).astype("datetime64[ns]") if values is not None else pd.NaT
        )
    frame["attributes"] = _attributes(cols)
    return AccountBatch(raw, cols, frame, np.arange(len(frame), dtype=np.int64))


def _refuse_duplicates(cols: Columns, codes: np.ndarray, names: pd.Index) -> None:
    dup = pd.Series(codes).duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        first = int(np.argmax(codes == codes[i]))
        raise cols.raw.fail(
            f"account {names[codes[i]]!r} appears twice (also at {cols.raw.where(first)})",
            i,
            cols.shown("account_id"),
        )


def _attributes(cols: Columns) -> pd.Series:
    """The export's other columns as one JSON object per account (None when there are none)."""
    extra = [c for c in cols.frame.columns if c not in KNOWN]
    if not extra:
        return pd.Series(None, index=cols.frame.index, dtype=object)
    data = pd.DataFrame({c: _typed(cols, c) for c in extra}, index=cols.frame.index)
    lines = data.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return pd.Series(lines.rstrip("\n").split("\n"), index=cols.frame.index, dtype=object)


def _typed(cols: Columns, name: str) -> pd.Series:
    """Text cells of a number or true/false column become numbers or booleans, so a segment
    rule like `where: {employees: 100}` matches whether the export was CSV or Parquet."""
    series = cols.frame[name]
    if not cols.raw.text:
        return series
    values = texts(cols, name)
    present = values.notna()
    if not present.any():
        return values
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric[present].notna().all() and np.isfinite(numeric[present]).all():
        whole = (numeric[present] == np.floor(numeric[present])).all()
        return numeric.astype("Int64") if whole else numeric
    lowered = values.str.lower()
    if lowered[present].isin(["true", "false"]).all():
        return lowered.map({"true": True, "false": False}).astype("boolean")
    return values


def combine_batches(batches: list[AccountBatch]) -> pd.DataFrame:
    """All accounts sources as one frame; an account in two sources is refused."""
    frames = [b.frame.assign(_batch=i, _pos=b.pos) for i, b in enumerate(batches)]
    frame = pd.concat(frames, ignore_index=True)
    dup = frame["account_id"].duplicated()
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        later = batches[int(frame.at[i, "_batch"])]
        first_row = frame.index[frame["account_id"] == frame.at[i, "account_id"]][0]
        earlier = batches[int(frame.at[first_row, "_batch"])]
        raise later.raw.fail(
            f"account {frame.at[i, 'account_id']!r} is also in source {earlier.raw.label}"
            f" ({earlier.raw.where(int(frame.at[first_row, '_pos']))})",
            int(frame.at[i, "_pos"]),
            later.cols.shown("account_id"),
        )
    return frame


@dataclass
class AccountChanges:
    """What merging an export into the stored accounts does."""

    inserts: pd.DataFrame
    updates: pd.DataFrame
    went_missing: list[str]  # stored, active, absent from the export: inactive from today
    per_batch: dict[int, tuple[int, int, int]]  # batch -> (inserted, updated, unchanged)


def plan_accounts(export: pd.DataFrame, stored: pd.DataFrame, today: date) -> AccountChanges:
    """Compare the export with the stored accounts (both frames, no SQL)."""
    new = export.copy()
    status = new["status"]
    inactive = (
        status.notna() & status.astype(str).str.strip().str.lower().isin(INACTIVE_STATUSES)
    ).to_numpy(dtype=bool)
    before = stored.set_index("account_id")
    exists = new["account_id"].isin(before.index).to_numpy()
    previous_since = pd.to_datetime(before["inactive_since"].reindex(new["account_id"]).to_numpy())
    today_ts = pd.Timestamp(today)
    new["inactive_since"] = np.where(
        inactive, np.where(pd.isna(previous_since), today_ts, previous_since), pd.NaT
    )
    new["inactive_since"] = pd.to_datetime(new["inactive_since"]).astype("datetime64[ns]")
    old = before.reindex(new["account_id"]).reset_index(drop=True)
    changed = np.zeros(len(new), dtype=bool)
    for field in COMPARED:
        a, b = new[field].reset_index(drop=True), old[field]
        both_missing = blank(a) & blank(b)
        equal = (a.astype(object) == b.astype(object)).to_numpy(dtype=bool)
        changed |= ~(equal | both_missing)
    inserts = new[~exists]
    updates = new[exists & changed]
    per_batch: dict[int, tuple[int, int, int]] = {}
    for batch, rows in new.groupby("_batch").groups.items():
        idx = new.index.get_indexer(rows)
        per_batch[int(batch)] = (
            int((~exists[idx]).sum()),
            int((exists[idx] & changed[idx]).sum()),
            int((exists[idx] & ~changed[idx]).sum()),
        )
    active_before = before.index[before["inactive_since"].isna().to_numpy()]
    went_missing = sorted(set(active_before) - set(new["account_id"]))
    return AccountChanges(inserts, updates, went_missing, per_batch)
