"""Database fixtures: every database test runs on a SQLite file and, when
$HEALTHBOT_TEST_POSTGRES_URL is set, on PostgreSQL too.

PostgreSQL tests each get a schema of their own (dropped afterwards), so runs sharing a server
never see each other's rows. If the variable is set but the server cannot be reached, the
fixture raises: the tests fail rather than skip, so a broken CI database is never green.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store import ensure_schema, make_engine, normalize_url
from tests.databases import BACKENDS

POSTGRES_ENV = "HEALTHBOT_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _postgres_schema_url() -> Iterator[str]:
    base = postgres_base_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need ${POSTGRES_ENV}")
    schema = f"t_store_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)  # unreachable server: HealthbotError, the test fails
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = normalize_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database (no tables yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'healthbot.db'}"
        return
    yield from _postgres_schema_url()


@pytest.fixture
def empty_engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database, schema not created (for migration tests)."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a fresh database migrated to head."""
    ensure_schema(empty_engine)
    return empty_engine


def dump_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal dumps mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').fetchall()
            out[name] = sorted((tuple(row) for row in rows), key=repr)
    return out


METRICS_YAML = """\
metrics:
  logins: {signal: logins, window_days: 30, scale: {worst: 0, best: 10}, weight: 1}
"""


def metrics_yaml(signal: str = "logins") -> str:
    """The one-metric `metrics:` section, reading `signal` (sync refuses a model whose metric
    reads a signal that is neither stored nor in the sources being synced)."""
    return METRICS_YAML.replace("signal: logins", f"signal: {signal}")


class SyncProject:
    """A model file and its exports in a temporary directory, for sync tests."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def parquet(self, relative: str, frame: Any) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        return path

    def model(
        self,
        sources: str,
        extra: str = "",
        environ: dict[str, str] | None = None,
        signal: str = "logins",
    ) -> Any:
        """Write healthbot.yml (one metric reading `signal`, the given `sources:` YAML) and
        parse it."""
        from scoring.config import parse_model

        text = f"{metrics_yaml(signal)}{extra}sources:\n{sources}"
        self.write("healthbot.yml", text)
        return parse_model(text, str(self.root / "healthbot.yml"), environ or {})


@pytest.fixture
def project(tmp_path: Path) -> SyncProject:
    return SyncProject(tmp_path / "project")
