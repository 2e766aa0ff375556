"""Real test databases: a SQLite file, and PostgreSQL in a throwaway schema when
$HEALTHBOT_TEST_POSTGRES_URL is set (a set but unreachable server fails the test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store import make_engine, upgrade

BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def migrated_database(kind: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(url, engine) of a database migrated to head. PostgreSQL gets a schema of its own, so
    test runs sharing the server never see each other's rows."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'healthbot.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield url, engine
        engine.dispose()
        return
    base = os.environ.get("HEALTHBOT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs $HEALTHBOT_TEST_POSTGRES_URL")
    schema = f"t_hb_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    parsed = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    url = parsed.render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
