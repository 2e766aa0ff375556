"""One outcome per account and date: the outcomes table's key loses `outcome`.

Revision ID: 0009_one_outcome_per_date
Revises: 0008_request_signatures
Create Date: 2026-12-07

Sync now replaces a changed outcome instead of adding a second row (a re-export saying
`churned` where it said `renewed`), and the backtest must never read two outcomes for one
account and day. Databases written before kept both rows; which one is newer cannot be known,
so the most consequential is kept (churned, then downgraded, renewed, expanded, anything else)
and the collapsed count is logged. A re-export of that account and day corrects it as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_one_outcome_per_date"
down_revision: str | None = "0008_request_signatures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("healthbot.migrations")
RANK = (
    "CASE {t}.outcome WHEN 'churned' THEN 0 WHEN 'downgraded' THEN 1 WHEN 'renewed' THEN 2"
    " WHEN 'expanded' THEN 3 ELSE 4 END"
)


def _rebuild(key: list[str], keep_one: bool, name: str) -> None:
    """The table again under `key` (a new primary key name each way: PostgreSQL keeps the old
    table's constraint name until it is dropped)."""
    op.create_table(
        "outcomes_next",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=name),
    )
    where = ""
    if keep_one:  # no better-ranked (or equally ranked, alphabetically earlier) row that day
        where = (
            " WHERE NOT EXISTS (SELECT 1 FROM outcomes p WHERE p.account_id = o.account_id"
            f" AND p.date = o.date AND ({RANK.format(t='p')} < {RANK.format(t='o')}"
            f" OR ({RANK.format(t='p')} = {RANK.format(t='o')} AND p.outcome < o.outcome)))"
        )
    op.execute(
        "INSERT INTO outcomes_next (account_id, date, outcome)"
        f" SELECT o.account_id, o.date, o.outcome FROM outcomes o{where}"
    )
    op.drop_table("outcomes")
    op.rename_table("outcomes_next", "outcomes")


def upgrade() -> None:
    bind = op.get_bind()
    before = bind.execute(sa.text("SELECT count(*) FROM outcomes")).scalar_one()
    _rebuild(["account_id", "date"], keep_one=True, name="pk_outcomes_by_day")
    after = bind.execute(sa.text("SELECT count(*) FROM outcomes")).scalar_one()
    if before != after:
        log.warning(
            "outcomes: %d rows for an account and day that already had one were dropped (the"
            " most consequential outcome kept); re-export those days to correct them",
            before - after,
        )


def downgrade() -> None:
    _rebuild(["account_id", "date", "outcome"], keep_one=False, name="pk_outcomes_by_outcome")
