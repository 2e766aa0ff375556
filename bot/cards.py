"""Assemble an account card from the store (shared by `/health` and `healthbot lookup`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from scoring.card import card_context
from scoring.config import Model
from scoring.errors import HealthbotError
from scoring.views import PeriodView, account_history, last_signal_dates, load_period


def account_card(
    engine: Engine, model: Model, account_id: str, view: PeriodView | None = None
) -> dict[str, Any]:
    view = view or load_period(engine)
    if not (view.scores["account_id"] == account_id).any():
        raise HealthbotError(
            f"{account_id} has no score in {view.period} (churned, or added"
            " since the last scoring run)"
        )
    history = account_history(engine, account_id)
    last = last_signal_dates(engine).get(account_id)
    return card_context(model, view, account_id, history, last_signal=last)
