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

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from scoring.config.sources import Source
from scoring.errors import HealthbotError
from scoring.store.db import SQLITE_BEGIN, first_line
from scoring.store.in_place import record_in_place
from scoring.store.runs import record_run
from scoring.sync import merge
from scoring.sync.accounts import plan_accounts
from scoring.sync.collect import Collected
from scoring.sync.corrections import check_removals, ignored_rows, removals, remove_absent
from scoring.sync.guards import Window
from scoring.sync.outcome_changes import OutcomePlan, apply_outcomes, plan_outcomes
from scoring.sync.stage import Stage, create_stage, drop_stage
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
    windows: list[Window],
    model_sources: list[Source],
    allow_shrink: bool = False,
    in_place: list[dict[str, object]] | None = None,
) -> None:
    """Stage, check removals, merge, prune and record the run; fills the summaries' counts
    and `seconds`. `in_place`: what this sync validated of each source read in place, stored
    with the run (`in_place_syncs`).

    Raises Blocked before the merge transaction when a `replace: window` source would remove
    too much, and HealthbotError (one line) when the database fails; nothing is changed then.
    """
    signal_labels = {i: labels[i] for i in sources.signal_batches}
    summaries = sources.summaries
    replacing = [w for w in windows if w.replace]
    full_stage = stage
    with engine.connect() as conn:
        try:
            clock = time.perf_counter()
            with conn.begin():
                if not replacing:  # a removal needs every staged row to tell what is absent
                    stage = drop_unchanged(conn, stage, signal_labels)
                seconds["compare"] = time.perf_counter() - clock
                create_stage(conn, stage, signal_labels)
                outcomes = _check(conn, sources, replacing, model_sources, allow_shrink)
            seconds["stage"] = time.perf_counter() - clock - seconds["compare"]
            clock = time.perf_counter()
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                for window in replacing:
                    if summaries[window.src].removed:
                        summaries[window.src].removed = remove_absent(conn, window)
                _merge(conn, sources, stage, signal_labels, today)
                apply_outcomes(conn, outcomes)
                for window in windows:
                    if not window.replace:
                        summaries[window.src].ignored = ignored_rows(conn, window, full_stage)
                pruned = merge.prune_signals(conn, cutoff) if cutoff is not None else 0
                seconds["merge"] = time.perf_counter() - clock
                run_id = record_run(
                    conn,
                    "sync",
                    "ok",
                    started_at=started,
                    details={
                        "sources": [asdict(s) for s in summaries],
                        "pruned_signals": pruned,
                        "staged_signals": int(len(stage.value)),
                        "retention_cutoff": cutoff,
                        "allow_shrink": allow_shrink,
                        "seconds": {k: round(v, 3) for k, v in seconds.items()},
                    },
                )
                record_in_place(conn, run_id, in_place or [])
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


def _check(
    conn: Connection,
    sources: Collected,
    replacing: list[Window],
    model_sources: list[Source],
    allow_shrink: bool,
) -> OutcomePlan | None:
    """Before the merge transaction: what each `replace: window` file would remove (guarded;
    the count is kept to skip the delete when nothing goes) and the outcomes plan (guarded
    too)."""
    for window in replacing:
        stored, absent = removals(conn, window)
        check_removals(window, stored, absent, allow_shrink)
        sources.summaries[window.src].removed = absent
    outcome_sources = {i: model_sources[i] for i in sources.outcome_batches}
    return plan_outcomes(
        conn, sources.outcome_batches, outcome_sources, sources.summaries, allow_shrink
    )


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
