"""The second half of a sync: write everything that was read, in one transaction.

Staging (temporary tables, unchanged series dropped first) happens in its own short
transaction; the merge of accounts, signals and outcomes, the retention prune and the run's
record then commit together or not at all. The staging tables are dropped whatever happens,
without ever masking the error that is already on its way.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from scoring.errors import HealthbotError
from scoring.store.db import SQLITE_BEGIN, first_line
from scoring.store.runs import record_run
from scoring.sync import merge
from scoring.sync.accounts import plan_accounts
from scoring.sync.collect import Collected
from scoring.sync.outcomes import OutcomeBatch
from scoring.sync.stage import Stage, create_stage, drop_stage
from scoring.sync.summary import SourceSummary
from scoring.sync.unchanged import drop_unchanged


def commit_sync(
    engine: Engine,
    sources: Collected,
    stage: Stage,
    labels: list[str],
    *,
    today: date,
    cutoff: date | None,
    started: datetime,
    seconds: dict[str, float],
) -> None:
    """Stage, merge, prune and record the run; fills the summaries' counts and `seconds`.

    Raises HealthbotError (one line) when the database fails; nothing is changed then.
    """
    signal_labels = {i: labels[i] for i in sources.signal_batches}
    summaries = sources.summaries
    with engine.connect() as conn:
        try:
            clock = time.perf_counter()
            with conn.begin():
                stage = drop_unchanged(conn, stage, signal_labels)
                seconds["compare"] = time.perf_counter() - clock
                create_stage(conn, stage, signal_labels)
            seconds["stage"] = time.perf_counter() - clock - seconds["compare"]
            clock = time.perf_counter()
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                _merge(conn, sources, stage, signal_labels, today)
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


def _merge(
    conn: Connection,
    sources: Collected,
    stage: Stage,
    signal_labels: dict[int, str],
    today: date,
) -> None:
    """Everything that writes, inside the caller's one transaction."""
    summaries = sources.summaries
    if sources.export is not None:
        changes = plan_accounts(sources.export, merge.stored_accounts(conn), today)
        ids = list(sources.account_batches)
        for batch_no, (ins, upd, same) in changes.per_batch.items():
            summary = summaries[ids[batch_no]]
            summary.inserted, summary.updated, summary.unchanged = ins, upd, same
        summaries[ids[-1]].inactive = merge.apply_accounts(conn, changes, today)
    counts = merge.merge_signals(conn, signal_labels)
    for i, (ins, upd) in counts.items():
        summary = summaries[i]
        summary.inserted, summary.updated = ins, upd
        summary.unchanged = stage.per_source.get(i, 0) - ins - upd
    _merge_outcomes(conn, sources.outcome_batches, summaries)


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


def _merge_outcomes(
    conn: Connection, batches: dict[int, OutcomeBatch], summaries: list[SourceSummary]
) -> None:
    """Insert outcomes not stored yet (the first source wins a duplicate) and count them."""
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
