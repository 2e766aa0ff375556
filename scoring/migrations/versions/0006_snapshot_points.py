"""Each snapshot carries its metric points as one JSON object.

Revision ID: 0006_snapshot_points
Revises: 0005_signals_date_index
Create Date: 2026-11-22

A week-over-week comparison needs every account's points per metric for two weeks: read from
snapshot_metrics that is a million rows at 100,000 accounts, read from this column 200,000.
Snapshots stored before this revision have it NULL and are read the long way.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_snapshot_points"
down_revision: str | None = "0005_signals_date_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "score_snapshots", sa.Column("points", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("score_snapshots") as batch:
        batch.drop_column("points")
