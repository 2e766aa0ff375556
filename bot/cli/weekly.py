"""`healthbot run-weekly`, `scheduler` and `runs`: the weekly pipeline by hand, on a schedule,
and its ledger."""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.context import Context, add_output_options, add_transport_option
from bot.cli.output import emit
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

    runs = sub.add_parser(
        "runs",
        parents=[common],
        help="list recent runs and their messages",
        epilog="examples:\n  healthbot runs\n  healthbot runs --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runs.add_argument("--limit", type=int, default=20)
    add_output_options(runs)
    runs.set_defaults(func=run_runs)


def _transport(ctx: Context):  # noqa: ANN202
    """Slack, or the terminal when --terminal / HEALTHBOT_TRANSPORT=terminal says so; without
    a token main() has refused already (add_transport_option), before any work."""
    return ctx.transport(Path("outbox"))


def run_weekly_command(ctx: Context) -> int:
    from bot.jobs.scheduler import due_as_of
    from bot.jobs.weekly import run_weekly_reporting

    model = ctx.model
    if ctx.args.as_of:
        as_of = parse_date(ctx.args.as_of, "--as-of")
    else:
        now = datetime.now(UTC)
        as_of = due_as_of(model, now) or last_complete_day(model.timezone, now)
    try:
        result = run_weekly_reporting(
            ctx.engine,
            model,
            ctx.config_path.parent,
            as_of,
            _transport(ctx),
            sync=not ctx.args.no_sync,
        )
    except Exception as exc:  # the run is recorded and the admin channel told
        print(f"healthbot: weekly run for {as_of} failed: {type(exc).__name__}: {exc}")
        return 1
    report = result.delivery
    print(
        f"{result.period} (as of {result.as_of}): {result.accounts_scored} accounts scored,"
        f" {result.alerts} alerts ({result.suppressed} held back by cooldown or snooze),"
        f" {result.messages} messages; sent {getattr(report, 'sent', 0)},"
        f" failed {getattr(report, 'failed', 0)}, unknown {getattr(report, 'unknown', 0)},"
        f" pending {getattr(report, 'pending', 0)}"
    )
    return 0


def run_scheduler(ctx: Context) -> int:
    from bot.jobs.scheduler import build_scheduler, run_if_due, safe

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    model, engine = ctx.model, ctx.engine
    transport = _transport(ctx)
    job = safe(lambda: run_if_due(engine, model, ctx.config_path.parent, transport))
    job()  # catch up on a period missed while no worker ran
    scheduler = build_scheduler(job, model)
    # A platform stops a worker with SIGTERM: finish cleanly instead of dying mid-run.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    logging.getLogger("healthbot.scheduler").info(
        "scheduler started: %r in %s", model.schedule.cron, model.schedule.timezone
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def run_runs(ctx: Context) -> int:
    from scoring.store.ledger import list_runs

    frame = list_runs(ctx.engine, ctx.args.limit)

    def text() -> str:
        if frame.empty:
            return "no runs yet"
        lines = [
            f"{'id':>4} {'kind':<8} {'period':<9} {'status':<9} {'started':<16} "
            f"{'accts':>6} {'alerts':>6} {'sent':>5} {'fail':>5} {'unkn':>5} {'pend':>5}"
        ]
        for r in frame.itertuples():
            lines.append(
                f"{r.id:>4} {r.kind:<8} {r.period or '':<9} {r.status:<9} "
                f"{str(r.started_at)[:16]:<16} {r.accounts_scored:>6} {r.alerts:>6} "
                f"{r.sent:>5} {r.failed:>5} {r.unknown:>5} {r.pending:>5}"
                + (f"  {r.error}" if r.error else "")
            )
        return "\n".join(lines)

    emit(ctx.args, frame, text)
    return 0
