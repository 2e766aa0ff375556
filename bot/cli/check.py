"""`healthbot check`: validate and lint the model file."""

from __future__ import annotations

import argparse

from bot.cli import check_history
from bot.cli.context import Context, add_data_checks
from scoring.config.lint import lint


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "check",
        parents=[common],
        help="validate the model file and warn about bad practice",
        description="Fail on errors in the model file, and on what does not fit the synced data"
        " (a segment `where:` attribute or value no account has, a metric's signal that was never"
        " synced, a playbook segment no account is in); warn about what the field knows to be"
        " bad practice (more than 7 metrics, one metric holding over half the weight).",
        epilog="example: healthbot check --config healthbot.yml",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    add_data_checks(parser)
    check_history.add_arguments(parser)
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    if ctx.args.history:
        return check_history.run(ctx)
    model = ctx.model
    findings = lint(model)
    for finding in findings:
        print(f"warning: {finding}")
    for line in _data_lines(ctx):
        print(line)
    segments = f", {len(model.segments)} segments" if model.segments else ""
    print(
        f"{ctx.config_path}: OK ({len(model.metrics)} metrics{segments}, model version"
        f" {model.version}; {len(findings)} warning{'s' if len(findings) != 1 else ''})"
    )
    return 1 if findings and ctx.args.strict else 0


def _data_lines(ctx: Context) -> list[str]:
    """Problems in the synced data itself (not warnings about the model file): one line per
    count. Nothing when no database has been synced yet."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.messages.render import PLAIN, render_text
    from scoring.decisions.card import past_renewals
    from scoring.store import load_accounts

    if not ctx.has_database():
        return []
    today = datetime.now(UTC).astimezone(ZoneInfo(ctx.model.timezone)).date()
    past = past_renewals(load_accounts(ctx.engine), today)
    if past.empty:
        return []
    first = past.iloc[0]
    line = render_text(
        "renewal_past_check",
        PLAIN,
        count=len(past),
        name=first["name"],
        renewal_date=first["renewal_date"],
    )
    return [line.strip()]
