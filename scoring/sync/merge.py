"""The database side of a sync: stage the validated signals, then merge everything at once.

Staging (a temporary table, filled by COPY or executemany) happens before the merge transaction,
so the write lock is held only for set-based statements: an upsert of the staged signals, the
accounts changes, new outcomes, retention and the run record, all committed together or not at
all. Readers are never blocked (WAL on SQLite, MVCC on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from scoring.store.bulk import Kind, execute, is_pg, read_frame, write_arrow, write_frame
from scoring.store.tables import Account, utcnow
from scoring.sync.accounts import AccountChanges

STAGE = "hb_stage_signals"
ACCOUNTS = Account.__table__
STORED_ACCOUNT_TYPES: dict[str, Kind] = {
    "account_id": "str",
    "name": "str",
    "owner_email": "str",
    "segment": "str",
    "arr": "float",
    "renewal_date": "date",
    "status": "str",
    "churned_on": "date",
    "attributes": "str",
    "inactive_since": "date",
}
INSERT_TYPES: dict[str, Kind] = {
    **STORED_ACCOUNT_TYPES,
    "first_seen": "date",
    "updated_at": "datetime",
}
UPDATED_FIELDS = [c for c in STORED_ACCOUNT_TYPES if c != "account_id"]


@dataclass
class Stage:
    """Every signal observation to merge, in primary-key order, tagged with its source."""

    table: pa.Table  # account_id, signal, date, value, src
    per_source: dict[int, int]  # src -> rows staged


def create_stage(conn: sa.Connection, stage: Stage) -> None:
    if is_pg(conn):
        execute(conn, f"DROP TABLE IF EXISTS pg_temp.{STAGE}").close()
        ddl = (
            f"CREATE TEMP TABLE {STAGE} (account_id text NOT NULL, signal text NOT NULL,"
            " date date NOT NULL, value double precision NOT NULL, src integer NOT NULL)"
        )
    else:
        execute(conn, f"DROP TABLE IF EXISTS temp.{STAGE}").close()
        ddl = (
            f"CREATE TEMP TABLE {STAGE} (account_id TEXT NOT NULL, signal TEXT NOT NULL,"
            " date TEXT NOT NULL, value REAL NOT NULL, src INTEGER NOT NULL)"
        )
    execute(conn, ddl).close()
    write_arrow(conn, STAGE, stage.table)


def drop_stage(conn: sa.Connection) -> None:
    schema = "pg_temp" if is_pg(conn) else "temp"
    execute(conn, f"DROP TABLE IF EXISTS {schema}.{STAGE}").close()


def merge_signals(conn: sa.Connection, labels: dict[int, str]) -> dict[int, tuple[int, int]]:
    """Upsert the staged signals; returns src -> (inserted, updated). A row whose value (and
    source) is unchanged is not written at all, so a re-sync costs lookups, not writes."""
    if not labels:
        return {}
    if is_pg(conn):
        return _merge_pg(conn, labels)
    return {src: _merge_sqlite(conn, src, label) for src, label in labels.items()}


def _merge_pg(conn: sa.Connection, labels: dict[int, str]) -> dict[int, tuple[int, int]]:
    # xmax = 0 only for a freshly inserted row version: tells inserts from updates.
    values = ", ".join(f"({src}, :label_{src})" for src in labels)
    params = {f"label_{src}": label for src, label in labels.items()}
    sql = f"""
        WITH labels (src, label) AS (VALUES {values}),
        merged AS (
            INSERT INTO signals AS t (account_id, signal, date, value, source, valid_until)
            SELECT s.account_id, s.signal, s.date, s.value, l.label, NULL
            FROM {STAGE} s JOIN labels l ON l.src = s.src
            ON CONFLICT (account_id, signal, date) DO UPDATE
                SET value = excluded.value, source = excluded.source, valid_until = NULL
                WHERE t.value IS DISTINCT FROM excluded.value
                   OR t.source IS DISTINCT FROM excluded.source
                   OR t.valid_until IS NOT NULL
            RETURNING t.source, (t.xmax = 0) AS inserted
        )
        SELECT source, COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted)
        FROM merged GROUP BY source
    """
    cursor = execute(conn, sql, params)
    counts = {row[0]: (int(row[1]), int(row[2])) for row in cursor.fetchall()}
    cursor.close()
    return {src: counts.get(label, (0, 0)) for src, label in labels.items()}


def _merge_sqlite(conn: sa.Connection, src: int, label: str) -> tuple[int, int]:
    before = _count(conn, "SELECT COUNT(*) FROM signals")
    cursor = execute(
        conn,
        f"""
        INSERT INTO signals (account_id, signal, date, value, source, valid_until)
        SELECT account_id, signal, date, value, :label, NULL FROM temp.{STAGE}
        WHERE src = :src
        ON CONFLICT (account_id, signal, date) DO UPDATE
            SET value = excluded.value, source = excluded.source, valid_until = NULL
            WHERE signals.value IS NOT excluded.value OR signals.source IS NOT excluded.source
               OR signals.valid_until IS NOT NULL
        """,
        {"label": label, "src": src},
    )
    written = max(int(cursor.rowcount), 0)
    cursor.close()
    inserted = _count(conn, "SELECT COUNT(*) FROM signals") - before
    return inserted, written - inserted


def _count(conn: sa.Connection, sql: str, params: dict[str, object] | None = None) -> int:
    cursor = execute(conn, sql, params)
    try:
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def stored_accounts(conn: sa.Connection) -> pd.DataFrame:
    columns = ", ".join(STORED_ACCOUNT_TYPES)
    return read_frame(conn, f"SELECT {columns} FROM accounts", STORED_ACCOUNT_TYPES)


def stored_account_ids(conn: sa.Connection) -> pd.Index:
    frame = read_frame(conn, "SELECT account_id FROM accounts", {"account_id": "str"})
    return pd.Index(frame["account_id"].astype(object))


def apply_accounts(conn: sa.Connection, changes: AccountChanges, today: date) -> int:
    """Insert new accounts, update changed ones, mark the missing ones inactive from today;
    returns how many were marked inactive."""
    now = utcnow()
    if len(changes.inserts):
        rows = changes.inserts.assign(first_seen=pd.Timestamp(today), updated_at=now)
        write_frame(conn, "accounts", rows, INSERT_TYPES)
    if len(changes.updates):
        frame = changes.updates[["account_id", *UPDATED_FIELDS]].astype(object)
        for field in ("renewal_date", "churned_on", "inactive_since"):
            stamps = pd.to_datetime(changes.updates[field])
            frame[field] = stamps.dt.date.astype(object).where(stamps.notna(), None)
        frame = frame.where(frame.notna(), None)
        params = [
            {f"b_{k}": v for k, v in row.items()} | {"b_updated_at": now}
            for row in frame.to_dict("records")
        ]
        statement = (
            sa.update(ACCOUNTS)
            .where(ACCOUNTS.c.account_id == sa.bindparam("b_account_id"))
            .values({f: sa.bindparam(f"b_{f}") for f in [*UPDATED_FIELDS, "updated_at"]})
        )
        conn.execute(statement, params)
    if changes.went_missing:
        statement = (
            sa.update(ACCOUNTS)
            .where(ACCOUNTS.c.account_id == sa.bindparam("b_id"))
            .where(ACCOUNTS.c.inactive_since.is_(None))
            .values(inactive_since=today, updated_at=now)
        )
        conn.execute(statement, [{"b_id": a} for a in changes.went_missing])
    return len(changes.went_missing)


def insert_outcomes(conn: sa.Connection, frame: pd.DataFrame) -> np.ndarray:
    """Insert the outcomes not stored yet; returns a mask of the rows that were new."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    stored = read_frame(
        conn,
        "SELECT account_id, date, outcome FROM outcomes",
        {"account_id": "str", "date": "date", "outcome": "str"},
    )
    key = ["account_id", "date", "outcome"]
    probe = frame[key].astype({"account_id": object, "outcome": object})
    known = stored.astype({"account_id": object, "outcome": object})
    merged = probe.merge(known.assign(_stored=True), on=key, how="left")
    new = merged["_stored"].isna().to_numpy()
    if new.any():
        write_frame(
            conn, "outcomes", frame[new], {"account_id": "str", "date": "date", "outcome": "str"}
        )
    return new


def prune_signals(conn: sa.Connection, cutoff: date) -> int:
    """Delete signal rows dated on or before `cutoff` (retention)."""
    cursor = execute(conn, "DELETE FROM signals WHERE date <= :cutoff", {"cutoff": cutoff})
    removed = max(int(cursor.rowcount), 0)
    cursor.close()
    return removed
