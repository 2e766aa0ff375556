"""Every benchmark, one after another, each in a process of its own; `make bench` runs this.

A process each, so one benchmark's memory and caches never flatter the next, and so each gets
an honest whole-process figure (wall time and peak RSS, read from the kernel's accounting of
the finished child) beside the figures it prints itself. `--accounts` scales every benchmark
at once: the README's figures are taken at the default 100,000; a smaller size gives a quick
before/after comparison of a change.

    python -m benchmarks.run_all [--accounts 100000] [--only engine store ...] [--sqlite-only]

PostgreSQL: $HEALTHBOT_BENCH_POSTGRES_URL, else $HEALTHBOT_TEST_POSTGRES_URL, else the local
test server (each benchmark works in a schema or database of its own and cleans up).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    peak_mb: float
    returncode: int


def postgres_url() -> str:
    env = os.environ
    return (
        env.get("HEALTHBOT_BENCH_POSTGRES_URL")
        or env.get("HEALTHBOT_TEST_POSTGRES_URL")
        or LOCAL_POSTGRES
    )


def commands(accounts: int, postgres: str | None) -> dict[str, list[str]]:
    """Each benchmark's own command line at this size (backtest, check-history and advise keep
    their 10,000-account shape below that, since their targets are set for 10,000 accounts, and
    alert-quality its 2,000-account held-out portfolio)."""
    db = "both" if postgres else "sqlite"
    out = {
        "engine": ["bench_engine", str(accounts)],
        "store": ["bench_store", "--accounts", str(accounts), "--db", db],
        "sync": ["bench_sync", "--accounts", str(accounts), "--db", db],
        "weekly": ["bench_weekly", str(accounts)],
        "delivery": ["bench_delivery", "--messages", "1000"],
        "backtest": ["bench_backtest", "--accounts", str(min(accounts, 10_000))],
        "lookup": ["bench_lookup", "--accounts", str(accounts)],
        "check-history": ["bench_check_history", "--accounts", str(min(accounts, 10_000))],
        "alert-quality": ["bench_alert_quality", "--accounts", str(min(accounts, 2_000))],
        "pushdown": ["bench_pushdown", "--accounts", str(accounts)],
        "in-place-sync": ["bench_in_place_sync", "--accounts", str(accounts)]
        + ([] if postgres else ["--warehouse", "duckdb"])
        + (["--postgres", postgres] if postgres else []),
        "advise": ["bench_advise", "--accounts", str(min(accounts, 10_000))],
        "in-place": ["bench_in_place", str(accounts)],
        "score": ["bench_score", "--accounts", str(accounts)]
        + (["--postgres", postgres] if postgres else []),
    }
    if postgres:
        out["weekly-postgres"] = ["bench_weekly", str(accounts), postgres]
        out["delivery-postgres"] = ["bench_delivery", "--messages", "1000", "--postgres", postgres]
        out["lookup"] += ["--postgres", postgres]
        # DuckDB and Spark local mode, snapshots stored in PostgreSQL (issue 21's 1M is
        # `python -m benchmarks.bench_scale` at its default size).
        out["scale"] = ["bench_scale", "--accounts", str(accounts), "--postgres", postgres]
    python = [sys.executable, "-m"]
    return {name: [*python, f"benchmarks.{args[0]}", *args[1:]] for name, args in out.items()}


def run_one(name: str, argv: list[str], echo: Callable[[str], None] = print) -> Run:
    """Run one benchmark to the end, passing its output through."""
    echo(f"── {name}: {' '.join(argv[2:])}")
    started = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)  # reaped here, with the child's own rusage
    seconds = time.perf_counter() - started
    child.returncode = code = os.waitstatus_to_exitcode(status)
    return Run(name, seconds, usage.ru_maxrss / 1024, code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args(argv)
    if args.accounts < 100:
        parser.error(f"--accounts must be at least 100, got {args.accounts}")
    table = commands(args.accounts, None if args.sqlite_only else postgres_url())
    unknown = sorted(set(args.only or []) - set(table))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(table)}")
    runs = [run_one(name, cmd) for name, cmd in table.items() if not args.only or name in args.only]
    print(f"\n{'benchmark':<18} {'wall s':>8} {'peak MB':>9}  exit")
    for run in runs:
        print(f"{run.name:<18} {run.seconds:>8.1f} {run.peak_mb:>9,.0f}  {run.returncode}")
    return max((run.returncode for run in runs), default=0)


if __name__ == "__main__":
    sys.exit(main())
