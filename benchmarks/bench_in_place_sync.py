"""Sync of a signals table read in place: validating 100,000 accounts x 90 days x 1 signal
(9,000,000 long rows, generated in SQL where they live) without copying a row.

Targets (issue 21): at most 10 s with a DuckDB file standing in for the warehouse and at most
30 s with a PostgreSQL table; healthbot's `signals` table stays empty (asserted). The accounts
are stored first by an ordinary sync of an accounts file (not timed); then `run_sync` of the
in-place source is timed end to end (connect, column and type checks, per-signal, per-account
and duplicate aggregates, the shrink guard, the commit of the run and its `in_place_syncs`
row), `--repeat` times (the second sync also meets the shrink guard against the first). The
table has a PRIMARY KEY on (account_id, signal, date), as a signals table in PostgreSQL or
DuckDB usually has, so the duplicate scan is skipped; `--no-key` measures that scan too.

    python -m benchmarks.bench_in_place_sync [--accounts N] [--days 90]
        [--warehouse duckdb|postgres|both] [--postgres URL] [--repeat 2] [--no-key]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import duckdb
import sqlalchemy as sa

from scoring.config import parse_model
from scoring.store import ensure_schema, make_engine
from scoring.sync import run_sync

TODAY = date(2026, 11, 21)
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
METRICS = (
    "metrics:\n  logins: {signal: logins, window_days: 30, scale: {worst: 0, best: 10},"
    " weight: 1}\n"
)
SELECT = (
    "SELECT 'acc' || lpad(CAST(a AS VARCHAR), 6, '0') AS account_id,"
    " CAST(DATE '{first}' + CAST(d AS INTEGER) AS DATE) AS date, 'logins' AS signal,"
    " CAST(MOD(a * 7 + d, 50) AS DOUBLE PRECISION) AS value"
)


def _load_accounts(engine: sa.Engine, accounts: int, folder: Path) -> None:
    """Store the accounts with an ordinary sync of an accounts file (not timed)."""
    lines = "".join(f"acc{a:06d},Account {a}\n" for a in range(accounts))
    (folder / "accounts.csv").write_text("account_id,name\n" + lines, encoding="utf-8")
    model = parse_model(
        f"{METRICS}sources:\n  - {{kind: accounts, path: accounts.csv}}\n", "bench.yml", {}
    )
    run_sync(engine, model, folder, TODAY)


KEY = "ALTER TABLE {table} ADD PRIMARY KEY (account_id, signal, date)"


def _duckdb_table(folder: Path, accounts: int, days: int, key: bool) -> str:
    path = folder / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    first = TODAY - timedelta(days=days)
    con.execute(
        f"CREATE OR REPLACE TABLE usage AS {SELECT.format(first=first)}"
        f" FROM range({accounts}) r(a), range({days}) s(d)"
    )
    if key:
        con.execute(KEY.format(table="usage"))
    con.close()
    return f"duckdb://{path}"


def _postgres_table(base: str, schema: str, accounts: int, days: int, key: bool) -> str:
    admin = make_engine(base)
    first = TODAY - timedelta(days=days)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".usage AS {SELECT.format(first=first)}'
            f" FROM generate_series(0, {accounts - 1}) a, generate_series(0, {days - 1}) d"
        )
        if key:
            conn.exec_driver_sql(KEY.format(table=f'"{schema}".usage'))
    with admin.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f'ANALYZE "{schema}".usage'
        )
    admin.dispose()
    url = sa.make_url(base)
    auth = url.username + (f":{url.password}" if url.password else "")
    return (
        f"postgres://{auth}@{url.host}:{url.port or 5432}/{url.database}"
        f"?options=-csearch_path%3D{schema}"
    )


def _drop_schema(base: str, schema: str) -> None:
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


def bench(kind: str, url: str, engine: sa.Engine, folder: Path, repeat: int, rows: int) -> None:
    source = f"  - {{kind: signals, name: usage, url: '{url}', table: usage}}\n"
    model = parse_model(f"{METRICS}sources:\n{source}", str(folder / "bench.yml"), {})
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        summary = run_sync(engine, model, folder, TODAY)[0]
        seconds.append(time.perf_counter() - started)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT COUNT(*) FROM signals")).scalar()
    assert stored == 0, f"{stored} rows were copied into healthbot's signals table"
    assert summary.rows_read == rows, summary.line()
    target = 10 if kind == "duckdb" else 30
    median = statistics.median(seconds)
    print(
        f"{kind}: {rows:,} rows validated in place, sync {median:.2f} s median of"
        f" {', '.join(f'{s:.2f}' for s in seconds)} (target <= {target} s:"
        f" {'met' if median <= target else 'NOT met'}); signals table rows: {stored};"
        f" load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--warehouse", choices=["duckdb", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("HEALTHBOT_BENCH_POSTGRES_URL")
        or os.environ.get("HEALTHBOT_TEST_POSTGRES_URL")
        or LOCAL_POSTGRES,
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--no-key",
        action="store_true",
        help="no PRIMARY KEY on (account_id, signal, date): sync then scans for duplicates",
    )
    args = parser.parse_args()
    rows = args.accounts * args.days
    kinds = ["duckdb", "postgres"] if args.warehouse == "both" else [args.warehouse]
    with tempfile.TemporaryDirectory(prefix="healthbot-bench-") as tmp:
        folder = Path(tmp)
        engine = make_engine(f"sqlite:///{folder / 'healthbot.db'}")
        ensure_schema(engine)
        _load_accounts(engine, args.accounts, folder)
        for kind in kinds:
            started = time.perf_counter()
            if kind == "duckdb":
                url = _duckdb_table(folder, args.accounts, args.days, not args.no_key)
                schema = None
            else:
                schema = f"bench_wh_{uuid.uuid4().hex[:10]}"
                url = _postgres_table(
                    args.postgres, schema, args.accounts, args.days, not args.no_key
                )
            keyed = "without a key" if args.no_key else "with a primary key"
            print(
                f"{kind}: {rows:,} rows generated ({keyed}) in"
                f" {time.perf_counter() - started:.1f} s"
            )
            try:
                bench(kind, url, engine, folder, args.repeat, rows)
            finally:
                if schema is not None:
                    _drop_schema(args.postgres, schema)
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
