"""Initial schema: accounts, signals, outcomes, score snapshots, runs, leases.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("owner_email", TEXT, nullable=True),
        sa.Column("segment", TEXT, nullable=True),
        sa.Column("arr", sa.Float(), nullable=True),
        sa.Column("renewal_date", sa.Date(), nullable=True),
        sa.Column("status", TEXT, nullable=True),
        sa.Column("churned_on", sa.Date(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.Date(), nullable=False),
        sa.Column("inactive_since", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "signals",
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("signal", TEXT, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", TEXT, nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "signal", "date"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_signals_signal_date", "signals", ["signal", "date"])
    op.create_table(
        "outcomes",
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("outcome", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "date", "outcome"),
    )
    op.create_table(
        "score_snapshots",
        sa.Column("period", TEXT, nullable=False),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_version", TEXT, nullable=False),
        sa.Column("segment_rule", TEXT, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("score_shown", sa.Float(), nullable=True),
        sa.Column("band", TEXT, nullable=False),
        sa.Column("band_rank", sa.Integer(), nullable=True),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period", "account_id"),
    )
    op.create_index("ix_score_snapshots_account_id", "score_snapshots", ["account_id"])
    op.create_table(
        "snapshot_metrics",
        sa.Column("period", TEXT, nullable=False),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("metric", TEXT, nullable=False),
        sa.Column("raw", sa.Float(), nullable=True),
        sa.Column("has_data", sa.Boolean(), nullable=False),
        sa.Column("metric_score", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("period", "account_id", "metric"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_snapshot_metrics_account_id", "snapshot_metrics", ["account_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("period", TEXT, nullable=True),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("accounts_scored", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_kind_started_at", "runs", ["kind", "started_at"])
    op.create_table(
        "leases",
        sa.Column("name", TEXT, nullable=False),
        sa.Column("holder", TEXT, nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_runs_kind_started_at", table_name="runs")
    op.drop_table("runs")
    op.drop_index("ix_snapshot_metrics_account_id", table_name="snapshot_metrics")
    op.drop_table("snapshot_metrics")
    op.drop_index("ix_score_snapshots_account_id", table_name="score_snapshots")
    op.drop_table("score_snapshots")
    op.drop_table("outcomes")
    op.drop_index("ix_signals_signal_date", table_name="signals")
    op.drop_table("signals")
    op.drop_table("accounts")
