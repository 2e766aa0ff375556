"""SQL straight to the DBAPI cursor, with parameters bound the way SQLAlchemy binds them.

The bulk paths need the driver's own cursor (psycopg's COPY, sqlite3's fetchmany), but the SQL
is written once for both databases with `:name` placeholders. `driver_statement` compiles it
with SQLAlchemy's `text()` against the connection's dialect, which gives the driver's
placeholder style (`%(name)s` for psycopg, `?` for sqlite3) and escapes what must be: a literal
`%` for psycopg, `\\:` for a colon that is not a parameter (write `'\\:label'` in the SQL to get
the text `:label`). As with `text()`, cast with `CAST(:x AS date)`, not `:x::date`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

_LISTS = (list, tuple, pd.Index, np.ndarray)


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
        return {k: list(v) if isinstance(v, _LISTS) else v for k, v in params.items()}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, _LISTS):
            out[key] = json.dumps([str(v) for v in value])
        else:
            out[key] = value
    return out


def driver_statement(
    conn: sa.Connection, sql: str, params: Mapping[str, Any] | None = None
) -> tuple[str, Mapping[str, Any] | Sequence[Any]]:
    """`sql` and `params` in the form the connection's DBAPI driver takes them.

    A `:name` without a value raises SQLAlchemy's error naming it. Compiling costs some tens of
    microseconds, nothing next to the bulk work these statements do.
    """
    compiled = sa.text(sql).compile(dialect=conn.dialect)
    values = compiled.construct_params(bind(conn, params or {}))
    if compiled.positional:
        return compiled.string, tuple(values[name] for name in compiled.positiontup or ())
    return compiled.string, values


def execute(conn: sa.Connection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    """Run driver-level SQL with `:name` parameters; returns the DBAPI cursor."""
    raw = conn.connection.driver_connection
    assert raw is not None
    statement, values = driver_statement(conn, sql, params)
    cursor = raw.cursor()
    cursor.execute(statement, values)
    return cursor
