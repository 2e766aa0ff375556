"""Sync of 100,000 accounts x 90 days of wide signals (9,000,000 wide rows, 5 signals).

Targets (issue 3): the first load into PostgreSQL takes at most 180 s (COPY into a staging
table, then one merge); re-syncing the same file takes at most half of that. SQLite is reported.

    python -m benchmarks.bench_sync [--accounts N] [--db sqlite|postgres|both]

PostgreSQL: $HEALTHBOT_BENCH_POSTGRES_URL, else $HEALTHBOT_TEST_POSTGRES_URL, else the local
test server; the benchmark works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from scoring.config import parse_model
from scoring.store import ensure_schema, last_run, load_signals, make_engine, normalize_url
from scoring.sync import run_sync

END = date(2026, 11, 21)
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
MODEL = """
metrics:
  product_usage: {signal: active_users, window_days: 30, scale: {worst: 0, best: 40}, weight: 1}
sources:
  - kind: accounts
    path: accounts.parquet
  - kind: signals
    path: signals_wide.parquet
    layout: wide
"""


def data(accounts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shared benchmark data set (benchmarks/data.py), from its Parquet cache when there."""
    from benchmarks.data import DATA_DIR, benchmark_wide

    cached = DATA_DIR / "signals_wide.parquet"
    if accounts == 100_000 and cached.exists() and (DATA_DIR / "accounts.parquet").exists():
        return pd.read_parquet(DATA_DIR / "accounts.parquet"), pd.read_parquet(cached)
    return benchmark_wide(accounts=accounts, end=END)


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    base = (
        os.environ.get("HEALTHBOT_BENCH_POSTGRES_URL")
        or os.environ.get("HEALTHBOT_TEST_POSTGRES_URL")
        or LOCAL_POSTGRES
    )
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = normalize_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def bench(kind: str, workdir: Path, wide_rows: int) -> dict[str, float]:
    model = parse_model(MODEL, str(workdir / "healthbot.yml"), {})
    figures: dict[str, float] = {}
    with database(kind, workdir) as url:
        engine = make_engine(url)
        ensure_schema(engine)
        for label in ("first load", "re-sync"):
            started = time.perf_counter()
            summaries = run_sync(engine, model, workdir, END)
            seconds = time.perf_counter() - started
            figures[label] = seconds
            phases = last_run(engine, "sync")["details"]["seconds"]
            signals = summaries[1]
            print(
                f"{kind:>8} {label:<10} {seconds:7.1f} s  ({wide_rows:,} wide rows,"
                f" {signals.values:,} values: {signals.inserted:,} inserted,"
                f" {signals.unchanged:,} unchanged; read+validate {phases['read_validate']:.1f} s,"
                f" compare {phases['compare']:.1f} s, stage {phases['stage']:.1f} s,"
                f" merge {phases['merge']:.1f} s,"
                f" other {seconds - sum(phases.values()):.1f} s)",
                flush=True,
            )
        started = time.perf_counter()
        window = load_signals(engine, END - timedelta(days=30), END)
        figures["load 30 days"] = time.perf_counter() - started
        print(
            f"{kind:>8} load_signals of the last 30 days: {len(window):,} rows in"
            f" {figures['load 30 days']:.1f} s",
            flush=True,
        )
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    accounts, wide = data(args.accounts)
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="healthbot-bench-") as tmp:
        workdir = Path(tmp)
        accounts.to_parquet(workdir / "accounts.parquet", index=False)
        wide.to_parquet(workdir / "signals_wide.parquet", index=False)
        del accounts
        results = {kind: bench(kind, workdir, len(wide)) for kind in kinds}
    if "postgres" in results and args.accounts == 100_000:
        first, again = results["postgres"]["first load"], results["postgres"]["re-sync"]
        ok = first <= 180 and again <= first / 2
        print(
            f"PostgreSQL targets (first load <= 180 s, re-sync <= half):"
            f" {'met' if ok else 'NOT met'} ({first:.1f} s, {again:.1f} s)"
        )


if __name__ == "__main__":
    main()
