"""The compiled model on Apache Spark (local mode) gives the reference engine's scores.

The same equality rules as tests/test_pushdown_equality.py, on one local Spark session per
module, with few hypothesis examples: a Spark query costs about a second on this machine
and the Spark part must stay well inside five minutes of CI time. Without Java or pyspark
the tests skip saying what is missing, and fail saying it when $CI is set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from scoring.config import Model
from scoring.engine.score import score_accounts
from scoring.errors import ConfigError, DataError, HealthbotError
from scoring.pushdown import SqlSource
from scoring.pushdown.connect import runner_for
from scoring.pushdown.runners import BackendRunner
from scoring.store.backends import spark_master, spark_missing
from tests.engine_helpers import metric, model
from tests.pushdown_cases import AS_OF, assert_infinity_refused_alike, models, portfolios
from tests.test_pushdown_equality import (
    _outcome,
    _outcome_wide,
    _typed,
    _wide,
    assert_same_scores,
)

# One thread and one shuffle partition: the test portfolios have ten accounts.
SPARK_URL = "pyspark://local[1]?spark.sql.shuffle.partitions=1&spark.default.parallelism=1"
LONG_SCHEMA = (
    "account_id string, signal string, date date, value double, source string, valid_until date"
)
LONG_SCHEMA_COLUMNS = [part.split()[0] for part in LONG_SCHEMA.split(", ")]
SIGNALS = ("s0", "s1", "s2")
# $HEALTHBOT_SPARK_EXAMPLES runs more examples on a developer's machine (CI: 12).
EXAMPLES = settings(
    max_examples=int(os.environ.get("HEALTHBOT_SPARK_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
Load = Callable[[pd.DataFrame], SqlSource]


def spark_runner() -> BackendRunner:
    """The process's Spark runner; what is missing fails the test in CI, skips it elsewhere."""
    missing = spark_missing()
    if missing:
        message = f"Spark tests cannot run: {missing}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    runner = runner_for(SPARK_URL)
    assert isinstance(runner, BackendRunner)
    return runner


@pytest.fixture(scope="module")
def spark() -> Iterator[BackendRunner]:
    """The module's Spark runner (see `spark_runner`)."""
    started = time.perf_counter()
    runner = spark_runner()
    print(f"Spark session started in {time.perf_counter() - started:.1f} s")
    yield runner  # the session lives as long as the process: runner_for reuses it


def _nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN as None: a missing cell is NULL in Spark, where NaN is a value."""
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture(scope="module")
def load(spark: BackendRunner) -> Load:
    """Replaces the `signals` view with a frame's rows (long layout) and returns its source."""
    session = spark.backend._session

    def to_spark(frame: pd.DataFrame) -> SqlSource:
        rows = _nulls(_typed(frame)[LONG_SCHEMA_COLUMNS])
        session.createDataFrame(rows, LONG_SCHEMA).createOrReplaceTempView("signals")
        return SqlSource(spark)

    return to_spark


def _wide_view(spark: BackendRunner, wide: pd.DataFrame) -> SqlSource:
    """The wide frame as the `wide` view: account_id, date, a double column per signal."""
    signals = [name for name in SIGNALS if name in wide]
    frame = pd.DataFrame(
        {
            "account_id": wide.get("account_id", pd.Series(dtype=object)),
            "date": pd.to_datetime(wide.get("date", pd.Series(dtype="datetime64[ns]"))).dt.date,
            **{name: wide[name].astype(float) for name in signals},
        }
    )
    schema = ", ".join(["account_id string", "date date", *(f"{s} double" for s in signals)])
    spark.backend._session.createDataFrame(_nulls(frame), schema).createOrReplaceTempView("wide")
    return SqlSource(spark, table="wide", layout="wide")


@EXAMPLES
@given(model=models(), portfolio=portfolios())
def test_spark_scores_a_long_table_as_the_reference_does(
    load: Load, model: Model, portfolio
) -> None:
    accounts, signals = portfolio
    reference = _outcome(model, accounts, signals.assign(date=pd.to_datetime(signals["date"])))
    pushed = _outcome(model, accounts, load(signals))
    assert_same_scores(reference, pushed)


@EXAMPLES
@given(model=models(), portfolio=portfolios())
def test_spark_scores_a_wide_table_as_the_reference_does(
    spark: BackendRunner, model: Model, portfolio
) -> None:
    accounts, signals = portfolio
    wide = _wide(signals)
    if len(wide):
        wide["date"] = pd.to_datetime(wide["date"])
    reference = _outcome_wide(model, accounts, wide)
    pushed = _outcome(model, accounts, _wide_view(spark, wide))
    assert_same_scores(reference, pushed)


@pytest.mark.parametrize("aggregate", ["mean", "min", "last", "trend"])
def test_a_stored_infinity_is_refused_on_spark_as_the_reference_refuses_it(
    load: Load, aggregate: str
) -> None:
    m = model({"usage": metric("s0", aggregate, 30, {"worst": 0, "best": 10})})
    assert_infinity_refused_alike(m, load, float("-inf") if aggregate == "min" else float("inf"))


@pytest.mark.parametrize("aggregate", ["min", "last", "days_since"])
def test_an_infinity_in_a_wide_spark_column_is_found_and_named(
    spark: BackendRunner, aggregate: str
) -> None:
    """The cheap screen trips on Spark too, and the precise check names metric and account."""
    m = model({"usage": metric("s0", aggregate, 30, {"worst": 0, "best": 10})})
    wide = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "date": pd.to_datetime([AS_OF, AS_OF - pd.Timedelta(days=2), AS_OF]),
            "s0": [1.0, float("inf"), 2.0],
        }
    )
    accounts = pd.DataFrame({"account_id": ["a", "b"]})
    with pytest.raises(DataError) as reference:
        score_accounts(m, accounts, wide, AS_OF, layout="wide")
    with pytest.raises(DataError) as pushed:
        score_accounts(m, accounts, _wide_view(spark, wide), AS_OF)
    assert str(pushed.value) == str(reference.value)
    assert "account 'a'" in str(pushed.value)


def test_a_wide_spark_nan_cell_is_no_row_as_in_the_reference(spark: BackendRunner) -> None:
    """A Parquet file written by pandas may hold NaN where a day has no value; Spark keeps
    NaN as a value (unlike NULL), the reference reads it as an empty cell."""
    m = model(
        {
            "usage": metric("s0", "mean", 30, {"worst": 0, "best": 10}),
            "latest": metric("s0", "last", 30, {"worst": 0, "best": 10}),
        }
    )
    wide = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "date": pd.to_datetime([AS_OF, AS_OF - pd.Timedelta(days=2), AS_OF]),
            "s0": [np.nan, 4.0, 2.0],
        }
    )
    accounts = pd.DataFrame({"account_id": ["a", "b"]})
    reference = score_accounts(m, accounts, wide, AS_OF, layout="wide")
    session = spark.backend._session
    session.sql(
        f"""SELECT account_id, CAST(day AS DATE) AS date, CAST(s0 AS DOUBLE) AS s0 FROM VALUES
        ('a', '{AS_OF}', 'NaN'), ('a', '{AS_OF - pd.Timedelta(days=2)}', '4'),
        ('b', '{AS_OF}', '2') AS t(account_id, day, s0)"""
    ).createOrReplaceTempView("wide_nan")
    kept = session.sql("SELECT count(*) AS n FROM wide_nan WHERE isnan(s0)").first()
    assert kept is not None and kept["n"] == 1  # a NaN, not a NULL
    pushed = score_accounts(m, accounts, SqlSource(spark, "wide_nan", "wide"), AS_OF)
    assert reference.metrics["raw"].tolist()[:2] == [4.0, 4.0]
    assert_same_scores(reference, pushed)


def test_the_spark_session_is_reused_within_a_process(spark: BackendRunner) -> None:
    again = runner_for(SPARK_URL)
    assert again.backend._session is spark.backend._session
    with pytest.raises(ConfigError, match=r"already runs Spark on local\[1\]"):
        runner_for("pyspark://local[2]")


def test_spark_urls_name_a_master_and_settings() -> None:
    assert spark_master("pyspark://local[2]") == ("local[2]", {})
    assert spark_master("spark://host:7077?spark.driver.memory=6g") == (
        "spark://host:7077",
        {"spark.driver.memory": "6g"},
    )
    with pytest.raises(ConfigError, match="names no Spark master"):
        spark_master("pyspark://")


def test_a_duckdb_url_gives_a_runner_on_that_file(tmp_path) -> None:
    path = tmp_path / "signals.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE signals AS SELECT 'a' AS account_id, 's0' AS signal")
    con.close()
    runner = runner_for(f"duckdb:///{path}?read_only=true")
    assert runner.dialect == "duckdb"
    assert list(runner.frame(runner.table("signals"))["account_id"]) == ["a"]
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        runner.backend.raw_sql("CREATE TABLE copied AS SELECT 1")  # read in place, never written


def test_a_url_that_cannot_connect_is_one_line_without_its_password() -> None:
    with pytest.raises(HealthbotError) as failed:
        runner_for("postgresql+psycopg://healthbot:s3cr3t-pw@127.0.0.1:9/warehouse")
    text = str(failed.value)
    assert text.startswith("cannot connect to signals URL postgresql+psycopg://healthbot:***@")
    assert "s3cr3t-pw" not in text and "\n" not in text


def test_a_url_without_a_scheme_or_backend_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="has no scheme"):
        runner_for("/data/signals.duckdb")
    with pytest.raises(HealthbotError, match="signals URL nosuchdb://x") as failed:
        runner_for("nosuchdb://x")
    assert "\n" not in str(failed.value)


@pytest.mark.parametrize("ci", ["true", ""])
def test_without_java_the_spark_tests_say_so_and_fail_only_in_ci(ci: str) -> None:
    """A real pytest run of this module on a PATH without java and no $JAVA_HOME."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "CI")}
    env["PATH"] = os.path.dirname(sys.executable)
    if ci:
        env["CI"] = ci
    run = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-rs", "-p", "no:cacheprovider"]
        + ["-k", "long_table"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    said = "Spark tests cannot run: Java is not installed"
    assert said in run.stdout, run.stdout[-2000:]
    if ci:
        assert run.returncode == 1 and "1 error" in run.stdout
    else:
        assert run.returncode == 0 and "1 skipped" in run.stdout


def test_a_model_file_reading_parquet_files_on_spark_scores_as_copied_rows(
    spark: BackendRunner, tmp_path, monkeypatch, capsys
) -> None:
    """The whole path a user takes: a model file whose signals are Parquet files read by
    Spark, validated by `healthbot sync` and scored by `healthbot score`, nothing copied."""
    from bot.cli import main
    from tests.test_in_place_files import END, SNAPSHOT, parquet_portfolio, rows

    parquet_portfolio(tmp_path, SPARK_URL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'healthbot.db'}")
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    assert main(["sync"]) == 0, capsys.readouterr().err
    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "warning" not in capsys.readouterr().err
    assert rows(tmp_path / "healthbot.db", SNAPSHOT) == rows(tmp_path / "copied.db", SNAPSHOT)
    assert rows(tmp_path / "healthbot.db", "select count(*) from signals") == [(0,)]
