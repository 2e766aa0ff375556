"""Moving whole frames in and out of the database without a Python object per row.

PostgreSQL: `COPY ... FROM STDIN` / `COPY (query) TO STDOUT` in CSV, with pyarrow doing the CSV
work in C++. SQLite: `executemany` in chunks going in, `fetchmany` into Arrow arrays coming out.
Both directions meet in Arrow, so the pandas dtypes come out the same on either database.

Queries are written with `:name` placeholders; `IN` lists go through `in_list()` as one
parameter (a JSON array on SQLite, an array on PostgreSQL), so no list is too long.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

Kind = Literal["str", "cat", "float", "int", "bool", "date", "datetime"]
CHUNK_ROWS = 250_000

_ARROW: dict[str, pa.DataType] = {
    "str": pa.string(),
    "cat": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.string(),  # parsed by pandas: PostgreSQL prints the offset
}
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def is_pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def in_list(conn: sa.Connection, column: str, param: str) -> str:
    """`column IN (:param)` for a list of any length, bound as one parameter (see `bind`)."""
    if is_pg(conn):
        return f"{column} = ANY(:{param})"
    return f"{column} IN (SELECT value FROM json_each(:{param}))"


def bind(conn: sa.Connection, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the driver wants them: ISO dates and JSON lists on SQLite."""
    if is_pg(conn):
        return {
            k: list(v) if isinstance(v, (list, tuple, pd.Index, np.ndarray)) else v
            for k, v in params.items()
        }
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, (list, tuple, pd.Index, np.ndarray)):
            out[key] = json.dumps([str(v) for v in value])
        else:
            out[key] = value
    return out


def execute(conn: sa.Connection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    """Run driver-level SQL with `:name` parameters; returns the DBAPI cursor."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    if is_pg(conn):
        cursor.execute(_PARAM.sub(r"%(\1)s", sql.replace("%", "%%")), bind(conn, params or {}))
    else:
        cursor.execute(sql, bind(conn, params or {}))
    return cursor


def read_frame(
    conn: sa.Connection,
    sql: str,
    types: Mapping[str, Kind],
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Rows of `sql` (selecting exactly the columns of `types`, in order) as a typed frame."""
    names = list(types)
    table = (
        _read_pg(conn, sql, types, params)
        if is_pg(conn)
        else _read_sqlite(conn, sql, types, params)
    )
    return _to_pandas(table, names, types)


def _read_pg(
    conn: sa.Connection, sql: str, types: Mapping[str, Kind], params: Mapping[str, Any] | None
) -> pa.Table:
    raw = conn.connection.driver_connection
    assert raw is not None
    query = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
    buffer = io.BytesIO()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", bind(conn, params or {})) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    names = list(types)
    if not buffer.getbuffer().nbytes:
        return pa.table({n: pa.array([], _ARROW[types[n]]) for n in names})
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types={n: _ARROW[types[n]] for n in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t", "true"],
            false_values=["f", "false"],
        ),
    )


_WIRE: dict[str, pa.DataType] = {
    "str": pa.string(),
    "cat": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.int64(),  # SQLite stores booleans as 0/1
    "date": pa.string(),  # and dates as ISO text
    "datetime": pa.string(),
}


def _read_sqlite(
    conn: sa.Connection, sql: str, types: Mapping[str, Kind], params: Mapping[str, Any] | None
) -> pa.Table:
    """Rows in chunks, each turned into columns by Arrow's C++ converter (a struct array from
    the row tuples): several times faster than transposing the tuples in Python."""
    cursor = execute(conn, sql, params)
    names = list(types)
    wire = pa.struct([(n, _WIRE[types[n]]) for n in names])
    chunks: list[pa.Table] = []
    try:
        while rows := cursor.fetchmany(CHUNK_ROWS):
            chunks.append(pa.Table.from_struct_array(pa.array(rows, type=wire)))
    finally:
        cursor.close()
    if not chunks:
        return pa.table({n: pa.array([], _ARROW[types[n]]) for n in names})
    table = pa.concat_tables(chunks)
    for i, name in enumerate(names):
        if types[name] == "date":
            table = table.set_column(i, name, table.column(name).cast(pa.date32()))
        elif types[name] == "bool":
            table = table.set_column(i, name, table.column(name).cast(pa.bool_()))
    return table


def _to_pandas(table: pa.Table, names: list[str], types: Mapping[str, Kind]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name in names:
        column = table.column(name)
        kind = types[name]
        if kind == "cat":
            data[name] = column.dictionary_encode().to_pandas().astype("category")
        elif kind == "date":
            data[name] = column.cast(pa.timestamp("ns")).to_pandas().astype("datetime64[ns]")
        elif kind == "datetime":
            stamps = pd.to_datetime(column.to_pandas(), utc=True, format="ISO8601")
            data[name] = stamps.dt.tz_localize(None).astype("datetime64[ns]")  # naive UTC
        elif kind == "int":
            data[name] = column.to_pandas(integer_object_nulls=False).astype("Int64")
        elif kind == "bool":
            data[name] = column.to_pandas().astype(bool)
        elif kind == "float":
            data[name] = column.to_pandas().astype("float64")
        else:
            data[name] = column.to_pandas()
    frame = pd.DataFrame(data, columns=names)
    return frame.reset_index(drop=True)


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


PG_EPOCH_DAYS = 10957  # 2000-01-01, day zero of PostgreSQL's binary dates
_BINARY = {"int4": ">i4", "float8": ">f8", "date": ">i4"}


def copy_binary(
    conn: sa.Connection, table: str, columns: Mapping[str, tuple[str, np.ndarray]]
) -> int:
    """COPY fixed-width columns (int4, float8, date as datetime64[D]) into a PostgreSQL table
    in the binary format, built by numpy: no text to format or for the server to parse, no
    Python object per row. No NULLs."""
    names = list(columns)
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_len", ">i4"), (name, _BINARY[columns[name][0]])]
    dtype = np.dtype(fields)
    n = len(next(iter(columns.values()))[1]) if columns else 0
    raw = conn.connection.driver_connection
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in names)
    with (
        raw.cursor() as cursor,
        cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN (FORMAT binary)') as copy,
    ):
        copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
        for start in range(0, n, CHUNK_ROWS * 4):
            stop = min(start + CHUNK_ROWS * 4, n)
            block = np.empty(stop - start, dtype=dtype)
            block["count"] = len(names)
            for name in names:
                kind, values = columns[name]
                block[f"{name}_len"] = 8 if kind == "float8" else 4
                part = values[start:stop]
                if kind == "date":
                    part = part.astype("datetime64[D]").astype(np.int64) - PG_EPOCH_DAYS
                block[name] = part
            copy.write(block.tobytes())
        copy.write(b"\xff\xff")
    return n


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
