"""`healthbot calibrate --advise` at size: 10,000 accounts x 52 weekly periods x 12 signals with
455 days of daily history (issue 23: the search within 2 minutes on 2 cores).

The history is a generated portfolio (65 weeks of its daily signals, with churned accounts so
the labels are real) plus daily signals of its own up to 12 in all: each account's level of
one of them follows a latent health that is lower, on average, for accounts that churn, so the
search has something to find. The current model is the demo model. Not timed: generating the
data and the backtest of the current model (bench_backtest measures that). Timed: `advise()`,
i.e. every candidate (12 signals x 8 aggregates x 3 windows, plus the current metrics) for
every account and period, the search in each held-out fold and on all rows, the baseline
logistic regression and the account bootstrap.

With --in-place the added signals (all but the portfolio's own) are written to a DuckDB file
(long layout, not timed) and read in place: their candidates come from one compiled query per
signal for every as-of day (GROUP BY account and segment between window edges,
`scoring.pushdown.segments`, via `scoring.validation.placed_candidates`) instead of from rows
in memory.

    python -m benchmarks.bench_advise [--accounts 10000] [--periods 52] [--signals 12]
        [--in-place]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from scoring.config import load_model, parse_model
from scoring.decisions.placed_history import InPlaceSignals
from scoring.periods import weekly_as_ofs
from scoring.pushdown.in_place import place_signals
from scoring.sample import generate_portfolio
from scoring.validation.advise import advise
from scoring.validation.backtest import run_backtest

END = dt.date(2026, 11, 22)
MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
TARGET_SECONDS = 120.0
HISTORY_DAYS = 455


def extra_signals(portfolio, count: int, seed: int = 3) -> pd.DataFrame:
    """`count` more daily signals for every account over the last 455 days: a latent level
    (lower for accounts that churn) plus daily noise, as a long frame with categoricals."""
    rng = np.random.default_rng(seed)
    accounts = portfolio.accounts
    ids = accounts["account_id"].astype(str).to_numpy()
    churned = accounts["churned_on"].notna().to_numpy() if "churned_on" in accounts else None
    if churned is None or not churned.any():
        gone = set(portfolio.outcomes.loc[portfolio.outcomes["outcome"] == "churned", "account_id"])
        churned = np.isin(ids, list(gone))
    dates = pd.date_range(end=pd.Timestamp(END), periods=HISTORY_DAYS, freq="D").as_unit("ns")
    n, d = len(ids), len(dates)
    parts = []
    for k in range(count):
        level = rng.normal(50, 10, n) - rng.uniform(0, 12) * churned
        values = level[:, None] + rng.normal(0, 8, (n, d))
        parts.append(
            pd.DataFrame(
                {
                    "account_id": pd.Categorical(np.repeat(ids, d)),
                    "signal": f"extra_{k + 1:02d}",
                    "date": np.tile(dates.to_numpy(), n),
                    "value": values.ravel(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def placed(extra: pd.DataFrame, folder: Path) -> InPlaceSignals:
    """`extra` as a DuckDB table read in place, every signal of it placed."""
    import duckdb

    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.register("frame", extra.astype({"account_id": str, "signal": str}))
        conn.execute("create table events as select * from frame order by date")
    raw = yaml.safe_load(MODEL.read_text())
    raw["sources"] = [{"kind": "signals", "url": f"duckdb:///{path}", "table": "events"}]
    placement = place_signals(parse_model(yaml.safe_dump(raw)), every=True)
    return InPlaceSignals(placement.signals, placement.aggregate_source(per_signal=True))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=52)
    parser.add_argument("--signals", type=int, default=12)
    parser.add_argument("--in-place", action="store_true", help="the added signals in DuckDB")
    args = parser.parse_args(argv)
    model = load_model(MODEL)
    horizon = model.backtest.horizon_days
    started = time.perf_counter()
    portfolio = generate_portfolio(
        seed=11, accounts=args.accounts, weeks=HISTORY_DAYS // 7, end=END
    )
    own = portfolio.signals[["account_id", "signal", "date", "value"]]
    have = own["signal"].nunique()
    extra = extra_signals(portfolio, max(args.signals - have, 0))
    signals = pd.concat(
        [own.astype({"account_id": str, "signal": str}), extra.astype({"account_id": str})],
        ignore_index=True,
    ).astype({"account_id": "category", "signal": "category"})
    last = END - dt.timedelta(days=horizon)
    as_ofs = weekly_as_ofs(last - dt.timedelta(weeks=args.periods), last)[-args.periods :]
    backtest = run_backtest(
        model, portfolio.accounts, signals, portfolio.outcomes, as_ofs, horizon, replay_weeks=0
    )
    prepared = time.perf_counter() - started
    print(
        f"data: {args.accounts:,} accounts, {signals['signal'].nunique()} signals,"
        f" {len(signals):,} signal rows over {HISTORY_DAYS} days; {len(as_ofs)} periods"
        f" (generated and backtested in {prepared:.1f} s, not timed)"
    )
    ids = pd.Index(portfolio.accounts["account_id"].astype(str))
    folder = tempfile.TemporaryDirectory()
    in_place = None
    if args.in_place:
        in_place = placed(extra, Path(folder.name))
        signals = signals[~signals["signal"].isin(in_place.signals)]
        print(f"in place (DuckDB, long): {len(in_place.signals)} signals, {len(extra):,} rows")
    del extra
    started, cpu = time.perf_counter(), time.process_time()
    advice = advise(model, backtest, signals, ids, in_place=in_place)
    folder.cleanup()
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    a, pair = advice.auc, advice.pair_se
    print(
        f"advise: {len(advice.specs)} candidates, {advice.heldout_rows:,} held-out rows"
        f" ({advice.split.method}); {len(advice.chosen)} metrics proposed"
    )
    print(
        f"held-out AUC: current {a['current']:.3f}, proposal {a['proposal']:.3f}, baseline"
        f" {a['baseline']:.3f} (proposal - baseline {a['proposal'] - a['baseline']:+.3f}"
        f" ± {pair[('proposal', 'baseline')]:.3f})"
    )
    print(f"time: {total:.1f} s (target <= {TARGET_SECONDS:.0f} s); peak RSS {peak:,.0f} MB")
    # CPU time (every thread of this process): what a loaded machine does not inflate
    print(f"cpu: {cpu:.1f} s; load average {Path('/proc/loadavg').read_text().split()[0]}")
    return 0 if total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
