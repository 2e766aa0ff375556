"""The big benchmark data set: 100,000 accounts x 90 days of wide signals (9,000,000 rows).

Benchmarks need a data set the size of a large customer's, quickly and identically on every
machine. Unlike the demo portfolio it carries no storylines, only plausible distributions and
the same sparsity as real exports (tickets on ~10% of days, NPS on ~2%, billing weekly), because
what is measured is throughput and memory, not insight. Every column is drawn as one flat array
(row = account * days + day) so that generation takes seconds, not minutes.

Run `python -m benchmarks.data` to write benchmarks/.data/{accounts,signals_wide}.parquet once
and let the benchmarks reuse them.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.sample.catalog import ARR_RANGE, CSMS, SEGMENT_SHARES, SEGMENTS, WEEKDAY_FACTOR

DATA_DIR = Path(__file__).parent / ".data"
CSMS_EMAILS = [f"{c}@example.com" for c in CSMS]
WIDE_COLUMNS = [
    "account_id",
    "date",
    "active_users",
    "features_used",
    "tickets_opened",
    "invoices_overdue",
    "nps",
]


def benchmark_wide(
    accounts: int = 100_000, days: int = 90, seed: int = 1, end: dt.date = dt.date(2026, 11, 21)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts frame, wide signals frame) sorted by account then date, ending at `end`.

    Values are float64 like real synced values (NaN = no observation). Text columns are plain
    `str` as the frame contract says (a categorical would surprise code that fills or compares
    them); the 9M-row account_id is built by an Arrow `take` from the distinct ids rather than
    formatted per row, which keeps both time and memory down.
    """
    rng = np.random.default_rng(seed)
    n, rows = accounts, accounts * days
    ids = np.char.add("a", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    dates = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D").as_unit("ns")

    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARES)
    lo, hi = ARR_RANGE[seg].T
    arr = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))) / 100) * 100
    renewal = pd.Timestamp(end).as_unit("ns") + pd.to_timedelta(rng.integers(-180, 366, n), "D")
    accounts_df = pd.DataFrame(
        {
            "account_id": pd.array(ids, dtype="str"),
            "name": pd.array(np.char.add("Company ", np.char.lstrip(ids, "a0")), dtype="str"),
            "owner_email": pd.array(
                np.array(CSMS_EMAILS)[rng.integers(0, len(CSMS), n)], dtype="str"
            ),
            "segment": pd.array(SEGMENTS[seg], dtype="str"),
            "arr": arr,
            "renewal_date": renewal,
            "status": pd.array(np.full(n, "active"), dtype="str"),
            "churned_on": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        }
    )

    # Per-row views of per-account and per-day parameters, without materialising an index twice.
    health = rng.beta(5.0, 2.0, n)
    acc_of_row = np.repeat(np.arange(n, dtype=np.int32), days)
    h = health[acc_of_row]
    weekday = np.tile(WEEKDAY_FACTOR[dates.day_of_week.to_numpy()], n)
    mondays = np.tile(dates.day_of_week.to_numpy() == 0, n)

    active = (0.15 + 0.75 * h) * weekday
    active *= rng.lognormal(0.0, 0.08, rows)
    active = np.round(np.clip(100 * active, 0, 100), 1)
    u = rng.random(rows)
    features = np.clip(np.round(1 + 10 * h + (u < 0.05) - (u > 0.95)), 0, 12)
    tickets = np.full(rows, np.nan)
    has_ticket = rng.random(rows) < 0.043 + 0.2 * (1 - h)
    tickets[has_ticket] = 1.0 + rng.poisson(0.3, int(has_ticket.sum()))
    troubled = (rng.random(n) < 0.05)[acc_of_row]
    invoices = np.where(mondays, 0.0, np.nan)
    trouble_days = mondays & troubled
    invoices[trouble_days] = rng.integers(1, 4, int(trouble_days.sum()))
    nps = np.full(rows, np.nan)
    answered = rng.random(rows) < 0.02
    nps_mean = 1.5 + 8.5 * h[answered]
    nps[answered] = np.clip(np.round(rng.normal(nps_mean, 1.3)), 0, 10)
    del h, weekday, u

    wide = pd.DataFrame(
        {
            "account_id": pd.array(pa.array(ids).take(pa.array(acc_of_row)), dtype="str"),
            "date": np.tile(dates.to_numpy(), n),
            "active_users": active,
            "features_used": features,
            "tickets_opened": tickets,
            "invoices_overdue": invoices,
            "nps": nps,
        },
        copy=False,
    )
    return accounts_df, wide


def main(argv: list[str]) -> None:
    """Write the data set once; `python -m benchmarks.data [ACCOUNTS]` for a smaller one."""
    accounts = int(argv[0]) if argv else 100_000
    started = time.perf_counter()
    accounts_df, wide = benchmark_wide(accounts=accounts)
    generated = time.perf_counter()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    accounts_df.to_parquet(DATA_DIR / "accounts.parquet", index=False)
    wide.to_parquet(DATA_DIR / "signals_wide.parquet", index=False)
    megabytes = wide.memory_usage(deep=True).sum() / 1e6
    print(
        f"{len(wide):,} rows ({megabytes:,.0f} MB in memory): generated in"
        f" {generated - started:.1f} s, written to {DATA_DIR} in"
        f" {time.perf_counter() - generated:.1f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
