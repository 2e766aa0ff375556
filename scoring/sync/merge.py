"""The database side of a sync: merge the staged signals and the accounts at once.

Everything here runs inside the one merge transaction: an upsert of the staged signals (only
the series that differ from what is stored, see `unchanged.py`) and the accounts changes
(outcomes: `outcome_changes.py`); the caller adds retention and the run record and commits,
or rolls it all back. Readers are never blocked (WAL on SQLite, MVCC on PostgreSQL).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.frames import ACCOUNT_COLUMNS
from scoring.store.bulk import Kind, execute, is_pg, read_frame, write_frame
from scoring.store.reads import ACCOUNT_TYPES
from scoring.store.tables import Account, utcnow
from scoring.sync.accounts import AccountChanges
from scoring.sync.stage import CHANGES, LABELS, STAGE

ANALYZE_AFTER = 100_000  # rows inserted
VACUUM_AFTER = 1_000_000  # rows inserted
ACCOUNTS = Account.__table__
STORED_ACCOUNT_TYPES: dict[str, Kind] = {
    c: ACCOUNT_TYPES[c] for c in (*ACCOUNT_COLUMNS, "attributes", "inactive_since")
}
INSERT_TYPES: dict[str, Kind] = {
    **STORED_ACCOUNT_TYPES,
    "first_seen": "date",
    "updated_at": "datetime",
}
UPDATED_FIELDS = [c for c in STORED_ACCOUNT_TYPES if c != "account_id"]


def merge_signals(conn: sa.Connection, labels: dict[int, str]) -> dict[int, tuple[int, int]]:
    """Upsert the staged signals; returns src -> (inserted, updated). A row whose value (and
    source) is unchanged is not written at all, so a re-sync costs a join, not writes."""
    if not labels:
        return {}
    if is_pg(conn):
        return _merge_pg(conn, labels)
    return {src: _merge_sqlite(conn, src, label) for src, label in labels.items()}


def _merge_pg(conn: sa.Connection, labels: dict[int, str]) -> dict[int, tuple[int, int]]:
    """Staged rows dated outside the stored date range cannot exist yet: they are inserted
    straight away (a first load, or an export of new days). The rest go through one join that
    sorts them into new / changed / unchanged, then a plain INSERT and UPDATE of just those.
    Cheaper than INSERT ... ON CONFLICT row by row: a re-sync of millions of unchanged rows
    writes nothing, and a first load is a plain bulk insert."""
    execute(conn, "SET LOCAL work_mem = '256MB'").close()
    cursor = execute(conn, "SELECT MIN(date), MAX(date) FROM signals")
    low, high = cursor.fetchone()
    cursor.close()
    counts = {src: [0, 0] for src in labels}
    outside = "TRUE" if low is None else "s.date < :low OR s.date > :high"
    bounds = {} if low is None else {"low": low, "high": high}
    cursor = execute(
        conn, f"SELECT s.src, COUNT(*) FROM {STAGE} s WHERE {outside} GROUP BY s.src", bounds
    )
    for src, n in cursor.fetchall():
        counts[int(src)][0] += int(n)
    cursor.close()
    if any(ins for ins, _ in counts.values()):
        execute(
            conn,
            f"""
            INSERT INTO signals (account_id, signal, date, value, source, valid_until)
            SELECT s.account_id, s.signal, s.date, s.value, l.label, NULL
            FROM {STAGE} s JOIN {LABELS} l ON l.src = s.src
            WHERE {outside}
            """,
            bounds,
        ).close()
    if low is not None:
        _merge_overlap(conn, bounds, counts)
    if sum(ins for ins, _ in counts.values()) > ANALYZE_AFTER:
        # fresh statistics now rather than whenever autovacuum gets there: the next window
        # load and the next sync's join are planned on them
        execute(conn, "ANALYZE signals").close()
    return {src: (ins, upd) for src, (ins, upd) in counts.items()}


def _merge_overlap(
    conn: sa.Connection, bounds: dict[str, date], counts: dict[int, list[int]]
) -> None:
    execute(
        conn,
        f"""
        CREATE TEMP TABLE {CHANGES} AS
        SELECT s.account_id, s.signal, s.date, s.value, s.src, t.account_id IS NULL AS is_new
        FROM {STAGE} s
        JOIN {LABELS} l ON l.src = s.src
        LEFT JOIN signals t
            ON t.account_id = s.account_id AND t.signal = s.signal AND t.date = s.date
        WHERE s.date >= :low AND s.date <= :high
          AND (t.account_id IS NULL
               OR t.value IS DISTINCT FROM s.value
               OR t.source IS DISTINCT FROM l.label
               OR t.valid_until IS NOT NULL)
        """,
        bounds,
    ).close()
    cursor = execute(
        conn,
        f"SELECT src, COUNT(*) FILTER (WHERE is_new), COUNT(*) FILTER (WHERE NOT is_new)"
        f" FROM {CHANGES} GROUP BY src",
    )
    found = {int(row[0]): (int(row[1]), int(row[2])) for row in cursor.fetchall()}
    cursor.close()
    for src, (ins, upd) in found.items():
        counts[src][0] += ins
        counts[src][1] += upd
    if any(ins for ins, _ in found.values()):
        execute(
            conn,
            f"""
            INSERT INTO signals (account_id, signal, date, value, source, valid_until)
            SELECT c.account_id, c.signal, c.date, c.value, l.label, NULL
            FROM {CHANGES} c JOIN {LABELS} l ON l.src = c.src
            WHERE c.is_new
            """,
        ).close()
    if any(upd for _, upd in found.values()):
        execute(
            conn,
            f"""
            UPDATE signals t SET value = c.value, source = l.label, valid_until = NULL
            FROM {CHANGES} c JOIN {LABELS} l ON l.src = c.src
            WHERE NOT c.is_new
              AND t.account_id = c.account_id AND t.signal = c.signal AND t.date = c.date
            """,
        ).close()
    execute(conn, f"DROP TABLE {CHANGES}").close()


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


def prune_signals(conn: sa.Connection, cutoff: date) -> int:
    """Delete signal rows dated on or before `cutoff` (retention)."""
    cursor = execute(conn, "DELETE FROM signals WHERE date <= :cutoff", {"cutoff": cutoff})
    removed = max(int(cursor.rowcount), 0)
    cursor.close()
    return removed


def settle_after_bulk_load(engine: Engine, inserted: int) -> bool:
    """VACUUM signals after a large insert on PostgreSQL (after the commit: VACUUM cannot run in
    a transaction). A bulk load leaves every new row without its hint bits; whichever statement
    reads them first writes them all back, which would otherwise be the next sync or the next
    scoring run. Best effort: a failure here changes no data, so it is ignored."""
    if engine.dialect.name != "postgresql" or inserted < VACUUM_AFTER:
        return False
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM signals")
    except sa.exc.SQLAlchemyError:
        return False
    return True
