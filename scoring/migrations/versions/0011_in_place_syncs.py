"""What each sync validated of a signals table read in place (in_place_syncs).

Revision ID: 0011_in_place_syncs
Revises: 0010_freshness
Create Date: 2026-12-07

A source with `url` + `table` is never copied, so the shrink guard's "accounts with data in
the latest 7 days" and the fingerprint of the data a sync validated (rows, latest date, sum
of values) are stored here, one row per source per sync (scoring/store/in_place.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_in_place_syncs"
down_revision: str | None = "0010_freshness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString()
    op.create_table(
        "in_place_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("source", text, nullable=False),
        sa.Column("table_name", text, nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("max_date", sa.Date(), nullable=True),
        sa.Column("value_sum", sa.Float(), nullable=True),
        sa.Column("recent_accounts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_in_place_syncs_run_id", "in_place_syncs", ["run_id"])
    op.create_index("ix_in_place_syncs_source", "in_place_syncs", ["source"])


def downgrade() -> None:
    op.drop_index("ix_in_place_syncs_source", table_name="in_place_syncs")
    op.drop_index("ix_in_place_syncs_run_id", table_name="in_place_syncs")
    op.drop_table("in_place_syncs")
