"""Each metric's data freshness per account and period (metric_freshness).

Revision ID: 0010_freshness
Revises: 0009_one_outcome_per_date
Create Date: 2026-12-07

Written with the period's snapshot by the scoring pass (scoring/decisions/freshness.py), read
per card by its primary key: a card shows each metric's latest data date and which signals are
stale without scanning the signals table on every lookup. Periods scored before this revision
have no rows; their cards show no freshness until they are scored again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_freshness"
down_revision: str | None = "0009_one_outcome_per_date"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "metric_freshness",
        sa.Column("period", text, nullable=False),
        sa.Column("account_id", text, nullable=False),
        sa.Column("metric", text, nullable=False),
        sa.Column("latest", sa.Date(), nullable=False),
        sa.Column("cadence_days", sa.Float(), nullable=True),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("period", "account_id", "metric"),
    )


def downgrade() -> None:
    op.drop_table("metric_freshness")
