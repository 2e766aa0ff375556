"""What every subcommand shares: the model file, the database URL and output options."""

from __future__ import annotations

import argparse
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.output import check_output_option
from scoring.config import Model, load_model, resolve_path

if TYPE_CHECKING:
    from bot.delivery.transport_types import Transport

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
    parser.set_defaults(preflight=check_output_option)  # a bad FILE is refused before the work


def add_transport_option(
    parser: argparse.ArgumentParser, *, check_first: bool = True, help: str | None = None
) -> None:
    """`--terminal` for the commands that deliver messages (digest, run-weekly, scheduler,
    socket): without it, or HEALTHBOT_TRANSPORT=terminal, they need $SLACK_BOT_TOKEN.

    With `check_first`, `main()` checks the choice before the command runs, so a refusal comes
    before the command reads the model or opens the database (nothing can have changed). A
    command with a mode that sends nothing (`digest --preview`) checks for itself instead.
    """
    parser.add_argument(
        "--terminal",
        action="store_true",
        help=help
        or "write messages to the terminal and ./outbox/ instead of Slack, on purpose"
        " (also HEALTHBOT_TRANSPORT=terminal); without it $SLACK_BOT_TOKEN is required",
    )
    if check_first:
        parser.set_defaults(preflight=Context.check_transport)


def add_data_checks(parser: argparse.ArgumentParser) -> None:
    """Mark a command that scores with the model (check, score, backtest, calibrate): loading
    the model also checks it against the stored data (`scoring/config/data_checks.py`). The
    others load it without. `sync` and the weekly run check for themselves, after reading the
    sources, so that a new source and the metric reading it can be added in one edit."""
    parser.set_defaults(checks_data=True)


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
        """The model file, validated; for a data-checked command also checked against the
        stored data, so a misspelt segment value or signal fails before anything is scored."""
        model = load_model(self.config_path, self.environ)
        if getattr(self.args, "checks_data", False):
            self.check_model_data(model)
        return model

    def check_transport(self) -> str:
        """ "slack" or "terminal" as chosen; raises TransportNotChosen (one line, exit 2)."""
        from bot.delivery.transports import chosen_transport

        return chosen_transport(self.environ, terminal=getattr(self.args, "terminal", False))

    def transport(self, outdir: Path, stream: TextIO | None = None) -> Transport:
        """The transport this command was told to use (see `add_transport_option`)."""
        from bot.delivery.transports import transport_from_env

        terminal = getattr(self.args, "terminal", False)
        return transport_from_env(self.environ, outdir, stream, terminal=terminal)

    @property
    def database_url(self) -> str:
        return self.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL

    def has_database(self) -> bool:
        """False for a SQLite file that does not exist yet: nothing synced, nothing to check
        against (and `check` must not create the file)."""
        url = self.database_url
        return not (
            url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
        )

    def check_model_data(self, model: Model) -> None:
        """The model against the stored data (segment values, signals, playbook segments):
        ConfigError on a mismatch; an empty database passes. See `add_data_checks`."""
        if not self.has_database():
            return
        from scoring.batch.model_checks import check_model_data

        check_model_data(self.engine, model, str(self.config_path), self.accounts)

    @cached_property
    def accounts(self):  # noqa: ANN201  (a pandas DataFrame; imported lazily for fast --help)
        """Every stored account (`scoring.store.load_accounts`), read once per command: the
        model's data checks and the scoring both use it (0.4 s for 100,000 accounts)."""
        from scoring.store import load_accounts

        return load_accounts(self.engine)

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
