"""`healthbot db upgrade|current`: schema migrations (the Procfile's release step)."""

from __future__ import annotations

import argparse

from bot.cli.context import Context


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "db",
        parents=[common],
        help="database schema migrations",
        epilog="examples:\n  healthbot db upgrade\n  healthbot db current",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["upgrade", "current"])
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    from scoring.store import current_revision, head_revision, make_engine, shown_url, upgrade

    engine = make_engine(ctx.database_url)
    before = current_revision(engine)
    if ctx.args.action == "current":
        print(f"{shown_url(ctx.database_url)}: {before or 'empty'} (head {head_revision()})")
        return 0
    upgrade(engine)
    print(f"{shown_url(ctx.database_url)}: {before or 'empty'} -> {current_revision(engine)}")
    return 0
