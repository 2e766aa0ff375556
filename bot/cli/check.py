"""`healthbot check`: validate and lint the model file."""

from __future__ import annotations

import argparse

from bot.cli import check_history
from bot.cli.context import Context
from scoring.config.lint import lint


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "check",
        parents=[common],
        help="validate the model file and warn about bad practice",
        description="Fail on errors in the model file; warn about what the field knows to be bad"
        " practice (more than 7 metrics, one metric holding over half the weight, a signal the"
        " synced data never contains).",
        epilog="example: healthbot check --config healthbot.yml",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check_history.add_arguments(parser)
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    if ctx.args.history:
        return check_history.run(ctx)
    model = ctx.model
    findings = lint(model, ctx.known_signals())
    for finding in findings:
        print(f"warning: {finding}")
    segments = f", {len(model.segments)} segments" if model.segments else ""
    print(
        f"{ctx.config_path}: OK ({len(model.metrics)} metrics{segments}, model version"
        f" {model.version}; {len(findings)} warning{'s' if len(findings) != 1 else ''})"
    )
    return 1 if findings and ctx.args.strict else 0
