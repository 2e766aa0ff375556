"""Snapshot overrides: the computed score kept beside an overridden snapshot.

Revision ID: 0004_snapshot_overrides
Revises: 0003_actions
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_snapshot_overrides"
down_revision: str | None = "0003_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "snapshot_overrides",
        sa.Column("period", TEXT, nullable=False),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("override_id", sa.Integer(), nullable=False),
        sa.Column("computed_score", sa.Float(), nullable=True),
        sa.Column("computed_band", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("period", "account_id"),
    )


def downgrade() -> None:
    op.drop_table("snapshot_overrides")
