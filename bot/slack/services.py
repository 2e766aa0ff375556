"""What every listener works with, built once per web process by `bot.slack.app`.

It lives apart from the app so that the listeners can name it without importing the module
that imports them: the app builds `Services` and hands it to each listener's `register`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.slack.access import AccessControl, UserDirectory
from bot.slack.portfolio import Portfolio
from scoring.config import Model


@dataclass(frozen=True)
class Services:
    """What the listeners need, built once per process."""

    engine: Engine
    model: Model
    portfolio: Portfolio
    access: AccessControl
    users: UserDirectory
