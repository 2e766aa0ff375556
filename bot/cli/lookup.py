"""`healthbot lookup ACCOUNT`: the `/health` card in the terminal."""

from __future__ import annotations

import argparse
import json

from bot.cli.context import Context


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "lookup",
        parents=[common],
        help="show an account's health card (like /health)",
        epilog="examples:\n  healthbot lookup acme\n  healthbot lookup acc-0042 --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("account", metavar="ACCOUNT", help="id, name, or part of a name")
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text card, or the Block Kit JSON Slack would get",
    )
    parser.add_argument("--json", dest="format", action="store_const", const="json")
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    # Imported here: the parser registers every command, and `score` needs no card rendering.
    from bot.messages.render import PLAIN, render_message, render_text
    from bot.slack.cards import account_card

    account = ctx.find_account(ctx.args.account)
    card = account_card(ctx.engine, ctx.model, account["account_id"])
    if ctx.args.format == "json":
        print(json.dumps(render_message("card", **card).blocks, indent=2, ensure_ascii=False))
    else:
        print(render_text("card", PLAIN, **card), end="")  # a person reads it: nothing escaped
    return 0
