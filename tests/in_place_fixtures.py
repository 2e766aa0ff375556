"""A warehouse standing in for a customer's: a DuckDB file, or a PostgreSQL table in a schema
of its own (dropped afterwards). Sources point at it with `url` + `table`; healthbot reads it in
place and must never copy a row of it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from tests.db_fixtures import POSTGRES_ENV

WAREHOUSES = [pytest.param("duckdb"), pytest.param("postgres", marks=pytest.mark.postgres)]


class Warehouse:
    """Tables loaded from frames, changed with SQL, reached by an ibis URL."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.schema = f"t_wh_{uuid.uuid4().hex[:12]}"
        if kind == "duckdb":
            self.path = tmp_path / "warehouse.duckdb"
            self.url = f"duckdb://{self.path}"
            return
        base = os.environ.get(POSTGRES_ENV)
        if not base:
            pytest.skip(f"PostgreSQL warehouse tests need ${POSTGRES_ENV}")
        parsed = sa.make_url(base)
        self.admin = sa.create_engine(parsed)
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        auth = parsed.username or "postgres"
        if parsed.password:
            auth += f":{parsed.password}"
        self.url = (
            f"postgres://{auth}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
            f"?options=-csearch_path%3D{self.schema}"
        )

    def execute(self, sql: str) -> None:
        if self.kind == "duckdb":
            con = duckdb.connect(str(self.path))
            try:
                con.execute(sql)
            finally:
                con.close()
            return
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'SET search_path TO "{self.schema}"')
            conn.exec_driver_sql(sql)

    def load(self, name: str, frame: pd.DataFrame) -> None:
        """Replace table `name` with `frame` (dates as DATE, numbers as DOUBLE)."""
        if self.kind == "duckdb":
            con = duckdb.connect(str(self.path))
            try:
                con.register("frame", frame)
                con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM frame')
            finally:
                con.close()
            return
        frame.to_sql(name, self.admin, schema=self.schema, if_exists="replace", index=False)

    def close(self) -> None:
        if self.kind == "postgres":
            with self.admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
            self.admin.dispose()


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    wh = Warehouse(request.param, tmp_path)
    try:
        yield wh
    finally:
        wh.close()


def long_frame(accounts: range, days: list, signal: str = "logins", value: float = 3.0):
    """(account_id, date, signal, value): one row per account and day."""
    rows = [(f"a{i:03d}", d, signal, value + i % 5) for d in days for i in accounts]
    frame = pd.DataFrame(rows, columns=["account_id", "date", "signal", "value"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def app_and_copied(folder: Path, portfolio: Any, raw: dict[str, Any], end: Any) -> Path:
    """The model file `raw` (its signals read in place) written to `folder`, an app database
    with the accounts and outcomes but no signal rows (`healthbot.db`), and the reference:
    `copied.db` scored on `end` from the same rows copied, by the model without its sources.
    Returns the model file."""
    from scoring.batch.jobs import score_and_store
    from scoring.config import parse_model
    from scoring.store import ensure_schema, make_engine
    from scoring.store.frames_io import load_frames

    path = folder / "healthbot.yml"
    path.write_text(yaml.safe_dump(raw))
    engine = make_engine(f"sqlite:///{folder / 'healthbot.db'}")
    ensure_schema(engine)
    load_frames(engine, portfolio.accounts, portfolio.signals.iloc[:0], portfolio.outcomes, end)
    engine.dispose()
    copied = make_engine(f"sqlite:///{folder / 'copied.db'}")
    ensure_schema(copied)
    load_frames(copied, portfolio.accounts, portfolio.signals, portfolio.outcomes, end)
    without = {k: v for k, v in raw.items() if k != "sources"}
    score_and_store(copied, parse_model(yaml.safe_dump(without)), [end])
    copied.dispose()
    return path


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    """`sql`'s rows from the SQLite file at `path`, as tuples."""
    from scoring.store import make_engine

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return found
