"""`load_signal_windows`: each signal's own window of rows, read the fast way on each database.

The weekly run and `healthbot check --history` read millions of rows through it. On SQLite it
walks the primary key per account instead of the date index (issue 19: ~30 s of CPU down to
under one for 10,000 accounts); the frame it returns must be exactly the one the plain
date-range query gives (rows, order, dtypes, category order), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from scoring.store import ensure_schema, make_engine
from scoring.store.bulk import read_frame, write_frame
from scoring.store.reads import SIGNAL_TYPES, load_signal_windows

END = dt.date(2026, 6, 28)
# Byte order differs from case-folded and locale order; one id has no account row at all.
ACCOUNTS = ["b-2", "B-1", "a", "Ä-3", "a b", "z9", "ghost"]
STARTS = {
    "logins": END - dt.timedelta(days=20),
    "nps": END - dt.timedelta(days=90),
    "tickets": END - dt.timedelta(days=45),
}


def _signal_rows() -> pd.DataFrame:
    """Daily rows over 120 days for four signals (one not asked for), values that print
    badly as text, a few manual rows with an expiry, and rows after the end."""
    rng = np.random.default_rng(19)
    days = pd.date_range(END - dt.timedelta(days=120), END + dt.timedelta(days=5))
    index = pd.MultiIndex.from_product(
        [ACCOUNTS, ["logins", "nps", "tickets", "unused"], days],
        names=["account_id", "signal", "date"],
    )
    frame = index.to_frame(index=False)
    frame = frame.sample(frac=0.6, random_state=3).reset_index(drop=True)  # gaps
    frame["value"] = rng.normal(0, 1e6, len(frame)) / 3.0
    frame.loc[::7, "value"] = 0.1 + 0.2
    frame["source"] = "test"
    frame["valid_until"] = pd.NaT
    manual = frame.index[::11]
    frame.loc[manual, "valid_until"] = frame.loc[manual, "date"] + pd.Timedelta(days=30)
    return frame


def _reference(engine: Engine) -> pd.DataFrame:
    """The plain query: one date range through the date index, each signal's own start."""
    names = sorted(STARTS)
    windows = " OR ".join(f"(signal = :s{i} AND date > :d{i})" for i in range(len(names)))
    params: dict[str, object] = {"start": min(STARTS.values()), "end": END}
    for i, name in enumerate(names):
        params[f"s{i}"], params[f"d{i}"] = name, STARTS[name]
    sql = (
        "SELECT account_id, date, signal, value, valid_until FROM signals"
        f" WHERE date > :start AND date <= :end AND ({windows})"
    )
    with engine.connect() as conn:
        return read_frame(conn, sql, SIGNAL_TYPES, params)


@pytest.fixture
def signal_engine(engine: Engine) -> Engine:
    rows = _signal_rows()
    types = {**SIGNAL_TYPES, "source": "str"}
    with engine.begin() as conn:
        write_frame(conn, "signals", rows, types)
    return engine


def test_windows_equal_the_date_range_query(signal_engine: Engine) -> None:
    got = load_signal_windows(signal_engine, STARTS, END)
    want = _reference(signal_engine)
    assert len(want) > 500 and want["valid_until"].notna().any()
    assert set(want["account_id"]) == set(ACCOUNTS)  # the account without a row included
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_categorical=True)
    assert list(got["signal"].cat.categories) == list(want["signal"].cat.categories)
    assert list(got["account_id"].cat.categories) == list(want["account_id"].cat.categories)
    # each signal's own window, nothing after the end
    for name, start in STARTS.items():
        dates = got.loc[got["signal"] == name, "date"]
        assert dates.min() > pd.Timestamp(start) and dates.max() <= pd.Timestamp(END)


def test_no_rows_in_the_windows_is_an_empty_frame(signal_engine: Engine) -> None:
    later = {name: END + dt.timedelta(days=10) for name in STARTS}
    got = load_signal_windows(signal_engine, later, END + dt.timedelta(days=20))
    assert got.empty and list(got.columns) == list(SIGNAL_TYPES)


def test_sqlite_walks_the_primary_key(tmp_path: Path) -> None:
    """The statement SQLite runs seeks the primary key per account and signal, never scans
    the date index (through which each row costs a lookup of its value)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    ensure_schema(engine)
    with engine.begin() as conn:
        write_frame(conn, "signals", _signal_rows(), {**SIGNAL_TYPES, "source": "str"})
    engine.dispose()
    statements: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    try:
        load_signal_windows(engine, STARTS, END)
    finally:
        engine.dispose()
    read = [s for s in statements if "signals AS s" in s or "FROM signals WHERE" in s]
    assert len(read) == 1, statements
    with sqlite3.connect(tmp_path / "plan.db") as raw:
        plan = " | ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + read[0]))
    assert "SEARCH s USING PRIMARY KEY (account_id=? AND signal=? AND date>? AND date<?)" in plan
    assert "ix_signals_date" not in plan, plan
