"""Staging: the validated signals of a sync, in temporary tables of the merging connection.

Filled before the merge transaction begins (COPY / executemany into temporary tables takes no
lock on the real tables), dropped after it ends, whatever happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from scoring.store.bulk import copy_binary, execute, is_pg, write_arrow

STAGE = "hb_stage_signals"
STAGE_CODES = "hb_stage_codes"
ACCOUNT_CODES = "hb_stage_accounts"
SIGNAL_CODES = "hb_stage_names"
LABELS = "hb_stage_labels"
CHANGES = "hb_stage_changes"


@dataclass
class Stage:
    """Every signal observation to merge, in primary-key order, tagged with its source: codes
    into `accounts` and `signals` (distinct names), days, values."""

    accounts: np.ndarray  # str
    signals: np.ndarray  # str
    acc: np.ndarray
    sig: np.ndarray
    day: np.ndarray  # datetime64[D]
    value: np.ndarray
    src: np.ndarray
    per_source: dict[int, int]  # src -> rows staged

    def table(self) -> pa.Table:
        """The rows with their names spelled out (Arrow `take`, no Python loop)."""
        return pa.table(
            {
                "account_id": pa.array(self.accounts, pa.string()).take(pa.array(self.acc)),
                "signal": pa.array(self.signals, pa.string()).take(pa.array(self.sig)),
                "date": pa.array(self.day.astype(np.int64).astype(np.int32)).cast(pa.date32()),
                "value": pa.array(self.value, pa.float64()),
                "src": pa.array(self.src, pa.int32()),
            }
        )


def create_stage(conn: sa.Connection, stage: Stage, labels: dict[int, str]) -> None:
    """Temporary objects of this connection: `STAGE` (account_id, signal, date, value, src)
    and each source's label in `LABELS`.

    On PostgreSQL the rows go in as integer codes by binary COPY (nothing for the server to
    parse) and `STAGE` is a view that joins the names back; on SQLite they are plain rows.
    """
    drop_stage(conn)
    pg = is_pg(conn)
    text, integer = ("text", "integer") if pg else ("TEXT", "INTEGER")
    execute(conn, f"CREATE TEMP TABLE {LABELS} (src {integer} PRIMARY KEY, label {text})").close()
    write_arrow(
        conn,
        LABELS,
        pa.table({"src": pa.array(list(labels), pa.int32()), "label": list(labels.values())}),
    )
    if not pg:
        execute(
            conn,
            f"CREATE TEMP TABLE {STAGE} (account_id TEXT NOT NULL, signal TEXT NOT NULL,"
            " date TEXT NOT NULL, value REAL NOT NULL, src INTEGER NOT NULL)",
        ).close()
        write_arrow(conn, STAGE, stage.table())
        return
    for table, column, names in (
        (ACCOUNT_CODES, "account_id", stage.accounts),
        (SIGNAL_CODES, "signal", stage.signals),
    ):
        execute(
            conn, f"CREATE TEMP TABLE {table} (code integer PRIMARY KEY, {column} text)"
        ).close()
        write_arrow(
            conn,
            table,
            pa.table(
                {
                    "code": pa.array(np.arange(len(names), dtype=np.int32)),
                    column: pa.array(names, pa.string()),
                }
            ),
        )
    execute(
        conn,
        f"CREATE TEMP TABLE {STAGE_CODES} (acc integer NOT NULL, sig integer NOT NULL,"
        " date date NOT NULL, value double precision NOT NULL, src integer NOT NULL)",
    ).close()
    copy_binary(
        conn,
        STAGE_CODES,
        {
            "acc": ("int4", stage.acc),
            "sig": ("int4", stage.sig),
            "date": ("date", stage.day),
            "value": ("float8", stage.value),
            "src": ("int4", stage.src),
        },
    )
    execute(
        conn,
        f"CREATE TEMP VIEW {STAGE} AS SELECT a.account_id, n.signal, s.date, s.value, s.src"
        f" FROM {STAGE_CODES} s JOIN {ACCOUNT_CODES} a ON a.code = s.acc"
        f" JOIN {SIGNAL_CODES} n ON n.code = s.sig",
    ).close()
    for table in (STAGE_CODES, ACCOUNT_CODES, SIGNAL_CODES, LABELS):
        execute(conn, f"ANALYZE {table}").close()  # the merge joins them: plan with real numbers


def drop_stage(conn: sa.Connection) -> None:
    if is_pg(conn):
        execute(conn, f"DROP VIEW IF EXISTS pg_temp.{STAGE}").close()
        tables = (STAGE_CODES, ACCOUNT_CODES, SIGNAL_CODES, LABELS, CHANGES)
        for table in tables:
            execute(conn, f"DROP TABLE IF EXISTS pg_temp.{table}").close()
        return
    for table in (STAGE, LABELS):
        execute(conn, f"DROP TABLE IF EXISTS temp.{table}").close()
