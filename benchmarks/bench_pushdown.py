"""The window aggregates computed by DuckDB through the compiled path, against hand-written SQL
and against today's engine, on 100,000 accounts x 90 days x 5 signals (9,000,000 wide rows).

Target (issue 20): the compiled aggregation on DuckDB within 1.5x of DuckDB computing the same
model with the hand-written query below, from the same Parquet file. Also reported, in the same
run: the in-memory reference (read the Parquet file with pandas, score with the engine), the
compiled path over the same rows loaded into a DuckDB table in the store's long layout (one row
per account, signal and day: how a signal store holds them), and that all paths agree.

    python -m benchmarks.bench_pushdown [--accounts N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from benchmarks.bench_engine import MODEL
from benchmarks.data import benchmark_wide
from scoring.config import parse_model
from scoring.engine.aggregate_specs import specs_of
from scoring.engine.score import score_accounts
from scoring.pushdown import DuckRunner, SqlSource

AS_OF = date(2026, 11, 21)
# The bench_engine model, written by hand: what a person would ask DuckDB for.
HAND_WRITTEN = """
SELECT account_id,
  avg(active_users) FILTER (WHERE date > DATE '{as_of}' - 30) AS product_usage,
  arg_max(features_used, date) FILTER (WHERE date > DATE '{as_of}' - 30
                                       AND features_used IS NOT NULL) AS feature_adoption,
  coalesce(sum(tickets_opened), 0) AS support_tickets,
  max(invoices_overdue) AS payment_history,
  arg_max(nps, date) FILTER (WHERE nps IS NOT NULL) AS engagement
FROM read_parquet('{path}')
WHERE date > DATE '{as_of}' - 180 AND date <= DATE '{as_of}'
GROUP BY account_id
"""


def timed(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = parse_model(MODEL)
    accounts, wide = benchmark_wide(accounts=args.accounts, end=AS_OF)
    with tempfile.TemporaryDirectory(prefix="healthbot-bench-") as tmp:
        path = Path(tmp) / "signals_wide.parquet"
        wide.to_parquet(path, index=False)
        rows = len(wide)
        del wide
        con = duckdb.connect()
        con.execute(f"CREATE VIEW wide AS SELECT * FROM read_parquet('{path}')")
        hand = HAND_WRITTEN.format(as_of=AS_OF.isoformat(), path=path)
        hand_s, _ = timed(lambda: con.execute(hand).df(), args.repeat)
        wide_source = SqlSource(DuckRunner(con), table="wide", layout="wide")
        ids = accounts["account_id"].to_numpy()
        specs = specs_of(model)
        compiled_s, _ = timed(lambda: wide_source.aggregate(specs, ids, AS_OF), args.repeat)
        print(
            f"DuckDB on Parquet, {rows:,} wide rows: hand-written SQL {hand_s:.2f} s, compiled"
            f" path {compiled_s:.2f} s ({compiled_s / hand_s:.2f}x; target <= 1.5x:"
            f" {'met' if compiled_s <= 1.5 * hand_s else 'NOT met'})",
            flush=True,
        )
        reference_s, reference = timed(
            lambda: score_accounts(model, accounts, pd.read_parquet(path), AS_OF, layout="wide"),
            1,
        )
        print(f"today's engine: read Parquet with pandas + score {reference_s:.2f} s", flush=True)
        pushed_s, pushed = timed(
            lambda: score_accounts(model, accounts, wide_source, AS_OF), args.repeat
        )
        print(f"compiled path on DuckDB + the engine's scales and bands: {pushed_s:.2f} s")
        started = time.perf_counter()
        con.execute(
            "CREATE TABLE signals AS UNPIVOT wide ON COLUMNS(* EXCLUDE (account_id, date))"
            " INTO NAME signal VALUE value"
        )
        print(
            f"long layout: {rows:,} wide rows unpivoted into a DuckDB table in"
            f" {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        long_source = SqlSource(DuckRunner(con))
        long_s, long_scores = timed(
            lambda: score_accounts(model, accounts, long_source, AS_OF), args.repeat
        )
        print(f"compiled path on the long DuckDB table + the engine: {long_s:.2f} s")
        for name, other in (("Parquet", pushed), ("long table", long_scores)):
            a = reference.accounts["score_shown"].to_numpy()  # type: ignore[attr-defined]
            b = other.accounts["score_shown"].to_numpy()  # type: ignore[attr-defined]
            same = np.array_equal(a, b, equal_nan=True)
            print(f"shown scores equal to today's engine ({name}): {same}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
