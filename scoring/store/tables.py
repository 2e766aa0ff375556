"""The stored schema as SQLModel tables (the Alembic migrations create exactly these).

Signal rows and snapshot rows have no foreign keys on purpose: they are bulk-loaded by the
million, sync already refuses signals for unknown accounts, and `forget` removes an account from
every table that has an `account_id` column. A later issue adds a table by declaring it here and
writing a migration; `tests/test_migrations.py` checks the two agree.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Timestamps are naive UTC everywhere (SQLite has no time zones); sqlmodel's default for
# datetime fields would insist on aware values, so every datetime column names this type.
NAIVE_UTC = sa.DateTime()


def utcnow() -> dt.datetime:
    """Now as naive UTC: the same on SQLite and PostgreSQL, whatever the server's time zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Account(SQLModel, table=True):
    """The latest export's view of an account, kept after it disappears (`inactive_since`)."""

    __tablename__ = "accounts"

    account_id: str = Field(primary_key=True)
    name: str
    owner_email: str | None = None
    segment: str | None = None
    arr: float | None = None
    renewal_date: dt.date | None = None
    status: str | None = None
    churned_on: dt.date | None = None
    attributes: str | None = Field(default=None, sa_type=sa.Text)  # JSON: the export's extras
    first_seen: dt.date
    inactive_since: dt.date | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)


class Signal(SQLModel, table=True):
    """One observation: an account's value of a signal on a day.

    The primary key leads with the account (one account's history, forget). The second index is
    on `date` alone: it serves window loads (`start < date <= end`, filtered by signal) once
    history is long, and costs a third of what (signal, date) costs when bulk-loading millions
    of rows, which is what a sync does.
    """

    __tablename__ = "signals"
    __table_args__ = (
        sa.Index("ix_signals_date", "date"),
        {"sqlite_with_rowid": False},
    )

    account_id: str = Field(primary_key=True)
    signal: str = Field(primary_key=True)
    date: dt.date = Field(primary_key=True)
    value: float
    source: str
    valid_until: dt.date | None = None  # manual (CSM) rows expire; synced have none


class Outcome(SQLModel, table=True):
    """What happened to an account (churned, renewed, expanded, downgraded) and when: one
    outcome per account and day (a re-export replaces it; migration 0009)."""

    __tablename__ = "outcomes"

    account_id: str = Field(primary_key=True)
    date: dt.date = Field(primary_key=True)
    outcome: str


class ScoreSnapshot(SQLModel, table=True):
    """An account's score for one period (ISO week), with the model version that computed it."""

    __tablename__ = "score_snapshots"
    __table_args__ = (sa.Index("ix_score_snapshots_account_id", "account_id"),)

    period: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    as_of: dt.date
    model_version: str
    segment_rule: str | None = None
    score: float | None = None
    score_shown: float | None = None
    band: str
    band_rank: int | None = None
    completeness: float
    status: str
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    # {metric: points} of this snapshot's snapshot_metrics rows: a comparison reads one row per
    # account instead of one per metric (NULL on snapshots stored before revision 0006).
    points: str | None = None


class SnapshotMetric(SQLModel, table=True):
    """One metric's part in a snapshot: the explanation behind the score."""

    __tablename__ = "snapshot_metrics"
    __table_args__ = (
        sa.Index("ix_snapshot_metrics_account_id", "account_id"),
        {"sqlite_with_rowid": False},
    )

    period: str = Field(primary_key=True)
    account_id: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    raw: float | None = None
    has_data: bool
    metric_score: float | None = None
    weight: float
    share: float | None = None
    points: float | None = None


class Run(SQLModel, table=True):
    """A scoring run, sync or delivery: when, how it went, and a JSON summary."""

    __tablename__ = "runs"
    __table_args__ = (sa.Index("ix_runs_kind_started_at", "kind", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str | None = None
    kind: str
    status: str
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=NAIVE_UTC)
    finished_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)
    accounts_scored: int = 0
    alerts: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    details: str | None = Field(default=None, sa_type=sa.Text)  # JSON
    # Added in revision 0007 (delivery that recovers): which transport the run delivered
    # through ("slack" or "terminal": only a Slack run makes a period done for a Slack worker),
    # the worker that ran it, and its attempt number (a failed period is retried).
    transport: str | None = None
    holder: str | None = None
    attempt: int = 1


class Lease(SQLModel, table=True):
    """A named lock its holder keeps alive with a heartbeat (scoring/store/leases.py): one
    weekly run per period, one delivery sweep at a time, taken over once the heartbeat stops."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: dt.datetime = Field(sa_type=NAIVE_UTC)
    heartbeat_at: dt.datetime | None = Field(default=None, sa_type=NAIVE_UTC)
    run_id: int | None = None  # the run this lease protects: marked abandoned on takeover


TABLES = [Account, Signal, Outcome, ScoreSnapshot, SnapshotMetric, Run, Lease]
