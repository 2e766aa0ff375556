"""Per-account partial results from the database, finished into the engine's (raw, has) arrays.

The formulas are the reference engine's (`scoring.engine.aggregates`), applied to sums the
database added up; only accounts x metrics numbers ever reach Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.aggregates import not_finite_error
from scoring.engine.signal_table import day_number
from scoring.pushdown.compile import SCREEN, column_names

# A result: a frame, or arrays by column name (`segment_windows`), all one length.
Columns = Mapping[str, Any]


def numeric_column(
    frame: Columns, name: str, default: float = np.nan, rows: int | None = None
) -> np.ndarray:
    """A result column as floats, `default` where it is NULL (or where there is no column);
    `rows`: the length when `frame` is a mapping of arrays."""
    if name not in frame:
        return np.full(len(frame) if rows is None else rows, default)
    column = frame[name]
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        values = column
    else:
        numbers = pd.to_numeric(pd.Series(column), errors="coerce")
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(values), default, values) if not np.isnan(default) else values


def day_column(frame: Columns, name: str, rows: int | None = None) -> np.ndarray:
    """Day numbers of a date column (NaN where empty), whatever type the driver returned."""
    if name not in frame:
        return np.full(len(frame) if rows is None else rows, np.nan)
    column = pd.Series(frame[name])
    if column.dtype.kind != "M":  # dates as objects (a driver's), or text
        column = pd.to_datetime(column, cache=False)
    if getattr(column.dtype, "tz", None) is not None:
        column = column.dt.tz_localize(None)
    dates = column.to_numpy().astype("datetime64[D]")
    out = dates.astype("int64").astype(float)
    out[np.isnat(dates)] = np.nan
    return out


def _value(spec: AggregateSpec, frame: Columns, j: int, as_of: int, rows: int) -> np.ndarray:
    names = column_names(j)
    kind = spec.aggregate
    count = numeric_column(frame, names["n"], 0.0, rows)
    if kind == "count":
        return count
    if kind == "days_since":
        latest = day_column(frame, names["v"], rows)
        return np.where(np.isnan(latest), float(spec.window_days), as_of - latest)
    if kind == "trend":
        sx, sy = (numeric_column(frame, names[p], rows=rows) for p in ("sx", "sy"))
        sxx, sxy = (numeric_column(frame, names[p], rows=rows) for p in ("sxx", "sxy"))
        denom = count * sxx - sx * sx
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (count * sxy - sx * sy) / denom
        return np.where((count >= 2) & (denom > 0), 7.0 * slope, np.nan)
    return numeric_column(frame, names["v"], rows=rows)


def finish(
    specs: Sequence[AggregateSpec], frame: pd.DataFrame, account_ids: np.ndarray, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, has) per (account in `account_ids` order, spec), `fill` applied; DataError for a
    metric whose stored values are not finite, as the reference engine raises it."""
    frame = frame.drop_duplicates("account_id").set_index("account_id")
    frame = frame.reindex(pd.Index(account_ids, dtype=object))
    return finish_columns(specs, frame, account_ids, as_of)


def finish_columns(
    specs: Sequence[AggregateSpec], columns: Columns, account_ids: np.ndarray, as_of: date
) -> tuple[np.ndarray, np.ndarray]:
    """`finish` of results already one row per account in `account_ids` order."""
    day, rows = day_number(as_of), len(account_ids)
    raw = np.full((rows, len(specs)), np.nan)
    has = np.zeros(raw.shape, dtype=bool)
    for j, spec in enumerate(specs):
        value = _value(spec, columns, j, day, rows)
        broken = numeric_column(columns, column_names(j)["bad"], 0.0, rows) > 0
        if (np.isinf(value) | broken).any():
            raise not_finite_error(spec, np.isinf(value) | broken, account_ids, day)
        present = np.isfinite(value)
        if spec.fill is not None:
            value = np.where(present, value, spec.fill)
            present = np.ones_like(present)
        raw[:, j] = np.where(present, value, np.nan)
        has[:, j] = present
    return raw, has


def signals_seen(specs: Sequence[AggregateSpec], frame: pd.DataFrame) -> set[str]:
    """Signals with at least one row in one of their windows, over every account: a spec saw
    rows when any of its result columns holds something other than NULL or a zero count."""
    seen = set()
    for j, spec in enumerate(specs):
        names = column_names(j)
        counted = names["n"] in frame and bool((numeric_column(frame, names["n"], 0.0) > 0).any())
        valued = any(frame[names[p]].notna().any() for p in ("v", "d", "sy") if names[p] in frame)
        if counted or valued:
            seen.add(spec.signal)
    return seen


def screen_tripped(frame: pd.DataFrame) -> bool:
    """Did a wide column's screen find a value that is not a finite number?"""
    screens = [c for c in frame.columns if c.startswith(SCREEN)]
    return bool(screens) and bool(frame[screens].fillna(False).astype(bool).to_numpy().any())
