"""The database: engines, schema migrations and bulk reads/writes of frames.

SQLite by default (a WAL file shared by the web and worker processes), PostgreSQL in production.
Tables, the run ledger and lease, the outbox, the alert log, clicks, CSM inputs and overrides.

May import: the shared basics (`scoring.errors`, `scoring.frames`). Never the engine, the
decisions or `bot`: the store keeps rows, it does not decide anything.
"""

from scoring.store.db import make_engine, normalize_url, shown_url
from scoring.store.forget import account_tables, count_account_rows, forget_account
from scoring.store.leases import acquire_lease, release_lease
from scoring.store.reads import load_accounts, load_outcomes, load_signals
from scoring.store.runs import finish_run, last_run, record_run, start_run
from scoring.store.schema import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    upgrade,
)
from scoring.store.snapshots import list_periods, load_snapshots, save_snapshots

__all__ = [
    "account_tables",
    "acquire_lease",
    "count_account_rows",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "finish_run",
    "forget_account",
    "head_revision",
    "last_run",
    "list_periods",
    "load_accounts",
    "load_outcomes",
    "load_signals",
    "load_snapshots",
    "make_engine",
    "normalize_url",
    "record_run",
    "release_lease",
    "save_snapshots",
    "shown_url",
    "start_run",
    "upgrade",
]
