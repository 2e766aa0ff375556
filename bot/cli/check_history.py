"""`healthbot check --history`: what the alert rules would have sent over the stored weeks.

A dry run before a model change: each stored week is re-scored from the stored signals with
the model file (and with `--compare OTHER.yml`, with that one too), the weekly decisions are
replayed in order by `scoring.validation.replay` (the weekly run's own code, cooldown and DM
cap included, starting from the alerts really shown before the first week), and the result is
printed. Nothing is sent and nothing is written: every read here is a SELECT.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.cli.context import Context
from scoring.errors import HealthbotError

DEFAULT_WEEKS = 12


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        action="store_true",
        help="replay the alert rules over the stored weeks and print what each would have"
        " sent, and to whom (sends and writes nothing)",
    )
    parser.add_argument(
        "--weeks",
        type=int,
        default=DEFAULT_WEEKS,
        metavar="N",
        help=f"with --history: how many of the latest stored weeks (default {DEFAULT_WEEKS})",
    )
    parser.add_argument(
        "--compare",
        metavar="OTHER_MODEL",
        help="with --history: replay this model file too and show both side by side",
    )


def stored_weeks(ctx: Context, weeks: int) -> list[tuple[str, date]]:
    """The latest `weeks` stored periods with the as-of day each was scored on."""
    from sqlalchemy import text

    if weeks < 1:
        raise HealthbotError(f"--weeks must be at least 1, got {weeks}")
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT period, max(as_of) FROM score_snapshots GROUP BY period ORDER BY period")
        ).all()
    if not rows:
        raise HealthbotError("no scores stored yet: run `healthbot score` or a weekly run first")
    return [(str(p), date.fromisoformat(str(a)[:10])) for p, a in rows[-weeks:]]


def run(ctx: Context) -> int:
    """Replay, then print through the `check_history` template."""
    from bot.cli.replayed_history import load_replay_inputs, replay_stored_weeks
    from bot.messages.render import PLAIN, render_text
    from scoring.config import load_model
    from scoring.validation.replay_summary import compare_replays, replay_summary

    args = ctx.args
    if args.compare and not Path(args.compare).is_file():
        raise HealthbotError(f"--compare: no model file at {args.compare}")
    models = [(ctx.config_path.name, ctx.model)]
    if args.compare:
        models.append((Path(args.compare).name, load_model(Path(args.compare), ctx.environ)))
    as_ofs = [a for _, a in stored_weeks(ctx, args.weeks)]
    inputs = load_replay_inputs(ctx.engine, [m for _, m in models], as_ofs)
    names_by_id = dict(
        zip(inputs.accounts["account_id"].astype(str), inputs.accounts["name"], strict=True)
    )
    replays = [
        # The listing names rules, not reasons: the drivers that word reasons are skipped.
        replay_stored_weeks(inputs, model, span, as_ofs, reasons=False)
        for span, (_, model) in zip(inputs.spans, models, strict=True)
    ]
    context: dict[str, Any] = {
        "model_name": models[0][0],
        "summary": replay_summary(replays[0], names_by_id),
        "compare": None,
    }
    if len(replays) == 2:
        context["compare"] = compare_replays(replays[0], replays[1], names_by_id)
        context["other_name"] = models[1][0]
    print(render_text("check_history", PLAIN, **context), end="")
    return 0
