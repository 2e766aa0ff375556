"""What every subcommand shares: the model file, the database URL and output options."""

from __future__ import annotations

import argparse
import os
from functools import cached_property
from pathlib import Path

from scoring.config import Model, load_model, resolve_path

DEFAULT_DATABASE_URL = "sqlite:///healthbot.db"


def common_parser() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand (`healthbot --config X score`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="model file (default: $HEALTHBOT_CONFIG, else ./healthbot.yml)",
    )
    return common


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=["text", "json", "csv"],
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help="short for --format json"
    )
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")


class Context:
    """Lazily loads what a command needs, so `--help` and `check` stay fast and offline."""

    def __init__(self, args: argparse.Namespace, environ: dict[str, str] | None = None) -> None:
        self.args = args
        self.environ = dict(os.environ if environ is None else environ)

    @property
    def config_path(self) -> Path:
        return resolve_path(getattr(self.args, "config", None), self.environ)

    @cached_property
    def model(self) -> Model:
        return load_model(self.config_path, self.environ)

    @property
    def database_url(self) -> str:
        return self.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

    def known_signals(self) -> set[str] | None:
        """Signal names present in the database, or None when nothing has been synced yet."""
        from sqlalchemy import text

        url = self.database_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            return None
        with self.engine.connect() as conn:
            names = {row[0] for row in conn.execute(text("select distinct signal from signals"))}
        return names or None

    def find_account(self, query: str) -> dict:
        """Resolve an ACCOUNT argument like `/health` does; ambiguity lists candidates."""
        from scoring.errors import LookupFailed
        from scoring.matching import find_account
        from scoring.store import load_accounts

        accounts = load_accounts(self.engine)
        match = find_account(query, accounts)
        by_id = accounts.set_index("account_id")
        if match.found:
            return {"account_id": match.account_id, **by_id.loc[match.account_id].to_dict()}
        if match.candidates:
            listed = "; ".join(f"{by_id.loc[c, 'name']} ({c})" for c in match.candidates)
            raise LookupFailed(f"{query!r} matches several accounts: {listed}", match.candidates)
        closest = ", ".join(str(by_id.loc[c, "name"]) for c in match.closest)
        hint = f" (closest: {closest})" if closest else ""
        raise LookupFailed(f"no account matches {query!r}{hint}")

    @cached_property
    def engine(self):  # noqa: ANN201  (sqlalchemy Engine; imported lazily for fast --help)
        from scoring.store import ensure_schema, make_engine

        engine = make_engine(self.database_url)
        ensure_schema(engine)
        return engine
