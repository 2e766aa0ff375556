"""The model file checked against the stored data, before a command scores with it.

Loading a model validates the file on its own; this adds what only the data can say (segment
values no account has, signals never synced, see `scoring/config/data_checks.py`). The CLI
runs it for the commands that score or sync (`bot/cli/context.py`), the weekly job before it
scores (`bot/jobs/weekly.py`); sync checks the sources it is about to commit itself.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.config.data_checks import check_against_data, raise_problems
from scoring.pushdown.in_place import place_signals
from scoring.store import load_accounts
from scoring.store.signal_names import stored_signal_names


def check_model_data(engine: Engine, model: Model, origin: str) -> None:
    """Raise ConfigError (one line: file, key path, problem, closest value) when the model
    does not fit the stored data; an empty database passes. A signal of an in-place source
    counts as synced when its table has it (a synced signal is one present in a source)."""
    accounts = load_accounts(engine)
    wanted = {m.signal for m in model.metrics.values()}
    placed = place_signals(model).signals if any(s.in_place for s in model.sources) else set()
    signals = stored_signal_names(engine, wanted - placed) | set(placed)
    raise_problems(check_against_data(model, accounts, signals), origin)
