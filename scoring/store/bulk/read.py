"""A query's rows as a typed pandas frame, without a Python object per value.

PostgreSQL: `COPY (query) TO STDOUT` in CSV, parsed by pyarrow in C++. SQLite: `fetchmany`
chunks turned into Arrow columns. Both meet in Arrow, so the dtypes are the same on either.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from scoring.store.bulk.driver import driver_statement, execute, is_pg
from scoring.store.bulk.kinds import ARROW_TYPES, CHUNK_ROWS, Kind, empty_table

# How SQLite hands each kind over: booleans as 0/1, dates and timestamps as ISO text.
_SQLITE_WIRE: dict[str, pa.DataType] = {
    "str": pa.string(),
    "cat": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.int64(),
    "date": pa.string(),
    "datetime": pa.string(),
}


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
    query, values = driver_statement(conn, sql, params)
    buffer = io.BytesIO()
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", values) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    names = list(types)
    if not buffer.getbuffer().nbytes:
        return empty_table(types)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types={n: ARROW_TYPES[types[n]] for n in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t", "true"],
            false_values=["f", "false"],
        ),
    )


def _read_sqlite(
    conn: sa.Connection, sql: str, types: Mapping[str, Kind], params: Mapping[str, Any] | None
) -> pa.Table:
    """Rows in chunks, each turned into columns by Arrow's C++ converter (a struct array from
    the row tuples): several times faster than transposing the tuples in Python."""
    cursor = execute(conn, sql, params)
    names = list(types)
    wire = pa.struct([(n, _SQLITE_WIRE[types[n]]) for n in names])
    chunks: list[pa.Table] = []
    try:
        while rows := cursor.fetchmany(CHUNK_ROWS):
            chunks.append(pa.Table.from_struct_array(pa.array(rows, type=wire)))
    finally:
        cursor.close()
    if not chunks:
        return empty_table(types)
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
