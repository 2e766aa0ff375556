"""Corrections and retractions of signals: what a re-export no longer has.

Signal rows are keyed (account, signal, date) and record the label of the source that last
wrote them, but a label changes with a renamed file, so "rows of a source" are the stored rows
of the signals it speaks for (`guards.source_signals`) dated within the min..max date of its
file. With `replace: window` those rows absent from the file are removed (the removal guard
below first); without it they stay (today's upsert), and rows absent for an account and signal
the file does deliver are counted so the summary can warn that a correction was ignored.

Runs on the merging connection once the stage exists: the removal count and guard before the
merge transaction (only for `replace` sources: a primary-key lookup per staged row), the delete
and the ignored-correction count inside it (an index-only count of the window, and a count per
series only when the window holds more rows than the file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from scoring.store.bulk import execute, in_list, is_pg, read_frame
from scoring.sync.guards import Window, refuse_removals
from scoring.sync.stage import STAGE, Stage

SQLITE_STAGE_INDEX = "hb_stage_key"


def _in_window(conn: sa.Connection, table: str = "signals") -> str:
    return (
        f"{in_list(conn, f'{table}.signal', 'signals')}"
        f" AND {table}.date >= :low AND {table}.date <= :high"
    )


def _staged(conn: sa.Connection) -> str:
    """A correlated test: the stage has this stored row's key from this source."""
    return (
        f"SELECT 1 FROM {STAGE} s WHERE s.src = :src AND s.account_id = signals.account_id"
        " AND s.signal = signals.signal AND s.date = signals.date"
    )


def _count(conn: sa.Connection, sql: str, params: dict[str, object]) -> int:
    cursor = execute(conn, sql, params)
    try:
        return int(cursor.fetchone()[0] or 0)
    finally:
        cursor.close()


def stored_in_window(conn: sa.Connection, window: Window) -> int:
    """Stored rows of the window's signals and dates (the date index covers it)."""
    return _count(conn, f"SELECT COUNT(*) FROM signals WHERE {_in_window(conn)}", window.params())


def removals(conn: sa.Connection, window: Window) -> tuple[int, int]:
    """(stored rows in the window, those the file no longer has), before the merge: every
    staged row of the source is looked up by primary key, as the merge itself does."""
    stored = stored_in_window(conn, window)
    if not stored:
        return 0, 0
    matched = _count(
        conn,
        f"SELECT COUNT(*) FROM {STAGE} s JOIN signals t ON t.account_id = s.account_id"
        " AND t.signal = s.signal AND t.date = s.date WHERE s.src = :src",
        window.params(),
    )
    return stored, stored - matched


def check_removals(window: Window, stored: int, absent: int, allow_shrink: bool) -> None:
    """The removal guard: `replace: window` may not remove more than its share unconfirmed."""
    subject, dated = f'signals source "{window.label}"', f"{window.low}..{window.high}"
    limit = window.max_removed_percent
    refuse_removals(subject, "rows", (absent, stored), dated, limit, allow_shrink)


def remove_absent(conn: sa.Connection, window: Window) -> int:
    """Delete the window's stored rows the file no longer has (inside the merge)."""
    if not is_pg(conn):
        execute(
            conn,
            f"CREATE INDEX IF NOT EXISTS temp.{SQLITE_STAGE_INDEX}"
            f" ON {STAGE} (account_id, signal, date, src)",
        ).close()
    cursor = execute(
        conn,
        f"DELETE FROM signals WHERE {_in_window(conn)} AND NOT EXISTS ({_staged(conn)})",
        window.params(),
    )
    removed = max(int(cursor.rowcount), 0)
    cursor.close()
    return removed


def ignored_rows(conn: sa.Connection, window: Window, stage: Stage) -> int:
    """After the merge, without `replace`: stored rows in the window of an account and signal
    the file delivers, on a day it does not have (the look of an ignored correction). Every
    staged key is stored by now, so when the window holds no more rows than the file there are
    none and the per-series count is skipped (the common re-sync)."""
    mine = stage.src == window.src
    staged = int(mine.sum())
    if not staged or stored_in_window(conn, window) <= staged:
        return 0
    per_series = read_frame(
        conn,
        f"SELECT account_id, signal, COUNT(*) AS n FROM signals WHERE {_in_window(conn)}"
        " GROUP BY account_id, signal",
        {"account_id": "str", "signal": "str", "n": "int"},
        window.params(),
    )
    n_sig = max(len(stage.signals), 1)
    acc = pd.Index(stage.accounts).get_indexer(per_series["account_id"].astype(object))
    sig = pd.Index(stage.signals).get_indexer(per_series["signal"].astype(object))
    series, counts = np.unique(stage.acc[mine] * n_sig + stage.sig[mine], return_counts=True)
    known = (acc >= 0) & (sig >= 0)
    wanted = (acc * n_sig + sig)[known]
    pos = np.minimum(np.searchsorted(series, wanted), len(series) - 1)
    stored_n = per_series["n"].to_numpy(dtype=np.int64)[known]
    hit = series[pos] == wanted
    return int(np.maximum(stored_n[hit] - counts[pos][hit], 0).sum())
