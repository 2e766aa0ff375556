"""`healthbot forget ACCOUNT_ID`: erase everything stored about an account (data protection)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.context import Context
from scoring.errors import HealthbotError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "forget",
        parents=[common],
        help="delete everything stored about one account",
        description="Delete every row stored about ACCOUNT_ID (the account, its signals,"
        " outcomes, score history and anything else keyed by it), for data-protection"
        " requests. The id must match exactly. Remove the account from your sources too, or"
        " the next sync brings it back. A source read in place (`table:`) is the customer's"
        " warehouse: healthbot cannot delete from it and says which table still holds the"
        " account's rows.",
        epilog="examples:\n  healthbot forget acme-042\n  healthbot forget acme-042 --yes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("account_id", metavar="ACCOUNT_ID", help="the exact account id")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} from {table}" for table, n in counts.items() if n)


def _in_place_notes(ctx: Context, account_id: str) -> list[str]:
    """One line per source read in place: healthbot cannot delete from a customer's
    warehouse, so say which table still holds the account's rows (counted there)."""
    from scoring.errors import DataError
    from scoring.store.in_place import in_place_labels
    from scoring.store.warehouse import account_rows

    lines = []
    for label, source in in_place_labels(ctx.model):
        try:
            rows = f"{account_rows(source, label, account_id):,} rows"
        except DataError as exc:
            rows = f"rows not counted: {exc}"
        lines.append(
            f'source "{label}" is read in place from table {source.table}: healthbot cannot'
            f" delete from it, and its rows for {account_id!r} stay there ({rows}); delete"
            " them in the warehouse"
        )
    return lines


def run(ctx: Context) -> int:
    from scoring.errors import LookupFailed
    from scoring.store import count_account_rows, forget_account

    account_id = ctx.args.account_id
    engine = ctx.engine
    for line in _in_place_notes(ctx, account_id):
        print(line)
    counts = count_account_rows(engine, account_id)
    if not any(counts.values()):
        raise LookupFailed(f"nothing is stored about account {account_id!r} (ids match exactly)")
    if not ctx.args.yes:
        if not sys.stdin.isatty():
            raise HealthbotError(
                f"refusing to forget {account_id!r} without confirmation: pass --yes"
                " (no terminal to ask on)"
            )
        print(f"This deletes every row stored about {account_id!r}: {_describe(counts)}.")
        try:
            answer = input("Delete them for good? [y/N] ").strip().lower()
        except EOFError:
            answer = ""
        if answer not in ("y", "yes"):
            print("nothing deleted")
            return 1
    removed = forget_account(engine, account_id)
    print(f"forgot {account_id!r}: removed {_describe(removed)}")
    print("remove it from your sources too, or the next `healthbot sync` brings it back")
    return 0
