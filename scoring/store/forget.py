"""Deleting everything stored about one account, for data-protection requests."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from scoring.errors import LookupFailed
from scoring.store.bulk import execute
from scoring.store.db import SQLITE_BEGIN
from scoring.store.tables import TABLES

assert TABLES  # the import registers our tables on SQLModel.metadata


def account_tables() -> list[str]:
    """Every table with an `account_id` column, children before parents.

    Read from the metadata rather than listed by hand, so a table a later issue adds (alerts,
    notes, ...) is forgotten too without anyone remembering to come back here.
    """
    tables = reversed(SQLModel.metadata.sorted_tables)
    return [t.name for t in tables if "account_id" in t.columns]


def count_account_rows(engine: Engine, account_id: str) -> dict[str, int]:
    """Rows stored about `account_id`, per table (what `forget` would remove)."""
    with engine.connect() as conn:
        return {table: _count(conn, table, account_id) for table in account_tables()}


def _count(conn: sa.Connection, table: str, account_id: str) -> int:
    cursor = execute(
        conn, f'SELECT COUNT(*) FROM "{table}" WHERE account_id = :id', {"id": account_id}
    )
    try:
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def forget_account(engine: Engine, account_id: str) -> dict[str, int]:
    """Delete every row about `account_id` in one transaction; returns rows removed per table.

    Raises LookupFailed when nothing at all is stored under that id (a typo must not look like
    a successful erasure).
    """
    removed: dict[str, int] = {}
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn:
        with conn.begin():
            for table in account_tables():
                cursor = execute(
                    conn, f'DELETE FROM "{table}" WHERE account_id = :id', {"id": account_id}
                )
                removed[table] = max(int(cursor.rowcount), 0)
                cursor.close()
            if not any(removed.values()):
                raise LookupFailed(f"nothing is stored about account {account_id!r}")
    return removed
