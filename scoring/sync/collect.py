"""The first half of a sync: read and validate every source in memory, writing nothing.

Accounts come first because signals and outcomes are checked against the accounts known after
this export (stored ones plus the export's). Any broken rule raises DataError here, before the
database is touched, which is what makes a sync all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from scoring.config import Model
from scoring.sync.accounts import AccountBatch, combine_batches, prepare_accounts
from scoring.sync.bounds import check_accounts, check_outcomes, check_signals
from scoring.sync.outcomes import OutcomeBatch, drop_unknown_outcomes, prepare_outcomes
from scoring.sync.readers import read_source
from scoring.sync.signals import SignalBatch, dedupe, drop_unknown, prepare_signals
from scoring.sync.summary import SourceSummary


@dataclass
class Collected:
    """Every source of the model, validated, keyed by its position in the model file."""

    summaries: list[SourceSummary]  # one per source, in model order; the merge fills in counts
    export: pd.DataFrame | None  # all accounts sources combined; None when there are none
    account_batches: dict[int, AccountBatch]
    signal_batches: dict[int, SignalBatch]
    outcome_batches: dict[int, OutcomeBatch]
    known: pd.Index  # the accounts known after this sync: stored plus exported


def collect_sources(
    model: Model,
    model_dir: Path,
    labels: list[str],
    stored_ids: pd.Index,
    step: Callable[[str], None],
    today: date,
) -> Collected:
    """Read and validate every source; `step` is called once per source (progress). Dates and
    values are held to the model's bounds (scoring/sync/bounds.py), signal dates to `today`."""
    tz = model.timezone
    sources = list(enumerate(model.sources))
    summaries = [SourceSummary(labels[i], s.kind) for i, s in sources]

    account_batches: dict[int, AccountBatch] = {}
    for i, source in sources:
        if source.kind == "accounts":
            step(labels[i])
            account_batches[i] = prepare_accounts(
                read_source(source, labels[i], model_dir), source, tz
            )
            check_accounts(account_batches[i], model, today)
            summaries[i].rows_read = summaries[i].values = len(account_batches[i].frame)
    export = combine_batches(list(account_batches.values())) if account_batches else None
    known = stored_ids if export is None else stored_ids.union(pd.Index(export["account_id"]))

    signal_batches: dict[int, SignalBatch] = {}
    outcome_batches: dict[int, OutcomeBatch] = {}
    for i, source in sources:
        if source.in_place:  # validated where it is: scoring/sync/in_place.py
            continue
        if source.kind == "signals":
            step(labels[i])
            batch = prepare_signals(read_source(source, labels[i], model_dir), source, tz)
            drop_unknown(batch, known, source.unknown_accounts)
            check_signals(batch, model, today)
            dedupe(batch, source.combine)
            if source.combine == "sum":  # the one merge that can leave a signal's bounds
                check_signals(batch, model, today, combined=True)
            _release(batch)
            signal_batches[i] = batch
            summaries[i].rows_read, summaries[i].values = batch.rows_read, len(batch)
            summaries[i].skipped, summaries[i].combined = batch.skipped, batch.combined
        elif source.kind == "outcomes":
            step(labels[i])
            outcome = prepare_outcomes(read_source(source, labels[i], model_dir), source, tz)
            drop_unknown_outcomes(outcome, known, source.unknown_accounts)
            check_outcomes(outcome, model, today)
            outcome_batches[i] = outcome
            summaries[i].rows_read, summaries[i].values = outcome.rows_read, len(outcome.frame)
            summaries[i].skipped = outcome.skipped
    return Collected(summaries, export, account_batches, signal_batches, outcome_batches, known)


def _release(batch: SignalBatch) -> None:
    """Drop the raw cells once validated: only row numbers are needed for later messages."""
    batch.raw.frame = batch.raw.frame.iloc[:0]
    batch.cols.frame = batch.cols.frame.iloc[:0]
