"""Skipping series that are stored exactly as staged (PostgreSQL) must never skip a change."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store import last_run, load_signals
from scoring.sync import run_sync, unchanged
from tests.databases import BACKENDS
from tests.db_fixtures import SyncProject

TODAY = date(2026, 11, 21)
SOURCES = """\
  - kind: accounts
    path: exports/accounts.csv
  - kind: signals
    path: exports/usage.csv
"""


@pytest.fixture(autouse=True)
def always_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the comparison for every size of sync, not only large ones."""
    monkeypatch.setattr(unchanged, "MIN_ROWS", 0)


def stored(engine: Engine) -> dict[tuple[str, str, str], float]:
    frame = load_signals(engine, date(2000, 1, 1), date(2100, 1, 1))
    return {
        (str(r.account_id), str(r.signal), r.date.strftime("%Y-%m-%d")): float(r.value)
        for r in frame.itertuples()
    }


def usage(rows: list[tuple[str, str, str, float]]) -> str:
    return "account_id,date,signal,value\n" + "".join(f"{a},{d},{s},{v!r}\n" for a, d, s, v in rows)


ROWS = [
    ("acme", "2026-11-01", "logins", 1.0),
    ("acme", "2026-11-02", "logins", 2.0),
    ("acme", "2026-11-03", "logins", 0.0),
    ("acme", "2026-11-01", "seats", 5e-324),
    ("beta", "2026-11-01", "logins", -0.5),
    ("beta", "2026-11-02", "logins", 1e100),
]
# the extreme values above are on purpose (the hash must survive them), so they are declared
WIDE_BOUNDS = "signals: {logins: {max_abs: 1e100}}\n"


@pytest.mark.parametrize("db_url", [BACKENDS[1]], indirect=True)  # SQLite hashes in numpy
def test_hash_is_the_same_in_numpy_and_the_database(engine: Engine) -> None:
    assert engine.dialect.name == "postgresql"
    values = np.array([0.0, -0.0, 1.5, -2.25, 1e308, -1e-300, 5e-324, np.pi, 123456789.125])
    days = np.array(
        [
            "1970-01-01",
            "1969-12-31",
            "2026-11-21",
            "2000-02-29",
            "2100-01-01",
            "1900-06-30",
            "2026-01-01",
            "2026-11-20",
            "2027-03-03",
        ],
        dtype="datetime64[D]",
    )
    expected = unchanged.row_hashes(days, values).tolist()
    rows = ", ".join(
        f"(DATE '{d}', {float(v)!r}::float8)" for d, v in zip(days, values, strict=True)
    )
    bits = "(('x' || encode(float8send(value), 'hex'))::bit(64)::bigint)"
    dd = "((date - DATE '1970-01-01')::bigint & 4294967295)"
    sql = (
        f"SELECT {unchanged._sql_hash('bb', 'dd')} FROM (SELECT {bits} AS bb, {dd} AS dd"
        f" FROM (VALUES {rows}) v(date, value)) s"
    )
    with engine.connect() as conn:
        got = [row[0] for row in conn.execute(sa.text(sql))]
    assert got == expected


def test_values_swapped_between_days_change_the_hash() -> None:
    days = np.array(["2026-11-01", "2026-11-02"], dtype="datetime64[D]")
    one = np.bitwise_xor.reduce(unchanged.row_hashes(days, np.array([0.0, 7.0])))
    other = np.bitwise_xor.reduce(unchanged.row_hashes(days, np.array([7.0, 0.0])))
    assert one != other


def test_resync_skips_what_is_stored_and_merges_every_change(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", "account_id\nacme\nbeta\n")
    project.write("exports/usage.csv", usage(ROWS))
    model = project.model(SOURCES, WIDE_BOUNDS)
    run_sync(engine, model, project.root, TODAY)
    before = stored(engine)
    assert before[("acme", "seats", "2026-11-01")] == 5e-324

    again = run_sync(engine, model, project.root, TODAY)[1]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    staged = last_run(engine, "sync")["details"]["staged_signals"]
    assert staged == (0 if engine.dialect.name == "postgresql" else 6)
    assert stored(engine) == before

    changed = list(ROWS)
    changed[0], changed[1] = (
        ("acme", "2026-11-01", "logins", 2.0),
        ("acme", "2026-11-02", "logins", 1.0),
    )  # swap
    changed[4] = ("beta", "2026-11-01", "logins", 0.5)
    project.write("exports/usage.csv", usage(changed))
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 3, 3)
    after = stored(engine)
    assert after[("acme", "logins", "2026-11-01")] == 2.0
    assert after[("acme", "logins", "2026-11-02")] == 1.0
    assert after[("beta", "logins", "2026-11-01")] == 0.5


def test_a_series_stored_under_another_source_or_expiring_is_merged(
    engine: Engine, project: SyncProject
) -> None:
    project.write("exports/accounts.csv", "account_id\nacme\nbeta\n")
    project.write("exports/usage.csv", usage(ROWS))
    run_sync(engine, project.model(SOURCES, WIDE_BOUNDS), project.root, TODAY)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE signals SET source = 'manual' WHERE account_id = 'beta'"))
        conn.execute(
            sa.text(
                "UPDATE signals SET valid_until = '2026-12-01' WHERE account_id = 'acme'"
                " AND signal = 'seats'"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO signals (account_id, signal, date, value, source) VALUES"
                " ('acme', 'logins', '2026-11-04', 9, 'exports/usage.csv')"
            )
        )
    summary = run_sync(engine, project.model(SOURCES, WIDE_BOUNDS), project.root, TODAY)[1]
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 3, 3)
    with engine.connect() as conn:
        sources = conn.execute(sa.text("SELECT DISTINCT source FROM signals")).scalars().all()
        expiring = conn.execute(
            sa.text("SELECT COUNT(*) FROM signals WHERE valid_until IS NOT NULL")
        ).scalar()
    assert sources == ["exports/usage.csv"]
    assert expiring == 0
    frame = pd.DataFrame(stored(engine).items())
    assert len(frame) == 7  # the extra stored day is kept, never deleted


def test_a_sync_without_signals_compares_nothing(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", "account_id\nacme\n")
    summary = run_sync(
        engine,
        project.model("  - kind: accounts\n    path: exports/accounts.csv\n"),
        project.root,
        TODAY,
    )[0]
    assert summary.inserted == 1
    assert last_run(engine, "sync")["details"]["staged_signals"] == 0


def test_only_new_or_changed_series_are_staged(engine: Engine, project: SyncProject) -> None:
    project.write("exports/accounts.csv", "account_id\nacme\nbeta\ngamma\n")
    project.write("exports/usage.csv", usage(ROWS))
    model = project.model(SOURCES, WIDE_BOUNDS)
    run_sync(engine, model, project.root, TODAY)
    more = [*ROWS, ("gamma", "2026-11-02", "logins", 4.0), ("beta", "2026-11-01", "seats", 1.0)]
    project.write("exports/usage.csv", usage(more))
    summary = run_sync(engine, model, project.root, TODAY)[1]
    assert (summary.inserted, summary.updated, summary.unchanged) == (2, 0, 6)
    staged = last_run(engine, "sync")["details"]["staged_signals"]
    assert staged == (2 if engine.dialect.name == "postgresql" else 8)
    assert stored(engine)[("gamma", "logins", "2026-11-02")] == 4.0
