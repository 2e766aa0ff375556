"""Storing one period's snapshots for 100,000 accounts x 5 metrics, and reading two back.

Targets (issue 3): storing a period takes at most 15 s on SQLite and on PostgreSQL (COPY or
chunked executemany, never an ORM object per row), and the previous-period comparison at most
2 s. Also reports storing the period again (a re-score replaces it). The comparison is measured
as the application does it, from the database: `load_period` reads the week, the week before and
the one before that, compares them (delta, band change, drivers) and joins account names and
owners, with 100,000 accounts in the accounts table.

    python -m benchmarks.bench_store [--accounts N] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.bench_sync import database
from scoring.batch.views import load_period
from scoring.store import ensure_schema, make_engine, save_snapshots
from scoring.store.frames_io import load_frames

NO_SIGNALS = pd.DataFrame(columns=["account_id", "signal", "date", "value"])
NO_OUTCOMES = pd.DataFrame(columns=["account_id", "date", "outcome"])
METRICS = ["product_usage", "feature_adoption", "support_tickets", "payment_history", "engagement"]


def frames(accounts: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engine-shaped output: a row per account, a row per (account, metric)."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("a", np.char.zfill(np.arange(1, accounts + 1).astype(str), 6))
    score = rng.uniform(0, 100, accounts)
    insufficient = rng.random(accounts) < 0.03
    score[insufficient] = np.nan
    band = np.where(score >= 80, "healthy", np.where(score >= 50, "at_risk", "critical"))
    band = np.where(insufficient, "insufficient_data", band)
    scores = pd.DataFrame(
        {
            "account_id": ids,
            "segment_rule": np.where(rng.random(accounts) < 0.2, "enterprise", None),
            "score": score,
            "score_shown": np.floor(score * 10 + 0.5) / 10,
            "band": band,
            "band_rank": pd.Series((score < 80).astype(int) + (score < 50), dtype="Int64").mask(
                insufficient
            ),
            "completeness": np.where(insufficient, 0.2, 1.0),
            "status": np.where(insufficient, "insufficient_data", "scored"),
        }
    )
    n = accounts * len(METRICS)
    has_data = rng.random(n) < 0.9
    metrics = pd.DataFrame(
        {
            "account_id": np.repeat(ids, len(METRICS)),
            "metric": np.tile(METRICS, accounts),
            "raw": np.where(has_data, rng.uniform(0, 50, n), np.nan),
            "has_data": has_data,
            "metric_score": np.where(has_data, rng.uniform(0, 100, n), np.nan),
            "weight": np.tile([30.0, 25.0, 20.0, 15.0, 10.0], accounts),
            "share": np.tile([0.3, 0.25, 0.2, 0.15, 0.1], accounts),
            "points": rng.uniform(0, 30, n),
        }
    )
    return scores, metrics


def bench(kind: str, workdir: Path, accounts: int) -> tuple[float, float]:
    scores, metrics = frames(accounts)
    with database(kind, workdir) as url:
        engine = make_engine(url)
        ensure_schema(engine)
        load_frames(engine, accounts_of(scores), NO_SIGNALS, NO_OUTCOMES, date(2026, 11, 22))
        save_snapshots(engine, "2026-W45", date(2026, 11, 8), "bench", scores, metrics)
        save_snapshots(engine, "2026-W46", date(2026, 11, 15), "bench", scores, metrics)
        started = time.perf_counter()
        save_snapshots(engine, "2026-W47", date(2026, 11, 22), "bench", scores, metrics)
        first = time.perf_counter() - started
        started = time.perf_counter()
        save_snapshots(engine, "2026-W47", date(2026, 11, 22), "bench", scores, metrics)
        again = time.perf_counter() - started
        compared = []
        for _ in range(3):
            started = time.perf_counter()
            view = load_period(engine, "2026-W47")
            compared.append(time.perf_counter() - started)
        assert len(view.scores) == accounts and view.scores["delta"].notna().any()
        assert len(view.drivers) > 0 and view.scores["name"].notna().all()
        engine.dispose()
    compare_s = statistics.median(compared)
    print(
        f"{kind:>8}: store a period of {accounts:,} accounts ({len(metrics):,} metric rows)"
        f" {first:5.1f} s, store it again {again:5.1f} s, compare with the previous period"
        f" {compare_s:4.2f} s (median of 3)",
        flush=True,
    )
    return max(first, again), compare_s


def accounts_of(scores: pd.DataFrame) -> pd.DataFrame:
    ids = scores["account_id"]
    return pd.DataFrame(
        {
            "account_id": ids,
            "name": "Account " + ids,
            "owner_email": "csm" + (ids.str[-2:]) + "@example.com",
            "segment": np.where(scores["segment_rule"].notna(), "enterprise", "smb"),
            "arr": 12_000.0,
            "renewal_date": pd.Timestamp("2027-03-01"),
            "status": "active",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="healthbot-bench-") as tmp:
        figures = {kind: bench(kind, Path(tmp), args.accounts) for kind in kinds}
    if args.accounts == 100_000:
        stored = all(store <= 15 for store, _ in figures.values())
        compared = all(compare <= 2 for _, compare in figures.values())
        print(f"target (<= 15 s per period on each database): {'met' if stored else 'NOT met'}")
        print(f"target (comparison <= 2 s on each database): {'met' if compared else 'NOT met'}")


if __name__ == "__main__":
    main()
