"""Outbox and delivery settings: every Slack message is stored before it is sent.

Revision ID: 0002_outbox
Revises: 0001_initial
Create Date: 2026-11-22

Hand-written to match `scoring.store.outbox` (OutboxRow, DeliverySetting) exactly, and plain
CREATE TABLE / CREATE INDEX only, so it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_outbox"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("key", TEXT, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("period", TEXT, nullable=True),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("target_kind", TEXT, nullable=False),
        sa.Column("target", TEXT, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.Text(), nullable=True),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("channel_id", TEXT, nullable=True),
        sa.Column("ts", TEXT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "delivery_settings",
        sa.Column("name", TEXT, nullable=False),
        sa.Column("value", TEXT, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("delivery_settings")
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_table("outbox")
