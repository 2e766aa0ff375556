"""The `healthbot` command: one parser, subcommands registered from small modules.

Each module in COMMAND_MODULES exposes `register(subparsers, common)`; the parser it adds sets
`func(ctx) -> int`, and may set `preflight(ctx)`: a check `main()` runs first, so that a refusal
(no transport chosen, see `add_transport_option`) comes before the command does any work. User
errors (HealthbotError) print one line and exit non-zero.

May import everything below it (`bot.slack`, `bot.jobs`, `bot.delivery`, `bot.messages`,
`scoring`); nothing imports the CLI. Command modules import their heavy dependencies inside
the command function, so `healthbot --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot.cli.context import Context, common_parser
from scoring.errors import HealthbotError

COMMAND_MODULES = [
    "bot.cli.check",
    "bot.cli.score",
    "bot.cli.lookup",
    "bot.cli.demo",
    "bot.cli.delivery",
    "bot.cli.db",
    "bot.cli.weekly",
    "bot.cli.runs",
    "bot.cli.reference",
    "bot.cli.sync",
    "bot.cli.forget",
    "bot.cli.serve",
    "bot.cli.validate",
    "bot.cli.digest",
]


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("healthbot")
    except PackageNotFoundError:  # running from a source tree without install
        ver = "unknown"
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="healthbot",
        description="Explainable account health scores for Customer Success, in Slack.",
        epilog="Run `healthbot demo` for a tour; `healthbot COMMAND --help` for each command.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"healthbot {ver}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    ctx = Context(args)
    try:
        if preflight := getattr(args, "preflight", None):
            preflight(ctx)  # e.g. the transport choice: refused before any work starts
        return int(args.func(ctx) or 0)
    except HealthbotError as exc:
        print(f"healthbot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("healthbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
