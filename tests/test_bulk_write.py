"""`write_frame` / `write_arrow` store every kind, NULLs included, the same on both databases,
whatever the row count: on SQLite through multi-row INSERTs (full statements, a remainder of
one-row statements, several chunks), the values stored as SQLAlchemy stores them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy.engine import Engine

from scoring.store.bulk import Kind, execute, read_frame, write_arrow, write_frame
from scoring.store.bulk import write as bulk_write

TYPES: dict[str, Kind] = {
    "name": "str",
    "group_name": "cat",
    "amount": "float",
    "count": "int",
    "flag": "bool",
    "day": "date",
    "stamp": "datetime",
}
TABLE = (
    "CREATE TABLE bulk_probe (name VARCHAR, group_name VARCHAR, amount FLOAT, count INTEGER,"
    " flag BOOLEAN NOT NULL, day DATE, stamp TIMESTAMP)"
)


def _frame(n: int) -> pd.DataFrame:
    """n rows with a NULL in every nullable column every few rows, and awkward text."""
    i = np.arange(n)
    frame = pd.DataFrame(
        {
            "name": [f"acc-{k}" if k % 7 else f'o\'brien "{k}" ü' for k in i],
            "group_name": pd.Categorical(np.where(i % 3 == 0, "a", "b")),
            "amount": i / 3.0 + 1e-13,
            "count": pd.array(i * 1_000_003, dtype="Int64"),
            "flag": i % 2 == 0,
            "day": pd.Timestamp("2026-01-01") + pd.to_timedelta(i % 400, unit="D"),
            "stamp": pd.Timestamp("2026-03-04 05:06:07.123456") + pd.to_timedelta(i, unit="s"),
        }
    )
    frame.loc[i % 5 == 1, "name"] = None
    frame.loc[i % 5 == 2, "amount"] = np.nan
    frame.loc[i % 5 == 3, "count"] = pd.NA
    frame.loc[i % 5 == 4, "day"] = pd.NaT
    frame.loc[i % 11 == 0, "stamp"] = pd.NaT
    return frame


@pytest.mark.parametrize("rows", [0, 1, 250, 1000])
def test_every_kind_and_null_round_trips(
    engine: Engine, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """250 and 1000 rows: 7 columns make 142 rows a statement, so full statements and a
    remainder; with batches and chunks of 300 rows, several of them too."""
    monkeypatch.setattr(bulk_write, "SQLITE_BATCH_ROWS", 300)
    monkeypatch.setattr(bulk_write, "CHUNK_ROWS", 300)
    frame = _frame(rows)
    with engine.begin() as conn:
        execute(conn, TABLE).close()
        assert write_frame(conn, "bulk_probe", frame, TYPES) == rows
        back = read_frame(conn, f"SELECT {', '.join(TYPES)} FROM bulk_probe", TYPES)
    back = back.sort_values("count", key=lambda s: s.fillna(-1)).reset_index(drop=True)
    want = frame.sort_values("count", key=lambda s: s.fillna(-1)).reset_index(drop=True)
    assert back["name"].tolist() == want["name"].tolist()
    assert back["group_name"].astype(str).tolist() == want["group_name"].astype(str).tolist()
    np.testing.assert_array_equal(back["amount"].to_numpy(), want["amount"].to_numpy())
    assert back["count"].tolist() == want["count"].tolist()
    assert back["flag"].tolist() == want["flag"].tolist()
    assert back["day"].tolist() == want["day"].tolist()
    assert back["stamp"].tolist() == want["stamp"].tolist()


def test_sqlite_stores_values_the_way_sqlalchemy_does(engine: Engine) -> None:
    """Dates as ISO text, timestamps as text to the µs, booleans as integers, integers as
    integers even beside NULLs, NULLs as NULL."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's storage classes")
    frame = _frame(6)
    with engine.begin() as conn:
        execute(conn, TABLE).close()
        write_frame(conn, "bulk_probe", frame, TYPES)
        cursor = execute(
            conn,
            "SELECT name, typeof(amount), count, typeof(count), flag, typeof(flag), day, stamp"
            " FROM bulk_probe ORDER BY rowid",
        )
        rows = cursor.fetchall()
        cursor.close()
    assert rows[0] == ('o\'brien "0" ü', "real", 0, "integer", 1, "integer", "2026-01-01", None)
    assert rows[1][0] is None
    assert rows[2][1] == "null"
    assert rows[3][2:4] == (None, "null")
    assert rows[4][6] is None
    assert rows[5] == (
        "acc-5",
        "real",
        5_000_015,
        "integer",
        0,
        "integer",
        "2026-01-06",
        "2026-03-04 05:06:12.123456",
    )


def test_write_arrow_takes_dictionary_and_narrow_columns(engine: Engine) -> None:
    """What a sync's staging hands over: int32 codes, date32, dictionary-encoded text."""
    table = pa.table(
        {
            "name": pa.array(["x", "y", None, "x"]).dictionary_encode(),
            "count": pa.array([1, None, 3, 4], pa.int32()),
            "flag": pa.array([True, False, True, False]),
            "day": pa.array([dt.date(2026, 1, d) for d in (1, 2, 3, 4)], pa.date32()),
        }
    )
    with engine.begin() as conn:
        execute(conn, TABLE).close()
        assert write_arrow(conn, "bulk_probe", table) == 4
        types: dict[str, Kind] = {"name": "str", "count": "int", "flag": "bool", "day": "date"}
        back = read_frame(conn, "SELECT name, count, flag, day FROM bulk_probe", types)
    back = back.sort_values("day", ignore_index=True)
    assert back["name"].tolist() == ["x", "y", None, "x"]
    assert back["count"].tolist() == [1, pd.NA, 3, 4]
    assert back["flag"].tolist() == [True, False, True, False]
    assert [d.day for d in back["day"]] == [1, 2, 3, 4]
