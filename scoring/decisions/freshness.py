"""How fresh each metric's data is: its latest date, the cadence its signal normally comes at,
and whether it is stale, per account, computed once per period (frames in, frame out).

A signal is stale when its latest value is older than STALE_FACTOR × its cadence: the cadence
declared for the signal in the model file (`signals.<name>.cadence_days`), else learned from
the median gap between the account's own past values, else the median of what was learned
for that signal over all accounts. So a monthly NPS survey is not stale after 14 days, and a
daily usage feed is after 3. `dates` counts the account's distinct dates of the signal in
the rows read, which tells a feed that came regularly for weeks from two survey answers that
happened to come a few days apart (scoring/decisions/feed_stale.py).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Model

STALE_FACTOR = 1.5
FRESHNESS_COLUMNS = ["account_id", "metric", "latest", "cadence_days", "age_days", "stale", "dates"]


def metric_freshness(
    model: Model, signals: pd.DataFrame, as_of: date, placed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per account and metric with data on or before `as_of` (FRESHNESS_COLUMNS).

    signals: account_id, signal, date (what the scoring pass read). Works on integer codes
    (one lexsort, numpy diffs, one integer groupby), never on strings per row. `placed`:
    the same per account and signal already computed where the rows are (signals read in
    place: account_id, signal, latest, own, gaps), taken as they are."""
    used = sorted({m.signal for m in model.metrics.values()})
    end = int(np.datetime64(as_of, "D").astype(np.int64))
    per = _per_key(signals, used, end)
    if placed is not None and len(placed):
        extra = placed[placed["signal"].isin(used)]
        latest = pd.to_datetime(extra["latest"]).to_numpy().astype("datetime64[D]")
        extra = pd.DataFrame(
            {
                "account_id": extra["account_id"].astype(str).to_numpy(dtype=object),
                "signal": [used.index(n) for n in extra["signal"]],
                "latest": latest.astype(np.int64),
                "own": extra["own"].to_numpy(dtype=float),
                "dates": extra["gaps"].to_numpy(dtype=np.int64) + 1,
            }
        )
        per = pd.concat([per, extra], ignore_index=True) if len(per) else extra
    if not len(per):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FRESHNESS_COLUMNS})
    learned = per.groupby("signal")["own"].median()
    declared = pd.Series(
        {
            used.index(n): b.cadence_days
            for n, b in model.signals.items()
            if b.cadence_days and n in used
        },
        dtype=float,
    )
    cadence = per["own"].fillna(per["signal"].map(learned))
    per["cadence_days"] = per["signal"].map(declared).fillna(cadence).astype(float)
    per["age_days"] = end - per["latest"]
    per["stale"] = (per["age_days"] > STALE_FACTOR * per["cadence_days"]).fillna(False)
    per["latest"] = per["latest"].to_numpy().astype("datetime64[D]")
    metrics = pd.DataFrame(
        {
            "metric": list(model.metrics),
            "signal": [used.index(m.signal) for m in model.metrics.values()],
        }
    )
    out = per.merge(metrics, on="signal")
    return out[FRESHNESS_COLUMNS].sort_values(["account_id", "metric"], ignore_index=True)


def _per_key(signals: pd.DataFrame, used: list[str], end: int) -> pd.DataFrame:
    """account_id, signal (its index in `used`), latest (day number), own (median gap in
    days between the account's distinct dates of that signal; NaN with one date) and dates
    (how many distinct dates)."""
    day = pd.to_datetime(signals["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    codes, names = _codes(signals["signal"])
    signal_code = np.array([used.index(n) if n in used else -1 for n in names] + [-1])[codes]
    keep = (day <= end) & (signal_code >= 0)
    if not keep.any():
        return pd.DataFrame(columns=["account_id", "signal", "latest", "own", "dates"])
    account_code, accounts = _codes(signals["account_id"])
    key = account_code[keep].astype(np.int64) * len(used) + signal_code[keep]
    day = day[keep]
    order = np.lexsort((day, key))
    key, day = key[order], day[order]
    new_key = np.r_[True, key[1:] != key[:-1]]
    fresh_day = new_key | np.r_[True, day[1:] != day[:-1]]  # one row per key and date
    key, day, new_key = key[fresh_day], day[fresh_day], new_key[fresh_day]
    gap = np.where(new_key, np.nan, np.r_[0, np.diff(day)].astype(float))
    last = np.r_[key[1:] != key[:-1], True]
    per = pd.DataFrame({"key": key[last], "latest": day[last]})
    own = pd.Series(gap).groupby(key).median()  # NaN for a key with one date
    per["own"] = own.reindex(per["key"].to_numpy()).to_numpy()
    per["dates"] = np.bincount(np.cumsum(new_key) - 1)  # keys are sorted: one run per key
    per["signal"] = per["key"] % len(used)
    per["account_id"] = np.asarray(accounts, dtype=object)[(per["key"] // len(used)).to_numpy()]
    return per[["account_id", "signal", "latest", "own", "dates"]]


def _codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(integer code per row, the names they stand for): a categorical's own codes (the
    scoring pass reads signals as categoricals), else a factorisation."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), [str(c) for c in column.cat.categories]
    codes, names = pd.factorize(column.to_numpy())
    return codes, [str(n) for n in names]
