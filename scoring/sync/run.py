"""`healthbot sync`: read and validate every source, then merge them in one transaction.

All or nothing: every source is read and checked in memory first (`collect`, `combine`), so
bad data anywhere means the database is not touched at all; the merge itself is one
transaction (`commit`).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.errors import DataError
from scoring.store.tables import utcnow
from scoring.sync import merge
from scoring.sync.collect import collect_sources
from scoring.sync.combine import build_stage
from scoring.sync.commit import commit_sync
from scoring.sync.guards import check_mass_changes
from scoring.sync.in_place_sync import check_in_place, guard_in_place
from scoring.sync.model_fit import check_synced_model
from scoring.sync.rescore import suggest_rescore
from scoring.sync.retention import retention_cutoff
from scoring.sync.summary import SourceSummary, source_labels


class _Progress:
    """A tqdm bar on an interactive terminal (never in CI or when output is captured)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar: Any = None
        if enabled and sys.stderr.isatty() and not os.environ.get("CI"):
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="sync", unit="step", file=sys.stderr, leave=False)

    def step(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description(text[:40])
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sync(
    engine: Engine,
    model: Model,
    model_dir: Path,
    today: date,
    progress: bool = False,
    allow_shrink: bool = False,
) -> list[SourceSummary]:
    """Load every source of the model; returns one summary per source, in model order.

    Raises DataError (and changes nothing) when any source breaks a rule, and Blocked (a
    DataError) when it would shrink the stored data past a guard (scoring/sync/guards.py)
    and `allow_shrink` is not set.
    """
    if not model.sources:
        raise DataError("the model file lists no `sources:`, so there is nothing to sync")
    labels = source_labels(model.sources)
    bar = _Progress(progress, total=len(model.sources) + 2)
    try:
        return _sync(engine, model, Path(model_dir), today, labels, bar, allow_shrink)
    finally:
        bar.close()


def _sync(
    engine: Engine,
    model: Model,
    model_dir: Path,
    today: date,
    labels: list[str],
    bar: _Progress,
    allow_shrink: bool,
) -> list[SourceSummary]:
    started, clock = utcnow(), time.perf_counter()
    seconds: dict[str, float] = {}
    with engine.connect() as conn:
        stored_ids = merge.stored_account_ids(conn)
    sources = collect_sources(model, model_dir, labels, stored_ids, bar.step, today)
    in_place = check_in_place(model, labels, sources, today, bar.step)
    in_place_names = {name for check in in_place for name in check.signals}
    check_synced_model(engine, model, sources, in_place_names)  # before anything is committed
    stage = build_stage(sources.signal_batches)
    with engine.connect() as conn:
        windows = check_mass_changes(conn, sources, model.sources, labels, allow_shrink)
        guard_in_place(conn, in_place, allow_shrink)
    seconds["read_validate"] = time.perf_counter() - clock
    bar.step("merging")
    cutoff = retention_cutoff(model, today)
    commit_sync(
        engine,
        sources,
        stage,
        labels,
        today=today,
        cutoff=cutoff,
        started=started,
        seconds=seconds,
        windows=windows,
        model_sources=model.sources,
        allow_shrink=allow_shrink,
        in_place=[check.record() for check in in_place],
    )
    suggest_rescore(engine, model, sources, windows)
    clock = time.perf_counter()
    inserted = sum(sources.summaries[i].inserted for i in sources.signal_batches)
    if merge.settle_after_bulk_load(engine, inserted):
        seconds["vacuum"] = time.perf_counter() - clock
    bar.step("done")
    return sources.summaries
