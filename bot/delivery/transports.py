"""Which transport a run posts through: Slack with a bot token, the terminal only when chosen.

The choice is never silent. A worker or `healthbot digest` that fell back to the terminal
because $SLACK_BOT_TOKEN was missing would claim the week's outbox rows, "deliver" them to a
log nobody reads and mark them sent: the real messages would be consumed and never posted. So
without a token a command refuses, unless the terminal is asked for by name (`--terminal`, or
`HEALTHBOT_TRANSPORT=terminal` for a whole environment).

The choice has a module of its own because it needs both transports: neither transport module
imports the other, and nothing imports this one but the commands that start a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TextIO

from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.terminal import TerminalTransport
from bot.delivery.transport_types import Transport
from scoring.errors import HealthbotError

TRANSPORT_ENV = "HEALTHBOT_TRANSPORT"
TRANSPORTS = ("slack", "terminal")
TERMINAL_HINT = (
    f"pass --terminal (or set {TRANSPORT_ENV}=terminal) to write the messages to the terminal"
    " and outbox/ instead"
)


class TransportNotChosen(HealthbotError):
    """No usable transport was chosen: a token is missing, or HEALTHBOT_TRANSPORT is unknown.

    Exit code 2, like a usage error: nothing ran, and the fix is in how the command is started.
    """

    exit_code = 2


def missing_token(command: str | None = None, terminal_helps: bool = True) -> TransportNotChosen:
    """The one-line refusal every command gives without $SLACK_BOT_TOKEN: what is missing and
    what to do; `serve` and `socket` answer Slack themselves, so the terminal is no way out."""
    if terminal_helps:
        return TransportNotChosen(
            f"$SLACK_BOT_TOKEN is not set, so nothing can be posted to Slack: set it, or"
            f" {TERMINAL_HINT}"
        )
    return TransportNotChosen(
        f"$SLACK_BOT_TOKEN is not set: `healthbot {command}` answers Slack and needs the bot"
        " token (xoxb-...); the terminal cannot stand in for it"
    )


def chosen_transport(
    environ: Mapping[str, str], *, terminal: bool = False
) -> Literal["slack", "terminal"]:
    """ "terminal" when asked for (the flag wins over the environment), "slack" with a token;
    raises TransportNotChosen otherwise. Reads only the environment: commands call it before
    they open the database, so a refusal changes nothing."""
    named = environ.get(TRANSPORT_ENV, "").strip()
    if named and named.lower() not in TRANSPORTS:
        raise TransportNotChosen(
            f"{TRANSPORT_ENV}={named!r} is not a transport: use {' or '.join(TRANSPORTS)}"
        )
    if terminal or named.lower() == "terminal":
        return "terminal"
    if environ.get("SLACK_BOT_TOKEN", "").strip():
        return "slack"
    raise missing_token()


def transport_from_env(
    environ: Mapping[str, str],
    outdir: Path,
    stream: TextIO | None = None,
    *,
    terminal: bool = False,
) -> Transport:
    """Slack with $SLACK_BOT_TOKEN (at $SLACK_API_URL if given); the terminal (JSON files in
    `outdir`, text on `stream`) only when `terminal` or HEALTHBOT_TRANSPORT=terminal says so."""
    if chosen_transport(environ, terminal=terminal) == "terminal":
        return TerminalTransport(outdir, stream)
    return SlackTransport(make_clients(environ["SLACK_BOT_TOKEN"].strip(), environ=environ))
