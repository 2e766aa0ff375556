"""Signals read in place on Apache Spark (local mode): each metric's freshness (the gaps by
`LAG`, a repeated date's zero gap made NULL) and the metric-drop rule's 7-day windows from one
GROUP BY (account, week) give what DuckDB gives and what one query per week gives. Without Java
or pyspark the test skips saying what is missing, and fails saying it when $CI is set."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from scoring.batch.jobs import alert_signals
from scoring.engine.aggregate_specs import AggregateSpec
from scoring.pushdown.in_place import Placement, place_signals
from tests.test_in_place_freshness import AFTER, AS_OF, _model, _rows
from tests.test_pushdown_spark import SPARK_URL, spark_runner

SPECS = [
    AggregateSpec("usage", "active_users", "mean", 7),
    AggregateSpec("usage rows", "active_users", "count", 7),
    AggregateSpec("tickets", "tickets_opened", "sum", 7, 0.0),
    AggregateSpec("features", "features_used", "last", 7),
    AggregateSpec("invoices", "invoices_overdue", "max", 7),
    AggregateSpec("quiet", "tickets_opened", "days_since", 7),
]
WEEKS = 4


def _spark_placement() -> Placement:
    spark = spark_runner()
    rows = _rows().assign(date=lambda f: f["date"].dt.date).astype(object)
    schema = "account_id string, signal string, date date, value double"
    spark.backend._session.createDataFrame(rows, schema).createOrReplaceTempView("usage_placed")
    model = _model({"kind": "signals", "url": SPARK_URL, "table": "usage_placed"})
    return place_signals(model, alert_signals(model), connect_to=lambda _: spark)


def _duckdb_placement(tmp_path: Path) -> Placement:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.register("frame", _rows())
        conn.execute("create table usage_placed as select * from frame")
    model = _model({"kind": "signals", "url": f"duckdb:///{path}", "table": "usage_placed"})
    return place_signals(model, alert_signals(model))


def test_in_place_freshness_and_weekly_windows_on_spark_equal_duckdb(tmp_path):
    ids = np.array(["a1", "a2", "a3"], dtype=object)
    found = {}
    for name, placement in [
        ("spark", _spark_placement()),
        ("duckdb", _duckdb_placement(tmp_path)),
    ]:
        fresh = placement.freshness(dict.fromkeys(placement.signals, AFTER), AS_OF)
        source = placement.parts[0].aggregates
        weeks = source.aggregate_weeks(SPECS, ids, AS_OF, WEEKS)
        assert weeks is not None, f"{name}: the weekly GROUP BY should apply"
        for k, week in enumerate(weeks):
            alone = source.aggregate(SPECS, ids, AS_OF - timedelta(days=7 * k))
            np.testing.assert_array_equal(week.raw, alone.raw, err_msg=f"{name} week {k}")
            np.testing.assert_array_equal(week.has, alone.has, err_msg=f"{name} week {k}")
        found[name] = (fresh.sort_values(["account_id", "signal"], ignore_index=True), weeks)
    spark_fresh, spark_weeks = found["spark"]
    duck_fresh, duck_weeks = found["duckdb"]
    pd.testing.assert_frame_equal(spark_fresh, duck_fresh, check_dtype=False)
    for ours, theirs in zip(spark_weeks, duck_weeks, strict=True):
        np.testing.assert_array_equal(ours.raw, theirs.raw)
    own = spark_fresh.set_index(["account_id", "signal"])["own"]
    assert own[("a1", "active_users")] == 2.0  # the repeated date's zero gap left out
    assert np.isfinite(spark_weeks[0].raw).any()  # the windows hold data
