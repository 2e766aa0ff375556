"""The column kinds bulk reads and writes are described with, and their Arrow types.

A frame's columns are named with a `Kind` rather than a pandas or SQL type because the same
kind maps to different wire formats on SQLite and PostgreSQL but to one pandas dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pyarrow as pa

Kind = Literal["str", "cat", "float", "int", "bool", "date", "datetime"]

# Rows per executemany / fetchmany / CSV block: big enough to amortise the calls, small enough
# to keep one chunk's Python tuples in memory.
CHUNK_ROWS = 250_000

ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "cat": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.string(),  # parsed by pandas: PostgreSQL prints the offset
}


def empty_table(types: Mapping[str, Kind]) -> pa.Table:
    """A table with the columns of `types` and no rows (what a query that found nothing gives)."""
    return pa.table({n: pa.array([], ARROW_TYPES[kind]) for n, kind in types.items()})
