"""`healthbot outbox retry` and `outbox resolve`: a person puts right what delivery stopped on.

Delivery never resends a row it gave up on (`failed`) or cannot prove absent (`unknown`):
that takes a person, who either requeues it or looks in Slack and says whether it is there.
These are sub-actions of `outbox` (bot/cli/delivery.py keeps the plain listing) so
`healthbot outbox --status failed` and `healthbot outbox retry --failed` read as one tool.
The rows change in scoring/store/outbox_admin.py; this module parses and says what happened.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from bot.cli.context import Context

NEXT_SWEEP = "the next delivery sweep sends it to Slack"


def register_actions(outbox: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the optional ACTION to `outbox`; without one it lists as it always did."""
    actions = outbox.add_subparsers(dest="outbox_action", metavar="ACTION")
    retry = actions.add_parser(
        "retry",
        parents=[common],
        help="requeue failed messages (or a terminal-printed one for Slack)",
        description="Requeue failed messages: failed → pending, error cleared, due now; the next"
        " delivery sweep sends them and a new failure is reported again. With a KEY, a message"
        " printed by the terminal transport is requeued for Slack too.",
        epilog="examples:\n"
        "  healthbot outbox retry alert:2026-W47:ann@example.com\n"
        "  healthbot outbox retry --failed\n"
        "  healthbot outbox retry --failed --period 2026-W47 --by ann",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", metavar="KEY", help="the outbox key of one message")
    which.add_argument("--failed", action="store_true", help="every failed message")
    retry.add_argument("--period", metavar="P", help="with --failed: only this period")
    _add_by(retry)
    retry.set_defaults(func=run_retry)

    resolve = actions.add_parser(
        "resolve",
        parents=[common],
        help="settle a message in doubt after looking in Slack",
        description="For a message whose delivery is in doubt (status unknown, or sending"
        " after a post in doubt): say what you saw in Slack. --sent marks it sent (an alert"
        " DM's listed accounts count as shown, so their cooldown starts); --not-sent requeues"
        " it and the next delivery sweep sends it.",
        epilog="examples:\n"
        "  healthbot outbox resolve alert:2026-W47:ann@example.com --sent\n"
        "  healthbot outbox resolve digest:2026-W47:cs-health --not-sent --by ann",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    resolve.add_argument("key", metavar="KEY", help="the outbox key of the message")
    seen = resolve.add_mutually_exclusive_group(required=True)
    seen.add_argument("--sent", dest="sent", action="store_true", help="it is in Slack")
    seen.add_argument(
        "--not-sent", dest="not_sent", action="store_true", help="it is not in Slack: send it"
    )
    _add_by(resolve)
    resolve.set_defaults(func=run_resolve)


def _add_by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        metavar="NAME",
        help="who did this, recorded on the row (default: $HEALTHBOT_USER, else your login)",
    )


def who(ctx: Context) -> str:
    """--by, else $HEALTHBOT_USER, else the login name: every change names a person."""
    if ctx.args.by:
        return ctx.args.by
    if ctx.environ.get("HEALTHBOT_USER"):
        return ctx.environ["HEALTHBOT_USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "unknown"


def run_retry(ctx: Context) -> int:
    from scoring.errors import HealthbotError
    from scoring.store.outbox_admin import retry

    args = ctx.args
    if args.period and not args.failed:
        raise HealthbotError("--period goes with --failed (a KEY names one message already)")
    rows = retry(ctx.engine, who(ctx), key=args.key, period=args.period)
    if not rows:
        where = f" of period {args.period}" if args.period else ""
        print(f"no failed outbox rows{where}: nothing to retry")
        return 0
    for row in rows:
        print(f"requeued {row['key']} (was {_was(row)}): {NEXT_SWEEP}")
    print(f"{len(rows)} message(s) requeued by {rows[0]['resolved_by']}" + _paused(ctx))
    return 0


def run_resolve(ctx: Context) -> int:
    from scoring.store.outbox_admin import resolve

    args = ctx.args
    row = resolve(ctx.engine, args.key, sent=args.sent, by=who(ctx))
    if args.sent:
        shown = (
            f"; {row['shown']} account(s) it listed now count as shown (their cooldown starts)"
            if row["kind"] == "alert_dm"
            else ""
        )
        print(
            f"marked {row['key']} sent (was {_was(row)}), by {row['resolved_by']}:"
            f" no sweep sends it again{shown}"
        )
        return 0
    print(
        f"marked {row['key']} not sent (was {_was(row)}), by {row['resolved_by']}:"
        f" {NEXT_SWEEP}{_paused(ctx)}"
    )
    return 0


def _was(row: dict[str, Any]) -> str:
    return f"{row['was']}: {row['was_error']}" if row["was_error"] else row["was"]


def _paused(ctx: Context) -> str:
    """Requeued rows wait while delivery is paused: say so rather than promise a send."""
    from scoring.store.outbox import is_paused

    if is_paused(ctx.engine):
        return "  — delivery is PAUSED: nothing goes out until `healthbot resume`"
    return ""
