"""A weekly run before delivery whose signals are read in place: a DuckDB file's table
(a `url` + `table` source, issue #21) holds 100,000 accounts x 90 days x 5 signals, wide;
healthbot's own database (SQLite) holds accounts and snapshots and never a signal row.

Targets (issue #20, the embedded default): weekly run before delivery at most 15 s. Setup
(writing the DuckDB table, loading accounts, scoring the week before) is not timed; the
weekly steps are, up to the outbox. The app's signals table is checked to stay empty.

    python -m benchmarks.bench_in_place [ACCOUNTS]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.data import benchmark_wide
from bot.jobs.weekly import WeeklyResult, weekly_messages
from scoring.batch.jobs import load_model_signals, placement_of, score_and_store
from scoring.batch.views import load_period
from scoring.config import parse_model
from scoring.periods import period_of
from scoring.store import ensure_schema, load_accounts, make_engine
from scoring.store.frames_io import load_frames
from scoring.store.outbox import enqueue
from tests.pipeline_fixtures import demo_model


def main(accounts: int = 100_000) -> None:
    acc, wide = benchmark_wide(accounts=accounts)
    end = pd.Timestamp(wide["date"].max()).date()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "warehouse.duckdb"
        start = time.perf_counter()
        with duckdb.connect(str(warehouse)) as conn:
            conn.register("wide", wide)
            conn.execute("create table usage as select * from wide order by account_id, date")
        print(f"setup: {len(wide):,} wide rows into DuckDB in {time.perf_counter() - start:.1f}s")
        del wide  # the rows live in DuckDB only: the peak below is the weekly run's
        raw = demo_model().model_dump(mode="json", exclude={"digest"}, exclude_none=True)
        raw["sources"] = [
            {"kind": "signals", "url": f"duckdb:///{warehouse}", "table": "usage", "layout": "wide"}
        ]
        model = parse_model(pd.io.json.ujson_dumps(raw))
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        ensure_schema(engine)
        empty = pd.DataFrame(columns=["account_id", "date", "signal", "value"])
        load_frames(
            engine, acc, empty, pd.DataFrame(columns=["account_id", "date", "outcome"]), end
        )
        score_and_store(engine, model, [end - timedelta(days=7)])
        timings: dict[str, float] = {}
        begin = time.perf_counter()
        placement = placement_of(model)
        signals = load_model_signals(
            engine, model, end, end, for_alerts=True, skip=placement.signals
        )
        timings["connect + place + read stored signals"] = time.perf_counter() - begin
        mark = time.perf_counter()
        score_and_store(engine, model, [end], signals, placement=placement, for_alerts=True)
        timings["score (in place) + freshness + store"] = time.perf_counter() - mark
        mark = time.perf_counter()
        result = WeeklyResult(period_of(end), end)
        view = load_period(engine, result.period)
        messages = weekly_messages(
            engine, model, view, load_accounts(engine), end, result, None, signals, placement
        )
        timings["compare + alerts (weekly windows in place) + render"] = time.perf_counter() - mark
        mark = time.perf_counter()
        enqueue(engine, messages)
        timings["enqueue"] = time.perf_counter() - mark
        total = time.perf_counter() - begin
        with engine.connect() as conn:
            copied = conn.exec_driver_sql("select count(*) from signals").scalar_one()
    for step, seconds in timings.items():
        print(f"  {step}: {seconds:.1f}s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # setup included
    print(
        f"weekly run before delivery, {accounts:,} accounts in place on DuckDB: {total:.1f}s"
        f" (target 15 s); {result.alerts:,} alerts in {len(messages)} messages;"
        f" peak RSS {peak:,.0f} MB; signal rows copied into the app database: {copied}"
    )
    assert copied == 0, "an in-place source's rows were copied"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
