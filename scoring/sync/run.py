"""`healthbot sync`: read and validate every source, then merge them in one transaction.

All or nothing: every source is read and checked in memory first, so bad data anywhere means
the database is not touched at all; the merge itself is one transaction.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from scoring.config import Model
from scoring.config.sections import Source
from scoring.errors import DataError, HealthbotError
from scoring.store.db import SQLITE_BEGIN, first_line
from scoring.store.runs import record_run
from scoring.store.tables import utcnow
from scoring.sync import merge
from scoring.sync.accounts import AccountBatch, combine_batches, plan_accounts, prepare_accounts
from scoring.sync.outcomes import OutcomeBatch, drop_unknown_outcomes, prepare_outcomes
from scoring.sync.readers import read_source
from scoring.sync.retention import retention_cutoff
from scoring.sync.signals import SignalBatch, dedupe, drop_unknown, keys, prepare_signals
from scoring.sync.stage import Stage, create_stage, drop_stage
from scoring.sync.unchanged import drop_unchanged


@dataclass
class SourceSummary:
    """What one source contributed: printed as one line by `healthbot sync`."""

    source: str
    kind: str
    rows_read: int = 0
    values: int = 0  # observations after validation (a wide row holds several)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # unknown accounts with `unknown_accounts: skip`, unlisted signals
    combined: int = 0  # duplicate rows merged by `combine`
    inactive: int = 0  # accounts missing from the export, inactive from today

    def line(self) -> str:
        read = f"{self.rows_read:,} rows read"
        if self.kind == "signals" and self.values != self.rows_read:
            read += f" ({self.values:,} values)"
        parts = [
            f"{self.inserted:,} inserted",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
        ]
        if self.kind != "accounts":
            parts.append(f"{self.skipped:,} skipped")
        if self.combined:
            parts.append(f"{self.combined:,} combined")
        if self.inactive:
            parts.append(f"{self.inactive:,} marked inactive")
        return f"{self.kind} {self.source}: {read}; {', '.join(parts)}"


def source_labels(sources: list[Source]) -> list[str]:
    """Each source's name for messages and the signals.source column, unique within the file."""
    labels: list[str] = []
    for source in sources:
        label, n = source.label, 2
        while label in labels:
            label, n = f"{source.label} ({n})", n + 1
        labels.append(label)
    return labels


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
    engine: Engine, model: Model, model_dir: Path, today: date, progress: bool = False
) -> list[SourceSummary]:
    """Load every source of the model; returns one summary per source, in model order.

    Raises DataError (and changes nothing) when any source breaks a rule.
    """
    if not model.sources:
        raise DataError("the model file lists no `sources:`, so there is nothing to sync")
    labels = source_labels(model.sources)
    bar = _Progress(progress, total=len(model.sources) + 2)
    try:
        return _sync(engine, model, Path(model_dir), today, labels, bar)
    finally:
        bar.close()


def _sync(
    engine: Engine, model: Model, model_dir: Path, today: date, labels: list[str], bar: _Progress
) -> list[SourceSummary]:
    started, clock = utcnow(), time.perf_counter()
    seconds: dict[str, float] = {}
    tz = model.timezone
    sources = list(enumerate(model.sources))
    summaries = [SourceSummary(labels[i], s.kind) for i, s in sources]
    with engine.connect() as conn:
        stored_ids = merge.stored_account_ids(conn)

    account_batches: dict[int, AccountBatch] = {}
    for i, source in sources:
        if source.kind == "accounts":
            bar.step(labels[i])
            account_batches[i] = prepare_accounts(
                read_source(source, labels[i], model_dir), source, tz
            )
            summaries[i].rows_read = summaries[i].values = len(account_batches[i].frame)
    export = combine_batches(list(account_batches.values())) if account_batches else None
    known = stored_ids if export is None else stored_ids.union(pd.Index(export["account_id"]))

    signal_batches: dict[int, SignalBatch] = {}
    outcome_batches: dict[int, OutcomeBatch] = {}
    for i, source in sources:
        if source.kind == "signals":
            bar.step(labels[i])
            batch = prepare_signals(read_source(source, labels[i], model_dir), source, tz)
            drop_unknown(batch, known, source.unknown_accounts)
            dedupe(batch, source.combine)
            _release(batch)
            signal_batches[i] = batch
            summaries[i].rows_read, summaries[i].values = batch.rows_read, len(batch)
            summaries[i].skipped, summaries[i].combined = batch.skipped, batch.combined
        elif source.kind == "outcomes":
            bar.step(labels[i])
            outcome = prepare_outcomes(read_source(source, labels[i], model_dir), source, tz)
            drop_unknown_outcomes(outcome, known, source.unknown_accounts)
            outcome_batches[i] = outcome
            summaries[i].rows_read, summaries[i].values = outcome.rows_read, len(outcome.frame)
            summaries[i].skipped = outcome.skipped

    stage = build_stage(signal_batches)
    seconds["read_validate"] = time.perf_counter() - clock
    bar.step("merging")
    cutoff = retention_cutoff(model, today)
    with engine.connect() as conn:
        try:
            clock = time.perf_counter()
            with conn.begin():
                stage = drop_unchanged(conn, stage, {i: labels[i] for i in signal_batches})
                seconds["compare"] = time.perf_counter() - clock
                create_stage(conn, stage, {i: labels[i] for i in signal_batches})
            seconds["stage"] = time.perf_counter() - clock - seconds["compare"]
            clock = time.perf_counter()
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                data = _MergeInput(
                    export, account_batches, stage, labels, signal_batches, outcome_batches, today
                )
                _merge(conn, data, summaries)
                pruned = merge.prune_signals(conn, cutoff) if cutoff is not None else 0
                seconds["merge"] = time.perf_counter() - clock
                record_run(
                    conn,
                    "sync",
                    "ok",
                    started_at=started,
                    details={
                        "sources": [asdict(s) for s in summaries],
                        "pruned_signals": pruned,
                        "staged_signals": int(len(stage.value)),
                        "retention_cutoff": cutoff,
                        "seconds": {k: round(v, 3) for k, v in seconds.items()},
                    },
                )
        except DBAPIError as exc:
            _clean_up(conn, quiet=True)
            raise HealthbotError(
                f"sync failed in the database and changed nothing: {first_line(exc)}"
            ) from exc
        except BaseException:
            _clean_up(conn, quiet=True)
            raise
        _clean_up(conn, quiet=False)
    clock = time.perf_counter()
    inserted = sum(summaries[i].inserted for i in signal_batches)
    if merge.settle_after_bulk_load(engine, inserted):
        seconds["vacuum"] = time.perf_counter() - clock
    bar.step("done")
    return summaries


@dataclass
class _MergeInput:
    export: pd.DataFrame | None
    account_batches: dict[int, AccountBatch]
    stage: Stage
    labels: list[str]
    signal_batches: dict[int, SignalBatch]
    outcome_batches: dict[int, OutcomeBatch]
    today: date


def _merge(conn: Connection, data: _MergeInput, summaries: list[SourceSummary]) -> None:
    """Everything that writes, inside the caller's one transaction."""
    if data.export is not None:
        changes = plan_accounts(data.export, merge.stored_accounts(conn), data.today)
        ids = list(data.account_batches)
        for batch_no, (ins, upd, same) in changes.per_batch.items():
            summary = summaries[ids[batch_no]]
            summary.inserted, summary.updated, summary.unchanged = ins, upd, same
        summaries[ids[-1]].inactive = merge.apply_accounts(conn, changes, data.today)
    counts = merge.merge_signals(conn, {i: data.labels[i] for i in data.signal_batches})
    for i, (ins, upd) in counts.items():
        summary = summaries[i]
        summary.inserted, summary.updated = ins, upd
        summary.unchanged = data.stage.per_source.get(i, 0) - ins - upd
    _merge_outcomes(conn, data.outcome_batches, summaries)


def _clean_up(conn: Connection, quiet: bool) -> None:
    """Drop the staging tables; when an error is already on its way, never mask it."""
    try:
        conn.execution_options(**{SQLITE_BEGIN: ""})
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            drop_stage(conn)
    except Exception:
        if not quiet:
            raise


def _release(batch: SignalBatch) -> None:
    """Drop the raw cells once validated: only row numbers are needed for later messages."""
    batch.raw.frame = batch.raw.frame.iloc[:0]
    batch.cols.frame = batch.cols.frame.iloc[:0]


def _merge_outcomes(
    conn: Any, batches: dict[int, OutcomeBatch], summaries: list[SourceSummary]
) -> None:
    if not batches:
        return
    frames = [b.frame.assign(_src=i) for i, b in batches.items()]
    frame = pd.concat(frames, ignore_index=True)
    first = ~frame.duplicated(["account_id", "date", "outcome"]).to_numpy()
    new = np.zeros(len(frame), dtype=bool)
    new[first] = merge.insert_outcomes(conn, frame[first].reset_index(drop=True))
    for i in batches:
        mine = (frame["_src"] == i).to_numpy()
        summaries[i].inserted = int((new & mine).sum())
        summaries[i].unchanged = int((~new & mine).sum())


def build_stage(batches: dict[int, SignalBatch]) -> Stage:
    """All signals sources as one set of coded rows in key order; the same key from two
    sources must carry the same value (then the earlier source keeps it)."""
    batches = {i: b for i, b in batches.items() if len(b)}
    if not batches:
        none = np.zeros(0, dtype=np.int64)
        return Stage(
            np.array([], dtype=str),
            np.array([], dtype=str),
            none,
            none,
            none.astype("datetime64[D]"),
            none.astype(float),
            none,
            {},
        )
    accounts = np.unique(np.concatenate([b.accounts.to_numpy(dtype=str) for b in batches.values()]))
    signals = np.unique(np.concatenate([b.signals.to_numpy(dtype=str) for b in batches.values()]))
    account_index, signal_index = pd.Index(accounts), pd.Index(signals)
    acc = np.concatenate(
        [account_index.get_indexer(b.accounts.to_numpy(dtype=str))[b.acc] for b in batches.values()]
    )
    sig = np.concatenate(
        [signal_index.get_indexer(b.signals.to_numpy(dtype=str))[b.sig] for b in batches.values()]
    )
    day = np.concatenate([b.day for b in batches.values()]).astype("datetime64[D]")
    value = np.concatenate([b.value for b in batches.values()])
    src = np.concatenate([np.full(len(b), i, dtype=np.int32) for i, b in batches.items()])
    row = np.concatenate([np.arange(len(b)) for b in batches.values()])
    if len(batches) > 1:
        key = keys(acc, sig, day, len(signals))
        order = np.argsort(key, kind="stable")
        acc, sig, day, value, src, row, key = (
            a[order] for a in (acc, sig, day, value, src, row, key)
        )
        same = np.concatenate(([False], key[1:] == key[:-1]))
        if same.any():
            _refuse_conflicts(batches, same, value, src, row)
            keep = ~same
            acc, sig, day, value, src = acc[keep], sig[keep], day[keep], value[keep], src[keep]
    sources, sizes = np.unique(src, return_counts=True)
    per_source = {int(i): int(n) for i, n in zip(sources, sizes, strict=True)}
    return Stage(accounts, signals, acc, sig, day, value, src, per_source)


def _refuse_conflicts(
    batches: dict[int, SignalBatch],
    same: np.ndarray,
    value: np.ndarray,
    src: np.ndarray,
    row: np.ndarray,
) -> None:
    differs = np.flatnonzero(same & (value != np.roll(value, 1)))
    if not len(differs):
        return
    i = int(differs[0])
    later, earlier = batches[int(src[i])], batches[int(src[i - 1])]
    j, k = int(row[i]), int(row[i - 1])
    column = later.value_column[later.signals[later.sig[j]]]
    raise later.raw.fail(
        f"{value[i]:g} conflicts with {value[i - 1]:g} from source {earlier.raw.label}"
        f" ({earlier.raw.where(int(earlier.pos[k]))}) for {later.describe(j)}",
        int(later.pos[j]),
        column,
    )
