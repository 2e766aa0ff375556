"""Many as-of days from one query (`SqlSource.aggregate_days`, GROUP BY account and segment
between window edges) equal the same days asked one query each (`SqlSource.aggregate`), on
every path `last` can take (DuckDB's arg-max, the primary-key lookup on SQLite and
PostgreSQL, a ranked sub-query on a wide SQLite table), long and wide, with any set of as-of
days: before the data, after it, daily ones whose windows share edges, unsorted, repeated.

Counts, extremes, `last` and `days_since` are exact; sums, means and trends are added up in
another order (per segment, then across), so they agree to rounding: the trend's sums are moved
from each segment's end to the as-of day by whole numbers, exact in float64."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.errors import DataError
from scoring.pushdown import DuckRunner, EngineRunner, SqlSource
from scoring.store import make_engine
from tests.databases import migrated_database
from tests.pushdown_cases import ACCOUNTS, AS_OF, SIGNALS, portfolios

EXACT = frozenset({"count", "min", "max", "last", "days_since"})
KINDS = ["duckdb long", "duckdb wide", "sqlite long", "sqlite wide", "postgres long"]
Load = Callable[[pd.DataFrame], SqlSource]

specs_drawn = st.lists(
    st.builds(
        lambda signal, aggregate, days, fill: AggregateSpec(
            f"{signal} {aggregate} {days}", signal, aggregate, days, fill
        ),
        st.sampled_from([*SIGNALS, "absent"]),
        st.sampled_from(["mean", "sum", "min", "max", "last", "count", "trend", "days_since"]),
        st.sampled_from([1, 2, 7, 30, 45, 90]),
        st.sampled_from([None, None, 0.0]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda s: s.key,
)
# before the rows, inside them, after them; daily runs whose windows share edges
as_ofs_drawn = st.lists(
    st.integers(min_value=-5, max_value=140).map(lambda k: AS_OF - timedelta(days=k)),
    min_size=1,
    max_size=8,
)


def _wide(rows: pd.DataFrame) -> pd.DataFrame:
    wide = rows.pivot_table(index=["account_id", "date"], columns="signal", values="value")
    wide = wide.reset_index().rename_axis(columns=None)
    for name in SIGNALS:
        if name not in wide:
            wide[name] = np.nan
    return wide


@pytest.fixture(params=KINDS)
def load(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Load]:
    """A function that stores the rows (no `valid_until`) and returns their source."""
    backend, layout = request.param.split()
    if backend == "duckdb":
        con = duckdb.connect()

        def to_duck(rows: pd.DataFrame) -> SqlSource:
            table = _wide(rows) if layout == "wide" else rows
            values = [f"{v} DOUBLE" for v in SIGNALS] if layout == "wide" else []
            values = values or ["signal VARCHAR", "value DOUBLE"]
            con.execute(
                "CREATE OR REPLACE TABLE events (account_id VARCHAR, date DATE,"
                f" {', '.join(values)})"
            )
            con.register("incoming", table.assign(date=pd.to_datetime(table["date"])))
            con.execute("INSERT INTO events BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
            return SqlSource(DuckRunner(con), "events", layout)

        yield to_duck
        con.close()
        return
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('segments')}/events.db")
        yield lambda rows: _to_engine(engine, rows, layout)
        engine.dispose()
        return
    with migrated_database("postgres", tmp_path_factory.mktemp("segments")) as (_, engine):
        yield lambda rows: _to_engine(engine, rows, layout)


def _to_engine(engine, rows: pd.DataFrame, layout: str) -> SqlSource:  # noqa: ANN001
    """The rows as table `events` of an app database, read through its SQL text runner."""
    table = _wide(rows) if layout == "wide" else rows
    table = table.assign(date=pd.to_datetime(table["date"]).dt.strftime("%Y-%m-%d"))
    if engine.dialect.name == "postgresql":
        table = table.assign(date=pd.to_datetime(table["date"]).dt.date)
    floats = SIGNALS if layout == "wide" else ["value"]
    types = {"account_id": sa.Text(), "signal": sa.Text(), **dict.fromkeys(floats, sa.Float())}
    if engine.dialect.name == "postgresql":
        types["date"] = sa.Date()  # also when there are no rows to tell
    table.to_sql("events", engine, index=False, if_exists="replace", dtype=types)
    values = dict.fromkeys(SIGNALS, "float64") if layout == "wide" else {"signal": "string"}
    if layout == "long":
        values["value"] = "float64"
    schema = ibis.schema({"account_id": "string", "date": "date", **values})
    return SqlSource(EngineRunner(engine, schema), "events", layout)


def _per_day(source: SqlSource, specs, ids, as_ofs):  # noqa: ANN001, ANN202
    return [source.aggregate(specs, ids, d) for d in as_ofs]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=specs_drawn, portfolio=portfolios(), as_ofs=as_ofs_drawn, extra=st.booleans())
def test_every_day_at_once_equals_each_day_asked(load: Load, specs, portfolio, as_ofs, extra):
    _, rows = portfolio
    rows = rows[rows["valid_until"].isna()].drop(columns=["valid_until", "source"])
    source = load(rows)
    # asked in another order than stored, with an account that has no rows
    ids = np.array(list(reversed(ACCOUNTS)) + (["nobody"] if extra else []), dtype=object)
    got = source.aggregate_days(specs, ids, as_ofs)
    expected = _per_day(source, specs, ids, as_ofs)
    assert got is not None and len(got) == len(expected)
    scale = 1.0 + float(rows["value"].abs().max() if len(rows) else 0.0)
    for day, a, b in zip(as_ofs, got, expected, strict=True):
        np.testing.assert_array_equal(a.has, b.has, err_msg=str(day))
        for j, spec in enumerate(specs):
            if spec.aggregate in EXACT:
                np.testing.assert_array_equal(a.raw[:, j], b.raw[:, j], err_msg=spec.key)
            else:  # another order of adding up; a trend's sums cancel, hence the scale
                tolerance = 1e-7 * scale * (100 if spec.aggregate == "trend" else 1)
                np.testing.assert_allclose(
                    a.raw[:, j], b.raw[:, j], rtol=1e-9, atol=tolerance, err_msg=spec.key
                )
        assert a.seen >= b.seen  # signals seen on some day


def test_an_infinity_is_refused_on_the_day_a_window_first_holds_it() -> None:
    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "signal": ["s0"] * 3,
            "date": [AS_OF - timedelta(days=20), AS_OF - timedelta(days=2), AS_OF],
            "value": [1.0, float("inf"), 2.0],
        }
    )
    con = duckdb.connect()
    con.register("incoming", rows)
    con.execute("CREATE TABLE events AS SELECT * FROM incoming")
    source = SqlSource(DuckRunner(con), "events")
    specs = [AggregateSpec("usage", "s0", "mean", 7), AggregateSpec("rows", "s0", "count", 30)]
    ids = np.array(["a", "b"], dtype=object)
    days = [AS_OF - timedelta(days=10), AS_OF, AS_OF + timedelta(days=3)]
    with pytest.raises(DataError) as per_day:
        _per_day(source, specs, ids, days)
    with pytest.raises(DataError) as at_once:
        source.aggregate_days(specs, ids, days)
    assert str(at_once.value) == str(per_day.value)
    assert "'usage'" in str(at_once.value) and "account 'a'" in str(at_once.value)
    assert AS_OF.isoformat() in str(at_once.value)


def test_rows_that_expire_are_asked_day_by_day() -> None:
    """A table with `valid_until` (healthbot's own store): a row counts on a day only while
    valid, which no segment can say, so `aggregate_days` declines (None)."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE signals (account_id VARCHAR, signal VARCHAR, date DATE, value DOUBLE,"
        " source VARCHAR, valid_until DATE)"
    )
    source = SqlSource(DuckRunner(con))
    specs = [AggregateSpec("usage", "s0", "mean", 7)]
    assert source.aggregate_days(specs, np.array(["a"], dtype=object), [date(2026, 1, 5)]) is None
