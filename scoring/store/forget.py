"""Deleting everything stored about one account, for data-protection requests."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from scoring.errors import LookupFailed
from scoring.store.bulk import execute
from scoring.store.db import SQLITE_BEGIN

STORE_DIR = Path(__file__).parent
STORE_PACKAGE = __name__.rpartition(".")[0]  # "scoring.store"


def _register_all_tables() -> None:
    """Import every scoring.store module so each table is on SQLModel.metadata.

    Lists the package's directory rather than `scoring.store.__path__`: this module is imported
    by `scoring/store/__init__.py`, so importing the package from here would be a cycle.
    """
    for module in pkgutil.iter_modules([str(STORE_DIR)], f"{STORE_PACKAGE}."):
        importlib.import_module(module.name)


def account_tables(engine: Engine | None = None) -> list[str]:
    """Every table with an `account_id` column, children before parents (accounts last).

    Read from the metadata rather than listed by hand, so a table a later issue adds (alerts,
    notes, ...) is forgotten too without anyone remembering to come back here. With an engine,
    only tables that exist in that database.
    """
    _register_all_tables()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if "account_id" in t.c]
    tables.sort(key=lambda name: name == "accounts")
    if engine is not None:
        present = set(sa.inspect(engine).get_table_names())
        tables = [t for t in tables if t in present]
    return tables


def count_account_rows(engine: Engine, account_id: str) -> dict[str, int]:
    """Rows stored about `account_id`, per table, accounts first (what `forget` removes)."""
    tables = sorted(account_tables(engine), key=lambda name: name != "accounts")
    with engine.connect() as conn:
        return {table: _count(conn, table, account_id) for table in tables}


def _count(conn: sa.Connection, table: str, account_id: str) -> int:
    sql = f'SELECT COUNT(*) FROM "{table}" WHERE account_id = :id'
    cursor = execute(conn, sql, {"id": account_id})
    try:
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def forget_account(engine: Engine, account_id: str) -> dict[str, int]:
    """Delete every row about `account_id` in one transaction; returns rows removed per table
    (accounts first).

    Raises LookupFailed when nothing at all is stored under that id (a typo must not look like
    a successful erasure).
    """
    tables = account_tables(engine)
    removed: dict[str, int] = {}
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
        with conn.begin():
            for table in tables:
                sql = f'DELETE FROM "{table}" WHERE account_id = :id'
                cursor = execute(conn, sql, {"id": account_id})
                removed[table] = max(int(cursor.rowcount), 0)
                cursor.close()
            if not any(removed.values()):
                raise LookupFailed(f"nothing is stored about account {account_id!r}")
    order = sorted(removed, key=lambda name: name != "accounts")
    return {name: removed[name] for name in order}
