"""Fixed-width numpy columns into a PostgreSQL table by binary COPY.

The staging of a sync sends millions of (int, int, date, float) rows: in the binary format,
built by numpy, there is no text to format or for the server to parse and no Python object
per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sqlalchemy as sa

from scoring.store.bulk.kinds import CHUNK_ROWS

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
