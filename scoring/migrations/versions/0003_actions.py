"""Alert log, account actions (buttons), CSM inputs, and threaded outbox messages.

Revision ID: 0003_actions
Revises: 0002_outbox
Create Date: 2026-11-22

Hand-written to match the tables of `scoring.store.alert_log`, `scoring.store.clicks` and
`scoring.store.csm_inputs` (one module, `scoring.store.actions`, when this was written); plain
DDL so it runs on SQLite and PostgreSQL (the outbox column is added in batch mode for SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_actions"
down_revision: str | None = "0002_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "alert_log",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("period", TEXT, nullable=False),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("rule", TEXT, nullable=False),
        sa.Column("severity", TEXT, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score_shown", sa.Float(), nullable=True),
        sa.Column("band_rank", sa.Integer(), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("outbox_key", TEXT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_log_account", "alert_log", ["account_id", "rule"])
    op.create_table(
        "account_actions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=True),
        sa.Column("user_email", TEXT, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("outcome", TEXT, nullable=True),
        sa.Column("period", TEXT, nullable=True),
        sa.Column("channel_id", TEXT, nullable=True),
        sa.Column("message_ts", TEXT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_actions_account", "account_actions", ["account_id"])
    op.create_table(
        "csm_inputs",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=True),
        sa.Column("user_email", TEXT, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("sentiment", sa.Integer(), nullable=True),
        sa.Column("champion_status", sa.Integer(), nullable=True),
        sa.Column("override_score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_csm_inputs_account", "csm_inputs", ["account_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("thread_key", TEXT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("thread_key")
    op.drop_index("ix_csm_inputs_account", table_name="csm_inputs")
    op.drop_table("csm_inputs")
    op.drop_index("ix_account_actions_account", table_name="account_actions")
    op.drop_table("account_actions")
    op.drop_index("ix_alert_log_account", table_name="alert_log")
    op.drop_table("alert_log")
