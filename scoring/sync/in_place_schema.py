"""The columns of a table read in place, checked from its schema alone (no row is read).

Presence and the `columns:` mapping use the file path's own checks (`parse.map_columns`,
`Columns.require`) on an empty frame with the table's column names, so the words are the
same; types are checked here because a table, unlike a CSV file, declares them: values must
be numbers and dates dates (a text column would be parsed per row by every scoring query).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.config.sources import Source
from scoring.errors import DataError
from scoring.store.warehouse import signal_columns
from scoring.sync.parse import Columns, map_columns
from scoring.sync.readers import RawTable
from scoring.sync.signals import KEY_COLUMNS


def refuse_copy_only_keys(source: Source, label: str) -> None:
    """`replace` and `combine` act on rows healthbot copies; a table read in place is not."""
    if source.replace is not None:
        raise DataError(
            f"source {label}: `replace: {source.replace}` does not apply to a table read in"
            " place: healthbot stores none of its rows, so there is nothing to retract (the"
            " table is the truth as it stands); remove `replace` from this source"
        )
    if source.combine is not None:
        raise DataError(
            f"source {label}: `combine: {source.combine}` does not apply to a table read in"
            " place: healthbot cannot merge rows it does not copy; remove `combine` and give"
            " the table one row per account, signal and date (e.g. a view with GROUP BY)"
        )


def empty_raw(columns: list[str], label: str, table: str) -> RawTable:
    """A RawTable with the table's columns and no rows: the file checks' words, reused."""
    return RawTable(
        label=label,
        frame=pd.DataFrame(columns=columns),
        files=[table],
        file_index=np.zeros(0, dtype=np.int32),
        row_number=np.zeros(0, dtype=np.int64),
        unit="row",
        text=False,
    )


def check_schema(table: Any, source: Source, label: str) -> dict[str, str]:
    """Raise DataError (one line) on a missing column or one of an unusable type; return
    how to name each of our columns (and each wide signal column) back to the user."""
    raw = empty_raw(list(table.columns), label, source.table or "")
    cols = map_columns(raw, source)
    cols.require(*KEY_COLUMNS)
    schema = table.schema()
    theirs = {ours: cols.theirs.get(ours, ours) for ours in cols.frame.columns}
    if source.layout == "wide":
        names = signal_columns(_Renamed(list(cols.frame.columns)), source)
        cols.require(*names)
        if not names:
            raise raw.fail(
                "a wide signals source needs at least one column besides account_id and date"
            )
        numeric = names
    else:
        cols.require("signal", "value")
        numeric = ["value"]
        _check_type(raw, cols, schema[theirs["signal"]], "signal", "text", _is_text)
    _check_type(raw, cols, schema[theirs["account_id"]], "account_id", "text or an integer", _id)
    _check_type(raw, cols, schema[theirs["date"]], "date", "a date or timestamp", _is_day)
    for name in numeric:
        _check_type(raw, cols, schema[theirs[name]], name, "a number", lambda t: t.is_numeric())
    shown = {name: cols.shown(name) for name in cols.frame.columns}
    shown.setdefault("value", "value")
    shown.setdefault("signal", "signal")
    return shown


class _Renamed:
    """Just enough of a table for `signal_columns`: its column names."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns


def _check_type(raw: RawTable, cols: Columns, dtype: Any, name: str, wanted: str, ok: Any) -> None:
    if not ok(dtype):
        raise raw.fail(
            f"is of type {dtype} in table {raw.files[0]}; a table read in place needs {wanted}"
            " here (cast it in a view)",
            None,
            cols.shown(name),
        )


def _is_text(dtype: Any) -> bool:
    return bool(dtype.is_string())


def _id(dtype: Any) -> bool:
    return bool(dtype.is_string() or dtype.is_integer())


def _is_day(dtype: Any) -> bool:
    return bool(dtype.is_date() or dtype.is_timestamp())
