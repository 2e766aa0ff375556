"""Rows into a table inside the caller's transaction: COPY on PostgreSQL, chunked
executemany on SQLite, both fed from one Arrow table in the database's own types."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from scoring.store.bulk.driver import is_pg
from scoring.store.bulk.kinds import CHUNK_ROWS, Kind


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
    placeholders = ", ".join("?" for _ in arrow.column_names)
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})'
    cursor = raw.cursor()
    try:
        for rows in _sqlite_rows(arrow):
            cursor.executemany(sql, rows)
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


def _sqlite_rows(table: pa.Table) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of Python tuples; dates as ISO text, booleans as 0/1, the way SQLAlchemy stores
    them on SQLite."""
    for start in range(0, table.num_rows, CHUNK_ROWS):
        chunk = table.slice(start, CHUNK_ROWS)
        columns = []
        for field, column in zip(chunk.schema, chunk.columns, strict=True):
            if pa.types.is_date32(field.type):
                column = column.cast(pa.string())  # ISO 8601, much faster than strftime
            elif pa.types.is_timestamp(field.type):
                column = pc.strftime(column, "%Y-%m-%d %H:%M:%S")  # with µs
            elif pa.types.is_boolean(field.type):
                column = column.cast(pa.int64())
            columns.append(column.to_pylist())
        yield list(zip(*columns, strict=True))
