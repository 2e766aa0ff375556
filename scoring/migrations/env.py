"""Alembic environment, driven from code (`scoring.store.schema`): no alembic.ini at runtime.

`scoring.store.schema.upgrade()` hands us an open connection inside a transaction via
`config.attributes["connection"]`; the `alembic` command line (for writing new migrations) can
still use `sqlalchemy.url`. On PostgreSQL an advisory lock makes concurrent upgrades (a web and a
worker starting together) wait for each other instead of racing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import scoring.store.alert_log  # noqa: F401  (registers the 0003 alert_log table)
import scoring.store.alert_shown  # noqa: F401  (0007 alert_shown)
import scoring.store.clicks  # noqa: F401  (0003 account_actions)
import scoring.store.csm_inputs  # noqa: F401  (0003 csm_inputs)
import scoring.store.freshness  # noqa: F401  (0010 metric_freshness)
import scoring.store.in_place  # noqa: F401  (0011 in_place_syncs)
import scoring.store.outbox  # noqa: F401  (the outbox tables, migration 0002)
import scoring.store.overrides  # noqa: F401  (0004 snapshot_overrides)
import scoring.store.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from scoring.store.schema import MIGRATION_LOCK

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from scoring.store.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
