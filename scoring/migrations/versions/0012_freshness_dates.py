"""How many distinct dates each metric's freshness was learned from (metric_freshness.dates).

Revision ID: 0012_freshness_dates
Revises: 0011_in_place_syncs
Create Date: 2026-12-07

A signal silent for weeks is a stopped feed only when it came regularly before
(scoring/decisions/feed_stale.py); two survey answers a few days apart are not a feed. Rows
stored before this revision keep NULL and never count as a stopped feed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_freshness_dates"
down_revision: str | None = "0011_in_place_syncs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric_freshness") as batch:
        batch.add_column(sa.Column("dates", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_freshness") as batch:
        batch.drop_column("dates")
