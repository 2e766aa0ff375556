"""PostgreSQL connections are pinged on checkout only after sitting idle (scoring/store/db.py):
an idle one the server has dropped is replaced before use, and one returned a moment ago goes
straight back to work, with no ping round trip on the request's path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import scoring.store.db as db
from scoring.store import make_engine
from tests.databases import migrated_database

pytestmark = pytest.mark.postgres


def backend_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()
    time.sleep(0.2)  # the backend is gone once the signal is handled


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.1)
    with migrated_database("postgres", tmp_path) as (url, admin):
        engine = make_engine(url)
        try:
            dropped = backend_of(engine)  # back in the pool, idle from now on
            terminate(admin, dropped)
            assert backend_of(engine) != dropped  # pinged, found gone, replaced: no error
        finally:
            engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(tmp_path: Path) -> None:
    """The trade: no round trip on a busy pool. A connection dropped while it was busy fails
    its next statement once, and SQLAlchemy then recycles the pool, so the next one works."""
    assert db.IDLE_PING_SECONDS >= 1
    with migrated_database("postgres", tmp_path) as (url, admin):
        engine = make_engine(url)
        try:
            dropped = backend_of(engine)
            terminate(admin, dropped)
            with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")  # not pinged: the statement meets the break
            assert backend_of(engine) != dropped
        finally:
            engine.dispose()
