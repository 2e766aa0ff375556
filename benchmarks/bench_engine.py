"""Scoring 100,000 accounts x 90 days x 5 signals (9,000,000 wide rows) as of the last day.

Targets (issue 2): the scoring step from data in memory takes at most 2 s on 2 cores, peak
memory under 3 GB. Also times reading the stored Parquet file and scoring it.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.data import benchmark_wide
from scoring.config import parse_model
from scoring.engine.score import score_accounts

MODEL = """
metrics:
  product_usage: {signal: active_users, aggregate: mean, window_days: 30,
                  scale: {worst: 0, best: 40}, weight: 30}
  feature_adoption: {signal: features_used, aggregate: last, window_days: 30,
                     scale: {worst: 0, best: 12}, weight: 25}
  support_tickets: {signal: tickets_opened, aggregate: sum, window_days: 90,
                    scale: {worst: 12, best: 0}, weight: 20, fill: 0}
  payment_history: {signal: invoices_overdue, aggregate: max, window_days: 90,
                    scale: {worst: 3, best: 0}, weight: 15}
  engagement: {signal: nps, aggregate: last, window_days: 180,
               scale: {worst: 0, best: 10}, weight: 10}
segments:
  enterprise:
    where: {segment: Enterprise}
    weights: {product_usage: 20, feature_adoption: 30, engagement: 20}
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(accounts: int = 100_000) -> None:
    model = parse_model(MODEL)
    acc, wide = benchmark_wide(accounts=accounts)
    as_of = pd.Timestamp(wide["date"].max()).date()
    rows = len(wide)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = score_accounts(model, acc, wide, as_of, layout="wide")
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(
        f"score from memory: {rows:,} rows, {len(result.accounts):,} accounts: best {best:.2f}s"
        f" of {len(timings)} ({rows / best / 1e6:.1f}M rows/s), peak RSS {peak_rss_mb():.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "signals.parquet"
        wide.to_parquet(path, index=False)
        del wide
        start = time.perf_counter()
        stored = pd.read_parquet(path)
        read = time.perf_counter() - start
        score_accounts(model, acc, stored, as_of, layout="wide")
        total = time.perf_counter() - start
    print(f"read Parquet + score: {total:.2f}s (read {read:.2f}s), peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
