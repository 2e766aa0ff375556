"""A weekly run over 100,000 accounts before delivery: score, compare, decide alerts, render.

Target (issue 4): at most 60 s. Setup (loading 9M signal rows and a previous week of
snapshots into SQLite) is not timed; the weekly run is, step by step, up to the outbox.

    python -m benchmarks.bench_weekly [ACCOUNTS] [POSTGRES_URL]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

from benchmarks.data import benchmark_wide
from bot.jobs.weekly import WeeklyResult, weekly_messages
from scoring.batch.jobs import load_model_signals, score_and_store
from scoring.batch.views import load_period
from scoring.config import parse_model
from scoring.frames import wide_to_long
from scoring.periods import period_of
from scoring.store import ensure_schema, load_accounts, make_engine
from scoring.store.frames_io import load_frames
from scoring.store.outbox import enqueue
from tests.pipeline_fixtures import demo_model


def main(accounts: int = 100_000, url: str | None = None) -> None:
    acc, wide = benchmark_wide(accounts=accounts)
    end = pd.Timestamp(wide["date"].max()).date()
    acc = acc.assign(owner_email=[f"csm{i % 40}@example.com" for i in range(len(acc))])
    model = demo_model()
    model = parse_model(model.model_dump_json(exclude={"digest"}))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        if url:  # a scratch PostgreSQL database: start from nothing
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA IF EXISTS bench_weekly CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA bench_weekly")
            engine = make_engine(url + "?options=-csearch_path%3Dbench_weekly")
        ensure_schema(engine)
        start = time.perf_counter()
        load_frames(
            engine,
            acc,
            wide_to_long(wide),
            pd.DataFrame(columns=["account_id", "date", "outcome"]),
            end,
        )
        print(f"setup: loaded {len(wide):,} wide rows in {time.perf_counter() - start:.1f}s")
        score_and_store(engine, model, [end - timedelta(days=7)])
        timings: dict[str, float] = {}
        begin = time.perf_counter()
        signals = load_model_signals(engine, model, end, end, for_alerts=True)
        timings["read signals"] = time.perf_counter() - begin
        mark = time.perf_counter()
        score_and_store(engine, model, [end], signals)
        timings["score + store"] = time.perf_counter() - mark
        mark = time.perf_counter()
        result = WeeklyResult(period_of(end), end)
        view = load_period(engine, result.period)
        messages = weekly_messages(
            engine, model, view, load_accounts(engine), end, result, signals=signals
        )
        timings["compare + alerts + playbooks + render"] = time.perf_counter() - mark
        mark = time.perf_counter()
        enqueue(engine, messages)
        timings["enqueue"] = time.perf_counter() - mark
        total = time.perf_counter() - begin
    for step, seconds in timings.items():
        print(f"  {step}: {seconds:.1f}s")
    where = "PostgreSQL" if url else "SQLite"
    print(
        f"weekly run before delivery, {accounts:,} accounts on {where}: {total:.1f}s"
        " (target 60 s);"
        f" {result.alerts:,} alerts in {len(messages)} messages"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
