"""Freshness of signals read in place equals freshness computed from the same rows in memory,
on the cases the backend's query must get right: a date repeated (a table without an enforced
key may hold it: its zero gap must not count), uneven gaps (an even count of them: the median
is a mean of two), one date only (no cadence of its own), rows outside (after, as_of], and a
long and a wide table, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from scoring.batch.jobs import alert_signals
from scoring.config import Model, parse_model
from scoring.decisions.freshness import metric_freshness
from scoring.pushdown.in_place import place_signals
from scoring.store import make_engine
from tests.pipeline_fixtures import demo_model

AS_OF = date(2026, 11, 21)
AFTER = AS_OF - timedelta(days=60)


def _rows() -> pd.DataFrame:
    """account_id, signal, date, value: long rows with every case the docstring names."""

    def day(back: int) -> date:
        return AS_OF - timedelta(days=back)

    rows = [
        # gaps 1, 2, 7 between distinct dates, the first date twice: median 2, not 1 or 0.5
        *[("a1", "active_users", day(d), 5.0) for d in (20, 20, 19, 17, 10)],
        # gaps 1 and 3 (an even count): median 2; a row after as_of and one before AFTER
        *[("a1", "features_used", day(d), 3.0) for d in (-2, 4, 3, 0, 70)],
        ("a2", "nps", day(9), 8.0),  # one date: no cadence of its own
        # gaps 5, 5, 1, the latest date three times: median 5
        *[("a2", "tickets_opened", day(d), 1.0) for d in (11, 6, 1, 0, 0, 0)],
        # every date twice: gaps 7, 7
        *[("a3", "invoices_overdue", day(d), 0.0) for d in (14, 14, 7, 7, 0, 0)],
        *[("a3", "active_users", day(d), 2.0) for d in range(0, 30, 3)],
    ]
    frame = pd.DataFrame(rows, columns=["account_id", "signal", "date", "value"])
    return frame.assign(date=pd.to_datetime(frame["date"]))


def _model(source: dict[str, Any]) -> Model:
    raw = demo_model().model_dump(mode="json", exclude={"digest"}, exclude_none=True)
    raw["sources"] = [source]
    return parse_model(pd.io.json.ujson_dumps(raw))


def _wide(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (account, date) and signal as in `rows`, repeats kept as repeated rows."""
    rows = rows.assign(n=rows.groupby(["account_id", "signal", "date"]).cumcount())
    wide = rows.pivot_table(
        index=["account_id", "date", "n"], columns="signal", values="value", aggfunc="first"
    )
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index().drop(columns="n")


@pytest.fixture
def postgres() -> Iterator[tuple[str, sa.Engine]]:
    base = os.environ.get("HEALTHBOT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs $HEALTHBOT_TEST_POSTGRES_URL")
    engine = make_engine(base)
    url = sa.make_url(base)
    yield f"postgres://{url.username}@{url.host}:{url.port or 5432}/{url.database}", engine
    engine.dispose()


def _source(kind: str, layout: str, tmp_path: Path, request: Any) -> dict[str, Any]:
    frame = _rows() if layout == "long" else _wide(_rows())
    if kind == "duckdb":
        import duckdb

        path = tmp_path / "warehouse.duckdb"
        with duckdb.connect(str(path)) as conn:
            conn.register("frame", frame)
            conn.execute("create table usage as select * from frame")
        return {"kind": "signals", "url": f"duckdb:///{path}", "table": "usage", "layout": layout}
    url, engine = request.getfixturevalue("postgres")
    name = f"hb_fresh_{uuid.uuid4().hex[:10]}"
    frame.assign(date=frame["date"].dt.date).to_sql(name, engine, index=False)
    request.addfinalizer(lambda: _drop(engine, name))
    return {"kind": "signals", "url": url, "table": name, "layout": layout}


def _drop(engine: sa.Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


@pytest.mark.parametrize("layout", ["long", "wide"])
@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_in_place_freshness_equals_rows_in_memory(kind, layout, tmp_path, request):
    model = _model(_source(kind, layout, tmp_path, request))
    placement = place_signals(model, alert_signals(model))
    after = dict.fromkeys(placement.signals, AFTER)
    placed = placement.freshness(after, AS_OF)

    rows = _rows()
    rows = rows[rows["date"] > pd.Timestamp(AFTER)]
    expected = metric_freshness(model, rows, AS_OF)
    empty = rows.iloc[:0]
    got = metric_freshness(model, empty, AS_OF, placed)

    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    own = placed.set_index(["account_id", "signal"])["own"]
    assert own[("a1", "active_users")] == 2.0
    assert own[("a1", "features_used")] == 2.0
    assert own[("a2", "tickets_opened")] == 5.0
    assert own[("a3", "invoices_overdue")] == 7.0
    assert pd.isna(own[("a2", "nps")])
