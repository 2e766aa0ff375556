"""The model file checked against the stored data, before a command scores with it.

Loading a model validates the file on its own; this adds what only the data can say (segment
values no account has, signals neither stored nor present in a source read in place, see
`scoring/config/data_checks.py`). The CLI runs it for the commands that score or sync
(`bot/cli/context.py`), the weekly job before it scores (`bot/jobs/weekly.py`); sync checks
the sources it is about to commit itself.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.config.data_checks import check_against_data, raise_problems
from scoring.store import load_accounts
from scoring.store.in_place import in_place_labels
from scoring.store.signal_names import stored_signal_names
from scoring.store.warehouse import signal_names


def check_model_data(
    engine: Engine, model: Model, origin: str, accounts: pd.DataFrame | None = None
) -> None:
    """Raise ConfigError (one line: file, key path, problem, closest value) when the model
    does not fit the stored data; an empty database passes. A signal of an in-place source
    counts as synced when its table has it (a synced signal is one present in a source).
    `accounts`: `load_accounts` already read (a command that scores next reuses it), else
    read here."""
    accounts = load_accounts(engine) if accounts is None else accounts
    wanted = {m.signal for m in model.metrics.values()}
    signals = stored_signal_names(engine, wanted)
    in_place = in_place_signal_names(model, wanted - signals) if wanted - signals else set()
    raise_problems(check_against_data(model, accounts, signals, (), in_place), origin)


def in_place_signal_names(model: Model, wanted: set[str]) -> set[str]:
    """The signals present in the model's sources read in place ("synced" means present in a
    source): asked of the warehouse only for the names not stored, and only when a metric
    needs one."""
    found: set[str] = set()
    for label, source in in_place_labels(model):
        if wanted <= found:
            break
        found |= signal_names(source, label, wanted - found)
    return found
