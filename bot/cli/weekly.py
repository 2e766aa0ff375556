"""`healthbot run-weekly` and `scheduler`: the weekly pipeline by hand and on a schedule."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.context import Context, add_transport_option
from scoring.errors import HealthbotError
from scoring.periods import last_complete_day, parse_date


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    weekly = sub.add_parser(
        "run-weekly",
        parents=[common],
        help="run the weekly pipeline once, now",
        description="Sync, score, compare, decide alerts, choose playbooks, render, deliver and"
        " post the digest for the period of --as-of. The default is the period the scheduler"
        " would run now (the same function decides both): the last complete day before the"
        " schedule's most recent fire time, so a rerun on a Tuesday redoes Monday's run instead"
        " of scoring a new week with one day of data. With no fire time in the last 35 days,"
        " yesterday in the model's timezone. A rerun sends only what was not delivered before.",
        epilog="examples:\n  healthbot run-weekly\n  healthbot run-weekly --as-of 2026-11-15",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    weekly.add_argument("--as-of", metavar="DATE")
    weekly.add_argument("--no-sync", action="store_true", help="score what is already stored")
    add_transport_option(weekly)
    weekly.set_defaults(func=run_weekly_command)

    scheduler = sub.add_parser(
        "scheduler",
        parents=[common],
        help="run the weekly schedule (the Procfile's worker)",
        description="Fires on the model's `schedule` (crontab meaning; the schedule's timezone"
        " only says when). Any number of workers may run: the database decides who runs a"
        " period, and a missed period runs once when a worker starts.",
        epilog="example:\n  healthbot scheduler",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_transport_option(scheduler)
    scheduler.set_defaults(func=run_scheduler)


def _transport(ctx: Context):  # noqa: ANN202
    """Slack, or the terminal when --terminal / HEALTHBOT_TRANSPORT=terminal says so; without
    a token main() has refused already (add_transport_option), before any work."""
    return ctx.transport(Path("outbox"))


EXIT_CODES = {"succeeded": 0, "delivering": 3}  # anything else: 1


def run_weekly_command(ctx: Context) -> int:
    from bot.jobs.control import Interrupted, RunControl
    from bot.jobs.scheduler import due_as_of, run_now

    model = ctx.model
    if ctx.args.as_of:
        as_of = parse_date(ctx.args.as_of, "--as-of")
    else:
        now = datetime.now(UTC)
        as_of = due_as_of(model, now) or last_complete_day(model.timezone, now)
    transport = _transport(ctx)
    control = RunControl()
    signal.signal(signal.SIGTERM, lambda *_: control.stop.set())
    try:
        result = run_now(
            ctx.engine,
            model,
            ctx.config_path.parent,
            as_of,
            transport,
            sync=not ctx.args.no_sync,
            control=control,
        )
    except Interrupted as exc:
        print(f"healthbot: weekly run for {as_of} interrupted: {exc}", file=sys.stderr)
        return 1
    except HealthbotError:
        raise
    except Exception as exc:  # the run is recorded and the admin channel told
        print(f"healthbot: weekly run for {as_of} failed: {type(exc).__name__}: {exc}")
        return 1
    print(summary_line(result))
    if result.status == "delivering":
        minutes = model.delivery.sweep_minutes
        print(
            f"{len(result.waiting)} message(s) still on their way; a worker's delivery sweep"
            f" (every {minutes:g} min) keeps delivering them:"
        )
        for row in result.waiting[:20]:
            when = row["next_attempt_at"]
            nxt = f"next attempt {when:%Y-%m-%d %H:%M:%S} UTC" if when else "next sweep"
            print(f"  {row['key']}  {row['status']}  {nxt}  {row['error'] or ''}".rstrip())
    return EXIT_CODES.get(result.status, 1)


def summary_line(result) -> str:  # noqa: ANN001  (bot.jobs.weekly.WeeklyResult)
    report = result.delivery
    return (
        f"{result.period} (as of {result.as_of}): {result.status}; {result.accounts_scored}"
        f" accounts scored, {result.alerts} health alerts and {result.notices} notices"
        f" ({result.suppressed} held back by cooldown"
        f" or snooze), {result.messages} messages; sent {getattr(report, 'sent', 0)},"
        f" updated {getattr(report, 'updated', 0)}, failed {getattr(report, 'failed', 0)},"
        f" unknown {getattr(report, 'unknown', 0)}, waiting {len(result.waiting)}"
    )


def run_scheduler(ctx: Context) -> int:
    from bot.jobs.worker_process import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run_worker(ctx.engine, ctx.model, ctx.config_path.parent, _transport(ctx))
