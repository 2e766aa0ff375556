"""Signals as integer arrays, built once per scoring pass so that every metric is a mask away.

Strings are hashed once (account ids to positions, dates to day numbers); categorical account
ids map through their few categories instead of every row, which keeps 9M-row frames fast.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.engine.aggregates import Window

EPOCH = np.datetime64("1970-01-01", "D")


def day_number(value: date | pd.Timestamp) -> int:
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - EPOCH).astype(int))


def _days(column: pd.Series) -> np.ndarray:
    dates = (
        column.to_numpy(dtype="datetime64[D]")
        if column.dtype != object
        else pd.to_datetime(column).to_numpy(dtype="datetime64[D]")
    )
    return (dates - EPOCH).astype(np.int64)


def _codes(ids: pd.Series, accounts: pd.Index) -> np.ndarray:
    """Position of each row's account in `accounts` (-1 for accounts not being scored)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        per_category = accounts.get_indexer(ids.cat.categories.astype(str))
        codes = ids.cat.codes.to_numpy()
        return np.where(codes >= 0, per_category[codes], -1)
    if hasattr(ids.array, "__arrow_array__"):
        # Arrow-backed strings: Arrow hashes 9M of them ~10x faster than a pandas index look-up.
        arrow = ids.array.__arrow_array__()
        wanted = pa.array(accounts.astype(str).to_numpy(), type=arrow.type)
        found = pc.index_in(arrow, value_set=wanted)
        return found.fill_null(-1).to_numpy().astype(np.int64)
    codes, uniques = pd.factorize(ids)
    per_unique = accounts.get_indexer(pd.Index(uniques).astype(str))
    return np.where(codes >= 0, per_unique[codes], -1)


class SignalTable:
    """Rows of every signal, keyed by account position and day number."""

    def __init__(self, signals: pd.DataFrame, accounts: pd.Index, layout: str = "long") -> None:
        self.n = len(accounts)
        codes = _codes(signals["account_id"], accounts)
        keep = codes >= 0
        self._layout = layout
        self._codes = codes[keep]
        self._days = _days(signals["date"])[keep]
        self._valid_until: np.ndarray | None = None
        if "valid_until" in signals:
            until = signals["valid_until"].to_numpy(dtype="datetime64[D]")[keep]
            self._valid_until = np.where(
                np.isnat(until), np.iinfo(np.int64).max, (until - EPOCH).astype(np.int64)
            )
        if layout == "wide":
            self._columns = {
                c: signals[c].to_numpy(dtype=float)[keep]
                for c in signals.columns
                if c not in ("account_id", "date", "valid_until")
            }
        else:
            names = signals["signal"]
            if not isinstance(names.dtype, pd.CategoricalDtype):
                names = names.astype("category")
            self._names = list(names.cat.categories)
            self._name_codes = names.cat.codes.to_numpy()[keep]
            self._values = signals["value"].to_numpy(dtype=float)[keep]

    def names(self) -> set[str]:
        return set(self._columns) if self._layout == "wide" else set(self._names)

    def window(self, signal: str, as_of: int, window_days: int) -> Window:
        """Rows of `signal` with as_of - window_days < day <= as_of, still valid on as_of."""
        in_window = (self._days > as_of - window_days) & (self._days <= as_of)
        if self._valid_until is not None:
            in_window &= self._valid_until >= as_of
        if self._layout == "wide":
            values = self._columns.get(signal)
            if values is None:
                return self._empty(as_of, window_days)
            mask = in_window & ~np.isnan(values)
        else:
            if signal not in self._names:
                return self._empty(as_of, window_days)
            values = self._values
            mask = in_window & (self._name_codes == self._names.index(signal))
        return Window(self._codes[mask], self._days[mask], values[mask], self.n, as_of, window_days)

    def _empty(self, as_of: int, window_days: int) -> Window:
        empty = np.array([], dtype=np.int64)
        return Window(empty, empty, np.array([], dtype=float), self.n, as_of, window_days)
