"""Signatures of accepted Slack requests, shared by every web process (the replay guard).

Revision ID: 0008_request_signatures
Revises: 0007_delivery_recovery
Create Date: 2026-12-07

A replayed request that lands on another gunicorn worker or web host must be refused too, so
the guard keeps what it accepted in the database: one row per request (a hash of its stamp and
signature), deleted once older than Slack's window. On SQLite the web processes use a file of
their own beside the database instead (`scoring/store/request_signatures.py`); the table
exists here as well so the schema matches the models on both databases. A new table only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_request_signatures"
down_revision: str | None = "0007_delivery_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_signatures",
        sa.Column("signature_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature_hash"),
    )
    op.create_index("ix_request_signatures_seen_at", "request_signatures", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_request_signatures_seen_at", table_name="request_signatures")
    op.drop_table("request_signatures")
