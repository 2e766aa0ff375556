"""Turning raw columns into ids, numbers and dates, refusing the first bad cell.

Every check is a pandas/numpy mask over the whole column (or over its distinct values, which is
what keeps 9M-row loads fast: a column of dates has a few hundred distinct values); the error
points at the first offending row as the user sees it in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from scoring.config.sources import Source
from scoring.sync.readers import RawTable

_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


@dataclass
class Columns:
    """The source's columns under our names, and how to name each one back to the user."""

    raw: RawTable
    frame: pd.DataFrame
    theirs: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def shown(self, name: str) -> str:
        their = self.theirs.get(name, name)
        return their if their == name else f"{their} ({name})"

    def require(self, *names: str) -> None:
        for name in names:
            if name not in self.frame.columns:
                available = ", ".join(map(str, self.raw.frame.columns))
                raise self.raw.fail(
                    f"missing required column {self.theirs.get(name, name)}"
                    f" (the columns are: {available})"
                )


def map_columns(raw: RawTable, source: Source) -> Columns:
    """Apply `columns: {our_name: their_column}`; a mapped column that is absent is an error."""
    frame = raw.frame
    frame.columns = [str(c) for c in frame.columns]
    renames: dict[str, str] = {}
    for ours, theirs in source.columns.items():
        if theirs not in frame.columns:
            available = ", ".join(frame.columns)
            raise raw.fail(
                f"missing column {theirs} (mapped to {ours} in `columns:`; the columns are:"
                f" {available})"
            )
        renames[theirs] = ours
    if renames:
        clash = [
            ours
            for theirs, ours in renames.items()
            if ours in frame.columns and ours not in renames
        ]
        frame = frame.drop(columns=clash).rename(columns=renames)
    return Columns(raw=raw, frame=frame, theirs={o: t for t, o in renames.items()})


def blank(series: pd.Series) -> np.ndarray:
    """Cells with no value: null, or empty/whitespace-only text."""
    missing = series.isna().to_numpy().copy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype(str)
        missing |= (text.str.strip() == "").to_numpy()
    return missing


def text_of(series: pd.Series, pos: int) -> str:
    value = series.iloc[pos]
    return repr(value) if isinstance(value, str) else repr(str(value))


def ids(cols: Columns, name: str) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted distinct ids of an identifier column; an empty cell is an error."""
    series = cols.frame[name]
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            series = series.astype("Int64")
    codes, uniques = pd.factorize(series, sort=False)
    names = pd.Index([str(u).strip() for u in uniques], dtype=object)
    empty = np.flatnonzero(codes < 0)
    bad_unique = (names == "").nonzero()[0] if len(names) else np.array([], dtype=int)
    bad_rows = np.flatnonzero(np.isin(codes, bad_unique)) if len(bad_unique) else empty[:0]
    first = np.concatenate([empty[:1], bad_rows[:1]])
    if len(first):
        raise cols.raw.fail("is empty", int(first.min()), cols.shown(name))
    # distinct after stripping (" acme" and "acme" are one account), sorted for locality
    final, inverse = np.unique(names.to_numpy(dtype=object).astype(str), return_inverse=True)
    return inverse[codes].astype(np.int64), pd.Index(final, dtype=object)


def numbers(cols: Columns, name: str, allow_blank: bool) -> np.ndarray:
    """Finite floats; NaN where the cell is empty (an error unless `allow_blank`)."""
    series = cols.frame[name]
    missing = blank(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        values = np.array(series.astype(float), dtype=float)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = np.array(pd.to_numeric(series).astype(float), dtype=float)
    else:
        text = series.astype(object).where(~missing, None)
        values = np.array(pd.to_numeric(text, errors="coerce").astype(float), dtype=float)
    bad = ~missing & ~np.isfinite(values)
    if bad.any():
        pos = int(np.argmax(bad))
        raise cols.raw.fail(f"{text_of(series, pos)} is not a number", pos, cols.shown(name))
    if not allow_blank and missing.any():
        pos = int(np.argmax(missing))
        raise cols.raw.fail("is empty (expected a number)", pos, cols.shown(name))
    values[missing] = np.nan
    return values


def dates(cols: Columns, name: str, timezone: str, allow_blank: bool) -> np.ndarray:
    """Days as datetime64[D] (NaT where empty); timestamps with an offset are converted to the
    model's time zone before taking the day."""
    series = cols.frame[name]
    missing = blank(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.DatetimeIndex(series)
        if stamps.tz is not None:
            stamps = stamps.tz_convert(timezone).tz_localize(None)
        days = stamps.to_numpy().astype("datetime64[D]")
        bad = np.zeros(len(series), dtype=bool)
    else:
        codes, uniques = pd.factorize(series.where(~pd.Series(missing, index=series.index)))
        parsed = _parse_uniques(list(uniques), timezone)
        # a NaT sentinel after the distinct days: an empty cell (code -1) maps to it, which
        # also keeps the look-up valid when every cell is empty (no distinct days at all)
        unique_days = np.append(parsed.to_numpy().astype("datetime64[D]"), np.datetime64("NaT"))
        days = unique_days[codes]
        bad = (codes >= 0) & np.isnat(days)
    if bad.any():
        pos = int(np.argmax(bad))
        raise cols.raw.fail(
            f"{text_of(series, pos)} is not a date (expected YYYY-MM-DD)", pos, cols.shown(name)
        )
    if not allow_blank and missing.any():
        pos = int(np.argmax(missing))
        raise cols.raw.fail("is empty (expected a date)", pos, cols.shown(name))
    return days


def _parse_uniques(values: list[object], timezone: str) -> pd.DatetimeIndex:
    """Parse distinct cells: ISO dates/timestamps as text, or date/datetime objects."""
    out = pd.Series(pd.NaT, index=range(len(values)), dtype="datetime64[ns]")
    texts = {i: v.strip() for i, v in enumerate(values) if isinstance(v, str)}
    naive = {i: t for i, t in texts.items() if not _OFFSET.search(t)}
    aware = {i: t for i, t in texts.items() if i not in naive}
    if naive:
        parsed = pd.to_datetime(list(naive.values()), format="ISO8601", errors="coerce")
        out.iloc[list(naive)] = parsed.astype("datetime64[ns]")
    if aware:
        parsed = pd.to_datetime(list(aware.values()), format="ISO8601", errors="coerce", utc=True)
        out.iloc[list(aware)] = (
            parsed.tz_convert(timezone).tz_localize(None).astype("datetime64[ns]")
        )
    for i, value in enumerate(values):
        if isinstance(value, datetime | pd.Timestamp):
            stamp = pd.Timestamp(value)
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert(timezone).tz_localize(None)
            out.iloc[i] = stamp
        elif isinstance(value, date):
            out.iloc[i] = pd.Timestamp(value)
    return pd.DatetimeIndex(out).normalize()


def texts(cols: Columns, name: str) -> pd.Series:
    """Optional text: stripped, None where empty."""
    series = cols.frame[name]
    missing = blank(series)
    out = series.astype(str).str.strip().astype(object)
    out[missing] = None
    return out
