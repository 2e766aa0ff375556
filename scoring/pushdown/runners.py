"""Where a compiled query runs: the app database through SQLAlchemy, or a DuckDB connection.

A runner knows its SQL dialect, the shape of its signals table and how to turn a query into a
small DataFrame; the compiled query itself is the same ibis expression for all of them.
"""

from __future__ import annotations

from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pandas as pd
from sqlalchemy.engine import Engine

from scoring.store.backends import open_table

STORE_SIGNALS = ibis.schema(
    {
        "account_id": "string",
        "signal": "string",
        "date": "date",
        "value": "float64",
        "source": "string",
        "valid_until": "date",
    }
)
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres"}


class Runner(Protocol):
    dialect: str

    def table(self, name: str) -> ir.Table: ...

    def frame(self, expr: ir.Table) -> pd.DataFrame: ...


class EngineRunner:
    """The app database (SQLite or PostgreSQL): signals in healthbot's own `signals` table."""

    def __init__(self, engine: Engine, schema: ibis.Schema = STORE_SIGNALS) -> None:
        name = engine.dialect.name
        if name not in DIALECTS:
            raise ValueError(f"no SQL pushdown for a {name} database")
        self.engine = engine
        self.dialect = DIALECTS[name]
        self._schema = schema

    def table(self, name: str) -> ir.Table:
        return ibis.table(self._schema, name=name)

    def sql(self, expr: ir.Table) -> str:
        return ibis.to_sql(expr, dialect=self.dialect)

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        with self.engine.connect() as conn:
            cursor = conn.exec_driver_sql(self.sql(expr))
            columns = [c[0] for c in cursor.cursor.description]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


class DuckRunner:
    """A DuckDB connection: a DuckDB file, or Parquet files seen through a view."""

    dialect = "duckdb"

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.backend = ibis.duckdb.from_connection(connection)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def sql(self, expr: ir.Table) -> str:
        return str(self.backend.compile(expr))

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        return self.connection.execute(self.sql(expr)).df()


class BackendRunner:
    """Any ibis backend (a warehouse, Spark, a DuckDB file): the query runs there and only
    the per-account result comes back. `dialect` is the backend's name, which is what
    `Compiler.last_by` keys on (pyspark, snowflake, bigquery, ... have an arg-max)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.dialect = backend.name

    def table(self, name: str) -> ir.Table:
        return open_table(self.backend, name)

    def sql(self, expr: ir.Table) -> str:
        return str(self.backend.compile(expr))

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        return self.backend.execute(expr)

    def large_frame(self, expr: ir.Table) -> pd.DataFrame:
        """`frame` of a result with a million rows or more (the advisor's segments): through
        Arrow, NULLs as NaN or NaT and ids as categories. ibis's own `execute` turns every
        column holding a NULL into a Python list, which cost seconds a query there."""
        table = self.backend.to_pyarrow(expr)
        return table.to_pandas(strings_to_categorical=True, date_as_object=False)


def large_frame(runner: Runner, expr: ir.Table) -> pd.DataFrame:
    """The runner's `large_frame` where it has one (through Arrow), else its `frame`."""
    fetch = getattr(runner, "large_frame", None)
    return runner.frame(expr) if fetch is None else fetch(expr)
