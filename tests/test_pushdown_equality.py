"""The compiled SQL path gives the reference engine's scores on SQLite, PostgreSQL and DuckDB.

Aggregates are rounded to 12 significant digits in both paths (engines add up in different
orders); then the unrounded score agrees within 1e-9 and shown scores and bands exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from scoring.config import Model
from scoring.engine.score import score_accounts
from scoring.errors import ConfigError, DataError
from scoring.pushdown import DuckRunner, EngineRunner, SqlSource
from scoring.store.tables import Signal
from tests.databases import BACKENDS, migrated_database
from tests.pushdown_cases import AS_OF, assert_infinity_refused_alike, models, portfolios

STORE_TABLE = """CREATE TABLE signals (account_id VARCHAR, signal VARCHAR, date DATE,
value DOUBLE, source VARCHAR, valid_until DATE)"""
Load = Callable[[pd.DataFrame], SqlSource]


@pytest.fixture(scope="module", params=[*BACKENDS, pytest.param("duckdb")])
def load(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Load]:
    """A function that replaces the backend's signals with a frame and returns its source."""
    if request.param == "duckdb":
        con = duckdb.connect()

        def to_duck(frame: pd.DataFrame) -> SqlSource:
            con.execute("DROP TABLE IF EXISTS signals")
            con.execute(STORE_TABLE)
            con.register("incoming", _typed(frame))
            con.execute("INSERT INTO signals SELECT * FROM incoming")
            con.unregister("incoming")
            return SqlSource(DuckRunner(con))

        yield to_duck
        con.close()
        return
    with migrated_database(request.param, tmp_path_factory.mktemp("pushdown")) as (_, engine):

        def to_store(frame: pd.DataFrame) -> SqlSource:
            rows = _typed(frame).to_dict("records")
            with engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM signals")
                if rows:
                    conn.execute(sa.insert(Signal.__table__), rows)
            return SqlSource(EngineRunner(engine))

        yield to_store


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"]).dt.date
    out["valid_until"] = pd.to_datetime(out["valid_until"]).dt.date.astype(object)
    out.loc[frame["valid_until"].isna(), "valid_until"] = None
    out["value"] = out["value"].astype(float)
    return out


def _outcome(model: Model, accounts: pd.DataFrame, signals: object) -> object:
    try:
        return score_accounts(model, accounts, signals, AS_OF)
    except (ConfigError, DataError) as error:
        return type(error)


def assert_same_scores(reference: object, pushed: object) -> None:
    if isinstance(reference, type):
        assert pushed is reference
        return
    a = reference.accounts.set_index("account_id")  # type: ignore[attr-defined]
    b = pushed.accounts.set_index("account_id").loc[a.index]  # type: ignore[attr-defined]
    assert list(a["status"]) == list(b["status"])
    assert list(a["band"]) == list(b["band"])
    np.testing.assert_array_equal(a["score_shown"].to_numpy(), b["score_shown"].to_numpy())
    np.testing.assert_allclose(a["score"], b["score"], rtol=0, atol=1e-9, equal_nan=True)
    ma, mb = reference.metrics, pushed.metrics  # type: ignore[attr-defined]
    np.testing.assert_array_equal(ma["has_data"].to_numpy(), mb["has_data"].to_numpy())
    np.testing.assert_allclose(ma["raw"], mb["raw"], rtol=1e-11, equal_nan=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(model=models(), portfolio=portfolios())
def test_the_database_scores_as_the_reference_does(load: Load, model: Model, portfolio) -> None:
    accounts, signals = portfolio
    reference = _outcome(model, accounts, signals.assign(date=pd.to_datetime(signals["date"])))
    pushed = _outcome(model, accounts, load(signals))
    assert_same_scores(reference, pushed)


@pytest.mark.parametrize("kind", BACKENDS)
def test_scoring_in_the_database_stores_the_same_snapshot(kind: str, tmp_path) -> None:
    """The demo portfolio and model (segments, fills, every scale form the demo uses) scored
    both ways through `score_and_store`: the stored snapshots agree."""
    from scoring.batch.jobs import score_and_store
    from scoring.store import load_snapshots
    from tests.pipeline_fixtures import END, prepare

    with migrated_database(kind, tmp_path) as (_, engine):
        prepared = prepare(engine, accounts=80, weeks_of_history=1)
        score_and_store(engine, prepared.model, [END])
        reference, _ = load_snapshots(engine)
        score_and_store(engine, prepared.model, [END], in_database=True)
        pushed, _ = load_snapshots(engine)
    period = reference["period"].max()
    a = reference[reference["period"] == period].set_index("account_id").sort_index()
    b = pushed[pushed["period"] == period].set_index("account_id").sort_index()
    assert len(a) > 60 and len(b) == len(a)
    assert list(a["band"]) == list(b["band"])
    np.testing.assert_array_equal(a["score_shown"].to_numpy(), b["score_shown"].to_numpy())
    np.testing.assert_allclose(a["score"], b["score"], rtol=0, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("aggregate", ["mean", "min", "last", "trend"])
@pytest.mark.parametrize("bad", [float("inf"), float("-inf")])
def test_a_stored_infinity_is_refused_as_the_reference_refuses_it(
    load: Load, aggregate: str, bad: float
) -> None:
    from tests.engine_helpers import metric, model

    m = model({"usage": metric("s0", aggregate, 30, {"worst": 0, "best": 10})})
    assert_infinity_refused_alike(m, load, bad)


def _wide(signals: pd.DataFrame) -> pd.DataFrame:
    """The long rows as a wide table (a column per signal, NULL where a day has none)."""
    kept = signals[signals["valid_until"].isna()]
    wide = kept.pivot_table(index=["account_id", "date"], columns="signal", values="value")
    return wide.reset_index().rename_axis(columns=None)


@settings(max_examples=60, deadline=None)
@given(model=models(), portfolio=portfolios())
def test_a_wide_duckdb_table_scores_as_the_reference_does(model: Model, portfolio) -> None:
    """Parquet exports and warehouse tables are often wide: a column per signal."""
    accounts, signals = portfolio
    wide = _wide(signals)
    wide["date"] = pd.to_datetime(wide["date"])
    con = duckdb.connect()
    con.register("incoming", wide)
    con.execute("CREATE TABLE wide AS SELECT * FROM incoming")
    reference = _outcome_wide(model, accounts, wide)
    pushed = _outcome(model, accounts, SqlSource(DuckRunner(con), table="wide", layout="wide"))
    assert_same_scores(reference, pushed)


def _outcome_wide(model: Model, accounts: pd.DataFrame, wide: pd.DataFrame) -> object:
    try:
        return score_accounts(model, accounts, wide, AS_OF, layout="wide")
    except (ConfigError, DataError) as error:
        return type(error)


@pytest.mark.parametrize("aggregate", ["min", "last", "days_since"])
def test_an_infinity_in_a_wide_column_is_found_and_named(aggregate: str) -> None:
    """The cheap screen trips, the precise check names the metric and the account."""
    from tests.engine_helpers import metric, model

    m = model({"usage": metric("s0", aggregate, 30, {"worst": 0, "best": 10})})
    wide = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "date": pd.to_datetime([AS_OF, AS_OF - pd.Timedelta(days=2), AS_OF]),
            "s0": [1.0, float("inf"), 2.0],
        }
    )
    con = duckdb.connect()
    con.register("incoming", wide)
    con.execute("CREATE TABLE wide AS SELECT * FROM incoming")
    accounts = pd.DataFrame({"account_id": ["a", "b"]})
    with pytest.raises(DataError) as reference:
        score_accounts(m, accounts, wide, AS_OF, layout="wide")
    with pytest.raises(DataError) as pushed:
        score_accounts(m, accounts, SqlSource(DuckRunner(con), table="wide", layout="wide"), AS_OF)
    assert str(pushed.value) == str(reference.value)
    assert "account 'a'" in str(pushed.value)


@settings(max_examples=30, deadline=None)
@given(model=models(), portfolio=portfolios())
def test_a_wide_sqlite_table_scores_as_the_reference_does(model: Model, portfolio) -> None:
    """SQLite has no arg-max that honours a filter: `last` ranks the window's rows there."""
    import tempfile

    import ibis

    from scoring.store import make_engine

    accounts, signals = portfolio
    wide = _wide(signals)
    for name in ("s0", "s1", "s2"):
        if name not in wide:
            wide[name] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/wide.db")
        stored = wide.assign(date=pd.to_datetime(wide["date"]).dt.strftime("%Y-%m-%d"))
        stored.to_sql("wide", engine, index=False)
        schema = ibis.schema(
            {
                "account_id": "string",
                "date": "date",
                "s0": "float64",
                "s1": "float64",
                "s2": "float64",
            }
        )
        source = SqlSource(EngineRunner(engine, schema), table="wide", layout="wide")
        pushed = _outcome(model, accounts, source)
        engine.dispose()
    reference = _outcome_wide(model, accounts, wide.assign(date=pd.to_datetime(wide["date"])))
    assert_same_scores(reference, pushed)
