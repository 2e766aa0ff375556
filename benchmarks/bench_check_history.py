"""`healthbot check --history --weeks 12` over 10,000 accounts (issue 19: at most 30 s).

Setup (not timed): a generated portfolio (seed 11, the demo generator) is loaded into a
SQLite file and its last 12 weeks are scored and stored, as weekly runs would have left them.
Timed: the command itself, end to end through `bot.cli.main` (its reads of the stored signals,
accounts and shown alerts; re-scoring each week with the demo model; replaying the weekly
decisions with cooldown and the DM cap; rendering what each rule would have sent, and to whom),
with its output sent to /dev/null. The CPU seconds are printed too: on a machine shared
with other work, wall time minus CPU time is mostly waiting for a core.

    python -m benchmarks.bench_check_history [--accounts 10000] [--weeks 12]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

END = dt.date(2026, 11, 22)
MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
TARGET_SECONDS = 30.0


def main(argv: list[str]) -> int:
    from bot.cli import main as healthbot
    from scoring.batch.jobs import score_and_store
    from scoring.config import load_model
    from scoring.periods import weekly_as_ofs
    from scoring.sample import generate_portfolio
    from scoring.store import ensure_schema, make_engine
    from scoring.store.frames_io import load_frames

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args(argv)
    model = load_model(MODEL)
    started = time.perf_counter()
    # Enough weeks before the first replayed one for the longest window, twice (metric drops).
    history_weeks = args.weeks + 2 * max(m.window_days for m in model.metrics.values()) // 7 + 2
    portfolio = generate_portfolio(seed=11, accounts=args.accounts, weeks=history_weeks, end=END)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        load_frames(engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END)
        as_ofs = weekly_as_ofs(END - dt.timedelta(weeks=args.weeks - 1), END)
        score_and_store(engine, model, as_ofs)
        engine.dispose()
        (Path(tmp) / "healthbot.yml").write_text(MODEL.read_text(encoding="utf-8"), "utf-8")
        print(
            f"data: {args.accounts:,} accounts, {len(portfolio.signals):,} signal rows over"
            f" {history_weeks} weeks, {len(as_ofs)} stored weeks"
            f" (set up in {time.perf_counter() - started:.1f} s, not timed)"
        )
        os.environ["DATABASE_URL"] = url
        cwd = Path.cwd()
        os.chdir(tmp)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                code = healthbot(["check", "--history", "--weeks", str(args.weeks)])
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            os.chdir(cwd)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"check --history: {args.weeks} weeks x {args.accounts:,} accounts in {total:.1f} s"
        f" (target <= {TARGET_SECONDS:.0f} s), exit {code}; {cpu:.1f} s of CPU (on a shared"
        f" machine, wall time above CPU time is time spent waiting for a core);"
        f" peak RSS {peak:,.0f} MB"
    )
    return 0 if code == 0 and total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
