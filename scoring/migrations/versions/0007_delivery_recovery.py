"""Delivery and scheduling that recover by themselves.

Revision ID: 0007_delivery_recovery
Revises: 0006_snapshot_points
Create Date: 2026-12-07

Outbox rows learn when to try next, who holds a post in flight, which transport delivered them,
the revision of their content (an alert DM is updated in place), the accounts a DM lists in
full, a file to share, and who retried or resolved them by hand. Leases get a heartbeat and the
run they protect; runs their transport, worker and attempt. `alert_shown` records which alerts
a CSM actually saw: the cooldown starts from it. Only added columns and a new table, so
existing rows stay valid (new integer columns have server defaults).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_delivery_recovery"
down_revision: str | None = "0006_snapshot_points"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString()
OUTBOX_COLUMNS = [
    sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
    sa.Column("claimed_by", TEXT, nullable=True),
    sa.Column("delivered_via", TEXT, nullable=True),
    sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("posted_revision", sa.Integer(), nullable=True),
    sa.Column("accounts", sa.Text(), nullable=True),
    sa.Column("posted_accounts", sa.Text(), nullable=True),
    sa.Column("file_data", sa.LargeBinary(), nullable=True),
    sa.Column("file_name", TEXT, nullable=True),
    sa.Column("file_alt", sa.Text(), nullable=True),
    sa.Column("resolution", sa.Text(), nullable=True),
    sa.Column("resolved_by", TEXT, nullable=True),
    sa.Column("resolved_at", sa.DateTime(), nullable=True),
    sa.Column("reported_at", sa.DateTime(), nullable=True),
]
RUN_COLUMNS = [
    sa.Column("transport", TEXT, nullable=True),
    sa.Column("holder", TEXT, nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"),
]
LEASE_COLUMNS = [
    sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
    sa.Column("run_id", sa.Integer(), nullable=True),
]


def upgrade() -> None:
    for table, columns in (("outbox", OUTBOX_COLUMNS), ("runs", RUN_COLUMNS)):
        for column in columns:
            op.add_column(table, column)
    for column in LEASE_COLUMNS:
        op.add_column("leases", column)
    # Rows already delivered before this revision went through whichever transport ran then;
    # Slack is the only one a production database saw.
    op.execute("UPDATE outbox SET delivered_via = 'slack' WHERE status = 'sent'")
    op.create_table(
        "alert_shown",
        sa.Column("period", TEXT, nullable=False),
        sa.Column("account_id", TEXT, nullable=False),
        sa.Column("outbox_key", TEXT, nullable=True),
        sa.Column("how", TEXT, nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period", "account_id"),
    )
    # Alerts recorded before this revision were recorded when their DM was enqueued; the DMs
    # that were delivered showed them (the best knowledge there is of what was seen).
    op.execute(
        "INSERT INTO alert_shown (period, account_id, outbox_key, how, shown_at)"
        " SELECT a.period, a.account_id, MIN(a.outbox_key), 'dm', MIN(o.sent_at)"
        " FROM alert_log a JOIN outbox o ON o.key = a.outbox_key"
        " WHERE o.status = 'sent' AND o.sent_at IS NOT NULL"
        " GROUP BY a.period, a.account_id"
    )


def downgrade() -> None:
    op.drop_table("alert_shown")
    for table, columns in (
        ("leases", LEASE_COLUMNS),
        ("runs", RUN_COLUMNS),
        ("outbox", OUTBOX_COLUMNS),
    ):
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
