"""Corrections and retractions of signals: what a re-export no longer has.

Signal rows are keyed (account, signal, date) and record the label of the source that last
wrote them, but a label changes with a renamed file, so "rows of a source" are the stored rows
of the signals it speaks for (`guards.source_signals`) dated within the min..max date of its
file. With `replace: window` those rows absent from the file are removed (the removal guard
below first); without it they stay (today's upsert), and rows absent for an account and signal
the file does deliver are counted so the summary can warn that a correction was ignored.

Runs on the merging connection once the stage exists: the counts before the merge transaction,
the delete inside it.
"""

from __future__ import annotations

import sqlalchemy as sa

from scoring.errors import Blocked
from scoring.store.bulk import execute, in_list, is_pg
from scoring.sync.guards import CONFIRM, Window, percent
from scoring.sync.stage import STAGE

SQLITE_STAGE_INDEX = "hb_stage_key"


def _in_window(conn: sa.Connection, table: str = "signals") -> str:
    return (
        f"{in_list(conn, f'{table}.signal', 'signals')}"
        f" AND {table}.date >= :low AND {table}.date <= :high"
    )


def _staged(conn: sa.Connection, same_day: bool) -> str:
    """A correlated test: the stage has this stored row's key (or, without `same_day`, its
    account and signal on any day) from this source."""
    day = " AND s.date = signals.date" if same_day else ""
    return (
        f"SELECT 1 FROM {STAGE} s WHERE s.src = :src AND s.account_id = signals.account_id"
        f" AND s.signal = signals.signal{day}"
    )


def _count(conn: sa.Connection, sql: str, params: dict[str, object]) -> int:
    cursor = execute(conn, sql, params)
    try:
        return int(cursor.fetchone()[0] or 0)
    finally:
        cursor.close()


def index_stage(conn: sa.Connection) -> None:
    """SQLite's stage is a plain table: index its key so the tests below are lookups."""
    if not is_pg(conn):
        execute(
            conn,
            f"CREATE INDEX IF NOT EXISTS temp.{SQLITE_STAGE_INDEX}"
            f" ON {STAGE} (account_id, signal, date, src)",
        ).close()


def absent_rows(conn: sa.Connection, window: Window) -> tuple[int, int]:
    """(stored rows in the window, those the file no longer has). Without `replace` only rows
    of an account and signal the file delivers count: the look of an ignored correction."""
    stored = _count(conn, f"SELECT COUNT(*) FROM signals WHERE {_in_window(conn)}", window.params())
    if not stored:
        return 0, 0
    covered = "" if window.replace else f" AND EXISTS ({_staged(conn, same_day=False)})"
    absent = _count(
        conn,
        f"SELECT COUNT(*) FROM signals WHERE {_in_window(conn)}{covered}"
        f" AND NOT EXISTS ({_staged(conn, same_day=True)})",
        window.params(),
    )
    return stored, absent


def check_removals(window: Window, stored: int, absent: int, allow_shrink: bool) -> None:
    """The removal guard: `replace: window` may not remove more than its share unconfirmed."""
    share = percent(absent, stored)
    if window.replace and not allow_shrink and share > window.max_removed_percent:
        raise Blocked(
            f'signals source "{window.label}" would remove {absent:,} of {stored:,} stored rows'
            f" dated {window.low}..{window.high} ({share:.0f}%, limit"
            f" {window.max_removed_percent:g}%); {CONFIRM}"
        )


def remove_absent(conn: sa.Connection, window: Window) -> int:
    """Delete the window's stored rows the file no longer has (inside the merge)."""
    cursor = execute(
        conn,
        f"DELETE FROM signals WHERE {_in_window(conn)}"
        f" AND NOT EXISTS ({_staged(conn, same_day=True)})",
        window.params(),
    )
    removed = max(int(cursor.rowcount), 0)
    cursor.close()
    return removed
