"""`healthbot db upgrade|current`: schema migrations (`upgrade` is the Procfile's release step)."""

from __future__ import annotations

import argparse

from bot.cli.context import Context


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "db",
        parents=[common],
        help="database schema migrations",
        description="Bring the database schema up to date, or show where it stands. The"
        " database is $DATABASE_URL (default sqlite:///healthbot.db).",
        epilog="examples:\n  healthbot db upgrade     # release step: any earlier schema -> current"
        "\n  healthbot db current",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["upgrade", "current"], help="what to do")
    parser.set_defaults(func=run)


def run(ctx: Context) -> int:
    from scoring.store import current_revision, head_revision, make_engine, shown_url, upgrade

    engine = make_engine(ctx.database_url)
    try:
        where = shown_url(engine.url)
        head = head_revision()
        if ctx.args.action == "current":
            current = current_revision(engine)
            if current is None:
                state = "empty (run `healthbot db upgrade`)"
            elif current == head:
                state = f"{current} (head)"
            else:
                state = f"{current} (head is {head}: run `healthbot db upgrade`)"
            print(f"{where}: {state}")
            return 0
        before, after = upgrade(engine)
        if before == after:
            print(f"{where}: already at {after} (head)")
        else:
            print(f"{where}: upgraded {before or 'empty'} -> {after}")
        return 0
    finally:
        engine.dispose()
