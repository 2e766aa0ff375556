"""Moving whole frames in and out of the database without a Python object per row.

PostgreSQL: `COPY ... FROM STDIN` / `COPY (query) TO STDOUT` in CSV, with pyarrow doing the CSV
work in C++. SQLite: `executemany` in chunks going in, `fetchmany` into Arrow arrays coming out.
Both directions meet in Arrow, so the pandas dtypes come out the same on either database.

Queries are written with `:name` placeholders, bound by SQLAlchemy's `text()` rules (see
`driver`); `IN` lists go through `in_list()` as one parameter (a JSON array on SQLite, an array
on PostgreSQL), so no list is too long.

- `kinds`: the column kinds a frame is described with (`Kind`) and their Arrow types.
- `driver`: SQL straight to the DBAPI cursor, parameters bound the way SQLAlchemy binds them.
- `read`: `read_frame`, a query's rows as a typed frame.
- `write`: `write_frame` / `write_arrow`, rows into a table inside the caller's transaction.
- `binary_copy`: `copy_binary`, fixed-width numpy columns into PostgreSQL with no text at all.

May import: SQLAlchemy, the drivers and pyarrow; nothing else of `scoring`, since every other
store module builds on it.
"""

from scoring.store.bulk.binary_copy import copy_binary
from scoring.store.bulk.driver import bind, driver_statement, execute, in_list, is_pg
from scoring.store.bulk.kinds import CHUNK_ROWS, Kind
from scoring.store.bulk.read import read_frame
from scoring.store.bulk.write import to_arrow, write_arrow, write_frame

__all__ = [
    "CHUNK_ROWS",
    "Kind",
    "bind",
    "copy_binary",
    "driver_statement",
    "execute",
    "in_list",
    "is_pg",
    "read_frame",
    "to_arrow",
    "write_arrow",
    "write_frame",
]
