"""What each sync validated of a source read in place (`in_place_syncs`), and whether it has
changed since.

Healthbot stores none of such a source's rows, so the shrink guard cannot count "accounts with
data in the latest 7 days" from its own `signals` table: each sync stores the count here, and
the next sync compares against it. The same row holds the fingerprint of the data validated
(rows, latest date, sum of values), which the scoring run compares with the table as it is at
scoring time (`in_place_changes`): a warehouse keeps changing after a sync.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scoring.errors import DataError
from scoring.store.tables import NAIVE_UTC, utcnow

log = logging.getLogger("healthbot.in_place")

if TYPE_CHECKING:  # the migrations import this table; ibis and the config only when used
    from scoring.config import Model
    from scoring.config.sources import Source

SUM_TOLERANCE = 1e-9  # relative: a parallel SUM may add in another order from run to run


class InPlaceSync(SQLModel, table=True):
    """One in-place source as one sync validated it."""

    __tablename__ = "in_place_syncs"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, index=True)  # the sync's row in `runs`
    synced_at: dt.datetime = Field(sa_type=NAIVE_UTC)
    source: str = Field(index=True)  # the source's label (its `name`, else its table)
    table_name: str
    rows: int = Field(sa_type=sa.BigInteger)
    max_date: dt.date | None = None
    value_sum: float | None = None
    recent_accounts: int = 0  # accounts with data in the table's latest 7 days


IN_PLACE = InPlaceSync.__table__


def record_in_place(conn: sa.Connection, run_id: int, rows: list[dict[str, Any]]) -> None:
    """Store what this sync validated, inside its transaction (with its run row)."""
    if rows:
        now = utcnow()
        conn.execute(sa.insert(IN_PLACE), [{**r, "run_id": run_id, "synced_at": now} for r in rows])


def last_validated(conn: sa.Connection, source: str) -> dict[str, Any] | None:
    """The latest row stored for `source`, or None when no sync validated it yet."""
    c = IN_PLACE.c
    row = (
        conn.execute(sa.select(IN_PLACE).where(c.source == source).order_by(c.id.desc()).limit(1))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def in_place_labels(model: Model) -> list[tuple[str, Source]]:
    """(label, source) of each in-place source, labelled as sync labels it (a repeated name
    gets " (2)", as `scoring/sync/summary.py` `source_labels` does)."""
    labels: list[str] = []
    out: list[tuple[str, Source]] = []
    for source in model.sources:
        label, n = source.label, 2
        while label in labels:
            label, n = f"{source.label} ({n})", n + 1
        labels.append(label)
        if source.in_place:
            out.append((label, source))
    return out


def validated_by(engine: Engine, model: Model) -> dict[str, int | None]:
    """The sync run that last validated each in-place source (None: never), for the scoring
    run's record of which validation the data it read goes back to."""
    out: dict[str, int | None] = {}
    with engine.connect() as conn:
        for label, _source in in_place_labels(model):
            stored = last_validated(conn, label)
            out[label] = None if stored is None else stored["run_id"]
    return out


def same_data(stored: dict[str, Any], now: dict[str, Any]) -> bool:
    """True when the fingerprints match (sums within a relative rounding tolerance)."""
    if stored["rows"] != now["rows"] or stored["max_date"] != now["max_date"]:
        return False
    a, b = stored["value_sum"], now["value_sum"]
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=SUM_TOLERANCE, abs_tol=SUM_TOLERANCE)


def in_place_changes(engine: Engine, model: Model) -> list[str]:
    """One line per in-place source whose data is not what the last sync validated (or that
    no sync validated); [] when every such source is as validated. The scoring run warns with
    these lines and records them: it reads the table as it is now."""
    from scoring.store.warehouse import fingerprint, open_long

    lines: list[str] = []
    for label, source in in_place_labels(model):
        with engine.connect() as conn:
            stored = last_validated(conn, label)
        if stored is None:
            lines.append(
                f'in-place source "{label}" (table {source.table}) was never validated by a'
                " sync; run: healthbot sync"
            )
            continue
        try:
            now = fingerprint(open_long(source, label)[1])
        except DataError as exc:
            lines.append(f"{exc}")
            continue
        if not same_data(stored, now):
            when = f"{stored['synced_at']:%Y-%m-%d %H:%M} UTC"
            lines.append(
                f'in-place source "{label}" (table {source.table}) changed since the sync that'
                f" validated it ({when}, run {stored['run_id']}): {stored['rows']:,} rows"
                f" up to {stored['max_date']} then, {now['rows']:,} rows up to"
                f" {now['max_date']} now; run: healthbot sync"
            )
    return lines


def in_place_record(engine: Engine, model: Model) -> dict[str, Any]:
    """What a scoring run records of its in-place sources, whose tables it reads as they are
    now: the sync that validated each, and a warning per source changed since (or never
    validated), also logged."""
    if not any(s.in_place for s in model.sources):
        return {}
    changes = in_place_changes(engine, model)
    for line in changes:
        log.warning("%s", line)
    return {"in_place_validated_by": validated_by(engine, model), "in_place_changes": changes}
