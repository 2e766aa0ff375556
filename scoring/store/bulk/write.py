"""Rows into a table inside the caller's transaction: COPY on PostgreSQL, chunked
executemany on SQLite, both fed from one Arrow table in the database's own types.

On SQLite the cost is the driver's, per statement and per bound value, so each statement
inserts many rows (`INSERT ... VALUES (...), (...), ...`, SQLITE_VARIABLES values at most) and
the Python values are made by numpy from whole columns (`astype(object)`), not by Arrow's
per-value `to_pylist`: 500,000 snapshot-metric rows go in in about 60% of the time of a
row-per-statement executemany of tuples (docs/architecture.md, "Storage").
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from scoring.store.bulk.driver import is_pg
from scoring.store.bulk.kinds import CHUNK_ROWS, Kind

# Values one SQLite statement may bind: SQLITE_MAX_VARIABLE_NUMBER before SQLite 3.32 (later
# builds allow 32,766; more rows per statement gains nothing measurable).
SQLITE_VARIABLES = 999
# Rows turned into Python values at a time on SQLite. Each value is a Python object (~50 bytes
# with its pointers), so the batch is kept small: 20,000 rows of 13 columns is ~15 MB, where
# CHUNK_ROWS (250,000) added 200 MB to the peak of `score` for no speed.
SQLITE_BATCH_ROWS = 20_000


def write_frame(
    conn: sa.Connection, table: str, frame: pd.DataFrame, types: Mapping[str, Kind]
) -> int:
    """Insert every row of `frame` (the columns of `types`) into `table`; returns the count."""
    return write_arrow(conn, table, to_arrow(frame, types))


def write_arrow(conn: sa.Connection, table: str, arrow: pa.Table) -> int:
    """Insert an Arrow table whose column names are `table`'s: COPY on PostgreSQL, chunked
    executemany on SQLite. Runs inside the caller's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    columns = ", ".join(f'"{n}"' for n in arrow.column_names)
    if is_pg(conn):
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN (FORMAT csv)') as copy,
        ):
            for block in _csv_blocks(arrow):
                copy.write(block)
        return arrow.num_rows
    cursor = raw.cursor()
    try:
        _sqlite_insert(cursor, table, arrow)
    finally:
        cursor.close()
    return arrow.num_rows


def to_arrow(frame: pd.DataFrame, types: Mapping[str, Kind]) -> pa.Table:
    """The frame's columns in their database types (dates as date32, timestamps to the µs)."""
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name, kind in types.items():
        series = frame[name]
        if kind == "date":
            values = pd.to_datetime(series).astype("datetime64[us]")
            arrays[name] = pa.array(values, pa.timestamp("us"), from_pandas=True).cast(pa.date32())
        elif kind == "datetime":  # naive UTC, like utcnow(); aware values are converted
            values = pd.to_datetime(series, utc=True).dt.tz_localize(None).astype("datetime64[us]")
            arrays[name] = pa.array(values, pa.timestamp("us"), from_pandas=True)
        elif kind in ("str", "cat"):
            if isinstance(series.dtype, pd.CategoricalDtype):
                series = series.astype(object)
            arrays[name] = pa.array(series, pa.string(), from_pandas=True)
        elif kind == "bool":
            arrays[name] = pa.array(series.astype(bool), pa.bool_())
        elif kind == "int":
            arrays[name] = pa.array(series.astype("Int64"), pa.int64(), from_pandas=True)
        else:
            arrays[name] = pa.array(
                pd.to_numeric(series).astype("float64"), pa.float64(), from_pandas=True
            )
    return pa.table(arrays)


def _csv_blocks(table: pa.Table) -> Iterator[bytes]:
    options = pacsv.WriteOptions(include_header=False)
    for start in range(0, table.num_rows, CHUNK_ROWS):
        sink = io.BytesIO()
        pacsv.write_csv(table.slice(start, CHUNK_ROWS), sink, options)
        yield sink.getvalue()


def _sqlite_insert(cursor: Any, table: str, arrow: pa.Table) -> None:
    """executemany of multi-row INSERTs, then one-row INSERTs for the chunk's last rows."""
    names = arrow.column_names
    width = len(names)
    per = max(1, SQLITE_VARIABLES // width)  # rows per statement
    columns = ", ".join(f'"{n}"' for n in names)
    row = f"({', '.join('?' * width)})"
    many = f'INSERT INTO "{table}" ({columns}) VALUES {", ".join([row] * per)}'
    one = f'INSERT INTO "{table}" ({columns}) VALUES {row}'
    step = max(per, SQLITE_BATCH_ROWS // per * per)
    for start in range(0, arrow.num_rows, step):
        grid = _sqlite_values(arrow.slice(start, step))
        full = len(grid) // per * per
        if full:
            cursor.executemany(many, grid[:full].reshape(-1, per * width).tolist())
        if full < len(grid):
            cursor.executemany(one, grid[full:].tolist())


def _sqlite_values(chunk: pa.Table) -> np.ndarray:
    """The chunk as a rows x columns grid of the Python values sqlite3 binds: dates as ISO
    text, timestamps as text to the µs, booleans as 0/1 (the way SQLAlchemy stores them on
    SQLite), None for NULL. Made column by column by numpy, no Python loop per value."""
    grid = np.empty((chunk.num_rows, chunk.num_columns), dtype=object)
    for j, column in enumerate(chunk.columns):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_date32(kind):
            column = column.cast(pa.string())  # ISO 8601, much faster than strftime
        elif pa.types.is_timestamp(kind):
            column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")  # with µs
        elif pa.types.is_boolean(kind):
            column = column.cast(pa.int64())
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            # to_numpy would turn an integer column with NULLs into floats: fill, then None.
            values = column.fill_null(0).to_numpy().astype(object)
            if column.null_count:
                values[column.is_null().to_numpy()] = None
            grid[:, j] = values
        else:  # text (None for NULL), bytes, or whatever else the driver may bind
            grid[:, j] = column.to_numpy(zero_copy_only=False)
    return grid
