"""Which transport a run posts through: Slack when there is a bot token, else the terminal.

The choice has a module of its own because it needs both transports: neither transport module
imports the other, and nothing imports this one but the commands that start a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bot.delivery.slack_client import make_clients
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.terminal import TerminalTransport
from bot.delivery.transport_types import Transport


def transport_from_env(
    environ: Mapping[str, str], outdir: Path, stream: TextIO | None = None
) -> Transport:
    """Slack when $SLACK_BOT_TOKEN is set (at $SLACK_API_URL if given), else the terminal."""
    token = environ.get("SLACK_BOT_TOKEN", "").strip()
    if token:
        return SlackTransport(make_clients(token, environ=environ))
    return TerminalTransport(outdir, stream)
