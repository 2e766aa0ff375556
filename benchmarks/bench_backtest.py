"""A backtest over 52 weekly periods for 10,000 accounts (issue 7: at most 60 s on 2 cores).

The history is a generated portfolio (78 weeks of daily signals, ~11.6M rows, with churned
accounts so the labels are real) scored by the demo model, whose alert rules (score drop, band
downgrade, metric drop, renewal, stale data) all run every period. Everything is in memory, as
`healthbot backtest` has it after its one signal read: the timed part is re-scoring 52 periods
with the vectorised engine, the alert rules, the labels, and the summary tables. Generating the
data is not timed.

    python -m benchmarks.bench_backtest [--accounts 10000] [--periods 52]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

from scoring.config import load_model
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.validation.backtest import run_backtest
from scoring.validation.summary import summarize

END = dt.date(2026, 11, 22)
MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
TARGET_SECONDS = 60.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=52)
    args = parser.parse_args(argv)
    model = load_model(MODEL)
    horizon = model.backtest.horizon_days
    weeks = args.periods + 26  # half a year before the first period fills the windows
    started = time.perf_counter()
    portfolio = generate_portfolio(seed=11, accounts=args.accounts, weeks=weeks, end=END)
    generated = time.perf_counter() - started
    last = END - dt.timedelta(days=horizon)
    as_ofs = weekly_as_ofs(last - dt.timedelta(weeks=args.periods), last)[-args.periods :]
    print(
        f"data: {args.accounts:,} accounts, {len(portfolio.signals):,} signal rows over"
        f" {weeks} weeks (generated in {generated:.1f} s, not timed)"
    )
    started = time.perf_counter()
    backtest = run_backtest(
        model, portfolio.accounts, portfolio.signals, portfolio.outcomes, as_ofs, horizon
    )
    scored = time.perf_counter() - started
    summary = summarize(backtest, model)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"backtest: {len(as_ofs)} periods x {args.accounts:,} accounts ="
        f" {len(backtest.rows):,} account-periods, {len(backtest.alerts):,} alert firings"
    )
    print(
        f"time: re-scoring + alerts + labels {scored:.1f} s, summary {total - scored:.1f} s,"
        f" total {total:.1f} s (target <= {TARGET_SECONDS:.0f} s); peak RSS {peak:,.0f} MB"
    )
    print(f"AUC {summary.auc:.3f}, lift of the lowest decile {summary.lift['lift']:.1f}x")
    return 0 if total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
