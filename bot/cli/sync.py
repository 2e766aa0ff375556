"""`healthbot sync`: load every source in the model file into the database, all or nothing."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.cli.context import Context


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "sync",
        parents=[common],
        help="load the model's sources (CSV, Parquet, SQL) into the database",
        description="Read and validate every source listed under `sources:` in the model file,"
        " then merge them into the database in one transaction. Bad data anywhere (a missing"
        " column, a non-number, a bad date, conflicting duplicates, an unknown account) is"
        " reported with its source, row, column and value, and nothing is changed. A signals"
        " source with `url` + `table` is validated where it is, by aggregate queries, and never"
        " copied: the same rules, a row named by its account, signal and date.",
        epilog="examples:\n  healthbot sync\n  DATABASE_URL=postgresql://... healthbot sync",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--today",
        metavar="DATE",
        type=_day,
        help="the sync day (default: today in the model's time zone); accounts missing from"
        " the export are inactive from this day",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="confirm a sync the guardrails refused: one that marks more than"
        " `max_inactive_percent` of the active accounts inactive, leaves more than"
        " `max_drop_percent` fewer accounts with recent data, or (with `replace: window`)"
        " removes more than `max_removed_percent` of the stored rows",
    )
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    parser.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run(ctx: Context) -> int:
    from scoring.sync import run_sync

    model = ctx.model
    today = ctx.args.today or datetime.now(ZoneInfo(model.timezone)).date()
    summaries = run_sync(
        ctx.engine,
        model,
        ctx.config_path.resolve().parent,
        today,
        progress=not ctx.args.no_progress,
        allow_shrink=ctx.args.allow_shrink,
    )
    for summary in summaries:
        print(summary.line())
        for note in summary.notes():
            print(note)
    return 0
