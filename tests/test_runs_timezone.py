"""Run timestamps are naive UTC whatever time zone the database session is in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store import ensure_schema, finish_run, last_run, make_engine, start_run
from scoring.store.tables import utcnow

SESSION_TZ = "America/New_York"  # never UTC: winter -5h, summer -4h


@pytest.fixture
def engine_off_utc(db_url: str) -> Iterator[Engine]:
    """A migrated database; on PostgreSQL every session runs in SESSION_TZ (what a server or
    role configured with a local time zone gives each connection)."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "postgresql":
        options = f"{url.query.get('options', '')} -c timezone={SESSION_TZ}".strip()
        url = url.update_query_dict({"options": options})
    engine = make_engine(url.render_as_string(hide_password=False))
    ensure_schema(engine)
    yield engine
    engine.dispose()


def test_start_and_finish_run_store_utc_in_a_non_utc_session(engine_off_utc: Engine) -> None:
    if engine_off_utc.dialect.name == "postgresql":
        with engine_off_utc.connect() as conn:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == SESSION_TZ
    before = utcnow()
    run_id = start_run(engine_off_utc, "score", "2026-W47")
    finish_run(engine_off_utc, run_id, "succeeded", accounts_scored=3)
    after = utcnow()
    run = last_run(engine_off_utc, "score")
    assert run is not None and run["id"] == run_id
    slack = timedelta(seconds=5)
    for column in ("started_at", "finished_at"):
        stored = run[column]
        assert stored.tzinfo is None, column
        assert before - slack <= stored <= after + slack, (column, stored, before)
