"""The in-place sources' part of a sync: validate each table where it is, hold it to the
shrink guard against the count the previous sync stored, and hand back the rows to store.

Called by `run.py` after the copied sources are read and before anything is committed, so a
refusal here leaves the database untouched like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from scoring.config import Model
from scoring.config.sources import Source
from scoring.errors import DataError, HealthbotError
from scoring.store.backends import hidden
from scoring.store.db import first_line, shown_url
from scoring.store.in_place import last_validated
from scoring.sync.collect import Collected
from scoring.sync.guards import RecentAccounts, check_recent
from scoring.sync.in_place import InPlaceCheck, validate_in_place


def check_in_place(
    model: Model,
    labels: list[str],
    sources: Collected,
    today: date,
    step: Callable[[str], None],
) -> list[InPlaceCheck]:
    """Validate every in-place source (DataError on the first broken rule); fills their
    summaries."""
    checks: list[InPlaceCheck] = []
    for i, source in enumerate(model.sources):
        if source.in_place:
            step(labels[i])
            check = _validated(i, source, labels[i], model, sources, today)
            sources.summaries[i] = check.summary()
            checks.append(check)
    return checks


def _validated(
    i: int, source: Source, label: str, model: Model, sources: Collected, today: date
) -> InPlaceCheck:
    """`validate_in_place`, where a backend that cannot run one of the checks (an operation
    its ibis compiler lacks, a driver's own error) is one line naming the source, not a
    traceback: the table is the user's, and so is the backend."""
    try:
        return validate_in_place(i, source, label, model, sources.known, today)
    except HealthbotError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend's failure becomes one line
        raise DataError(
            f"source {label}: the backend at {shown_url(source.url or '')} could not run"
            f" healthbot's checks on table {source.table}:"
            f" {hidden(first_line(exc), source.url or '')}; sync changed nothing"
        ) from None


def guard_in_place(conn: sa.Connection, checks: list[InPlaceCheck], allow_shrink: bool) -> None:
    """The shrink guard: accounts with data in the table's latest 7 days against the count
    the last sync stored for the source (`in_place_syncs`). Raises Blocked unless
    `allow_shrink`."""
    for check in checks:
        previous = last_validated(conn, check.label)
        before = 0 if previous is None else int(previous["recent_accounts"])
        check.recent = RecentAccounts(before, check.recent.after)
        if not allow_shrink:
            check_recent(check.label, check.source, check.recent)
