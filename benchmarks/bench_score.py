"""`healthbot score --as-of` end to end (process start to snapshots stored), side by side on
every place the signals can be: 100,000 accounts x 90 days x 5 signals (9,000,000 wide rows).

Target (issue 20): at most 10 s and 1 GB peak on the embedded default, at most 20 s on
PostgreSQL. Each variant is the real command in a process of its own, timed with its peak
resident memory (`/usr/bin/time`); loading the signals (not timed) goes through the bulk
loader. The variants:

- SQLite app database, signals in it: aggregated in Python (today's default) and with
  `--in-database` (the compiled SQL on SQLite);
- PostgreSQL (with a URL): the same two;
- signals in a DuckDB file beside a SQLite app database (a wide table), read through the
  compiled path as a `url` + `table` source: what a DuckDB signal store would give.

    python -m benchmarks.bench_score [--accounts N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from benchmarks.data import benchmark_wide
from scoring.frames import wide_to_long
from scoring.store import ensure_schema, make_engine
from scoring.store.frames_io import load_frames
from tests.pipeline_fixtures import demo_model_path

NO_OUTCOMES = pd.DataFrame(columns=["account_id", "date", "outcome"])


def model_file(folder: Path, source: dict[str, object] | None = None) -> Path:
    """The demo model without its file sources (the signals are loaded already), plus
    `source` when the signals are read in place."""
    raw = yaml.safe_load(demo_model_path().read_text())
    raw["sources"] = [source] if source else []
    if not raw["sources"]:
        raw.pop("sources")
    path = folder / "healthbot.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def timed_score(config: Path, url: str, as_of: date, *extra: str) -> tuple[float, float]:
    """(seconds, peak MB) of one `healthbot score --as-of` in a fresh process."""
    report = config.parent / "time.txt"
    healthbot = str(Path(sys.executable).parent / "healthbot")
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(report), healthbot]
    argv += ["--config", str(config), "score", "--as-of", as_of.isoformat(), *extra]
    env = os.environ | {"DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr or done.stdout)
    return seconds, int(report.read_text().split()[-1]) / 1024


def load_store(url: str, accounts: pd.DataFrame, long: pd.DataFrame, end: date) -> float:
    engine = make_engine(url)
    ensure_schema(engine)
    started = time.perf_counter()
    load_frames(engine, accounts, long, NO_OUTCOMES, end)
    engine.dispose()
    return time.perf_counter() - started


def scratch_schema(url: str, schema: str) -> str:
    """A PostgreSQL schema of the benchmark's own, emptied: its URL."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def report(name: str, seconds: float, peak: float, target: float | None) -> None:
    verdict = "" if target is None else f" (target {target:.0f} s)"
    print(f"  {name}: {seconds:.1f} s, peak {peak:,.0f} MB{verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgreSQL")
    parser.add_argument(
        "--duckdb-only", action="store_true", help="only the DuckDB file (no row store to load)"
    )
    args = parser.parse_args()
    accounts, wide = benchmark_wide(accounts=args.accounts)
    end = pd.Timestamp(wide["date"].max()).date()
    print(f"{len(wide):,} wide rows, {args.accounts:,} accounts, as of {end}", flush=True)
    with tempfile.TemporaryDirectory(prefix="healthbot-bench-") as tmp:
        folder = Path(tmp)
        store = folder / "signals.duckdb"
        with duckdb.connect(str(store)) as conn:
            conn.register("wide", wide)
            conn.execute("CREATE TABLE signals_wide AS SELECT * FROM wide ORDER BY date")
        long = wide_to_long(wide)
        del wide
        if not args.duckdb_only:
            row_stores(folder, accounts, long, end, args.postgres)
        beside = f"sqlite:///{folder / 'beside.db'}"
        load_store(beside, accounts, long.iloc[:0], end)
        source = {"kind": "signals", "url": f"duckdb:///{store}", "table": "signals_wide"}
        (folder / "placed").mkdir()
        placed = model_file(folder / "placed", source | {"layout": "wide"})
        report(
            "DuckDB file beside a SQLite app database (wide table, compiled path)",
            *timed_score(placed, beside, end),
            10,
        )


def row_stores(
    folder: Path, accounts: pd.DataFrame, long: pd.DataFrame, end: date, postgres: str | None
) -> None:
    """The signals as rows of the app database: SQLite, and PostgreSQL with a URL."""
    sqlite_url = f"sqlite:///{folder / 'app.db'}"
    print(f"setup: SQLite loaded in {load_store(sqlite_url, accounts, long, end):.1f} s")
    config = model_file(folder)
    report("SQLite, aggregated in Python", *timed_score(config, sqlite_url, end), 10)
    report("SQLite, --in-database", *timed_score(config, sqlite_url, end, "--in-database"), 10)
    if postgres:
        pg_url = scratch_schema(postgres, "bench_score")
        print(f"setup: PostgreSQL loaded in {load_store(pg_url, accounts, long, end):.1f} s")
        report("PostgreSQL, aggregated in Python", *timed_score(config, pg_url, end), 20)
        report("PostgreSQL, --in-database", *timed_score(config, pg_url, end, "--in-database"), 20)


if __name__ == "__main__":
    main()
