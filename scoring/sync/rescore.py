"""Which stored scores a sync's corrections touch, and the command that rescores them.

Past snapshots are never rescored by a sync (a week's scores are what CSMs were told): a
signal row changed or removed at date d changes the scores as of d up to d plus the longest
metric window, so the summary names the stored periods in that span and `healthbot score
--from … --to …` for them.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.periods import period_of
from scoring.store.tables import ScoreSnapshot
from scoring.sync.collect import Collected
from scoring.sync.guards import Window

SNAPSHOTS = ScoreSnapshot.__table__


def suggest_rescore(
    engine: Engine, model: Model, sources: Collected, windows: list[Window]
) -> None:
    """Set `rescore` on each signals summary whose sync changed or removed stored rows that
    stored scores were computed from."""
    longest = max((m.window_days for m in model.metrics.values()), default=0)
    for window in windows:
        summary = sources.summaries[window.src]
        if not (summary.updated or summary.removed):
            continue
        query = sa.select(sa.func.min(SNAPSHOTS.c.as_of), sa.func.max(SNAPSHOTS.c.as_of)).where(
            SNAPSHOTS.c.as_of >= window.low,
            SNAPSHOTS.c.as_of <= window.high + timedelta(days=longest),
        )
        with engine.connect() as conn:
            first, last = conn.execute(query).one()
        if first is None:
            continue
        periods = period_of(first) if first == last else f"{period_of(first)}..{period_of(last)}"
        summary.rescore = (
            f"stored scores of {periods} were computed before this change; to rescore them,"
            f" run: healthbot score --from {first} --to {last}"
        )
