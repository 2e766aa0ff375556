"""Sync's check of the model file against the data it is about to commit.

Run between reading the sources and committing them, so the accounts and signal names are
those the database will hold afterwards: a new source and the metric reading it can be added
in one edit, and a model that does not fit the data (a misspelt segment value, a metric's
signal in no source) changes nothing. The rules are `scoring/config/data_checks.py`.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.config.data_checks import check_against_data, raise_problems, with_attributes
from scoring.store import load_accounts
from scoring.store.signal_names import stored_signal_names
from scoring.sync.collect import Collected


def check_synced_model(
    engine: Engine, model: Model, sources: Collected, in_place: set[str] = frozenset()
) -> None:
    """Raise ConfigError (one line) when the model does not fit the data after this sync.
    `in_place`: the signals present in the sources read in place (present in a source counts
    as synced: they are never copied)."""
    synced = {str(name) for batch in sources.signal_batches.values() for name in batch.signals}
    synced |= set(in_place)
    wanted = {m.signal for m in model.metrics.values()} - synced
    stored = stored_signal_names(engine, wanted) if wanted else set()
    if sources.export is not None:
        accounts = with_attributes(sources.export)  # the export is the accounts' new truth
    else:
        accounts = load_accounts(engine)
    problems = check_against_data(model, accounts, stored, synced)
    raise_problems(problems, "model file")
