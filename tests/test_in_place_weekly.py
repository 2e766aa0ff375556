"""Signals read in place (a warehouse `table` source): the weekly run scores, decides alerts
and records freshness exactly as with the same rows copied into healthbot's database, on a
DuckDB file and on a PostgreSQL table standing in for a warehouse, and copies nothing."""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery.terminal import TerminalTransport
from bot.jobs.weekly import run_weekly
from scoring.batch.jobs import score_and_store
from scoring.config import Model, parse_model
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.store import make_engine
from scoring.store.frames_io import load_frames
from tests.databases import migrated_database
from tests.pipeline_fixtures import END

ACCOUNTS = 60
HISTORY_WEEKS = 3


def _portfolio() -> Any:
    """The pipeline tests' portfolio, plus a champion flag (five champions leave in the last
    week) and one account whose feed stopped 20 days ago: every rule that reads signals has
    something to find."""
    portfolio = generate_portfolio(seed=7, accounts=ACCOUNTS, end=END)
    ids = sorted(portfolio.accounts["account_id"])
    signals = portfolio.signals
    signals = signals[
        (signals["account_id"] != ids[10]) | (signals["date"] < pd.Timestamp(END - timedelta(20)))
    ]
    flags = [(a, END - timedelta(40), 1.0) for a in ids] + [
        (a, END - timedelta(2), 0.0) for a in ids[:5]
    ]
    champion = pd.DataFrame(flags, columns=["account_id", "date", "value"])
    champion = champion.assign(signal="champion_status", date=pd.to_datetime(champion["date"]))
    return dataclasses.replace(portfolio, signals=pd.concat([signals, champion], ignore_index=True))


def _model(sources: list[dict[str, Any]] | None = None) -> Model:
    """The demo model with champion_left on (and the in-place source, if any)."""
    import yaml

    from bot.cli.demo import demo_model_path

    raw = yaml.safe_load(demo_model_path().read_text())
    raw.pop("sources", None)
    raw["alerts"]["champion_left"] = {}
    if sources:
        raw["sources"] = sources
    return parse_model(yaml.safe_dump(raw))


def _warehouse_long(signals: pd.DataFrame) -> pd.DataFrame:
    """The rows as a warehouse names them (`columns:` maps them back)."""
    return signals.rename(
        columns={"account_id": "acct", "date": "day", "signal": "metric", "value": "amount"}
    ).assign(day=lambda f: pd.to_datetime(f["day"]))


def _wide(signals: pd.DataFrame) -> pd.DataFrame:
    frame = signals.pivot_table(
        index=["account_id", "date"], columns="signal", values="value", aggfunc="first"
    )
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index().assign(date=lambda f: pd.to_datetime(f["date"]).dt.date)


@pytest.fixture
def warehouse_pg() -> Iterator[tuple[str, Engine]]:
    """(ibis URL, SQLAlchemy engine) of the PostgreSQL test server standing in for a
    warehouse; tables made here are dropped afterwards."""
    base = os.environ.get("HEALTHBOT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs $HEALTHBOT_TEST_POSTGRES_URL")
    engine = make_engine(base)
    url = sa.make_url(base)
    ibis_url = f"postgres://{url.username}@{url.host}:{url.port or 5432}/{url.database}"
    yield ibis_url, engine
    engine.dispose()


# "mixed": these signals in a DuckDB table (declared with `signals:`), the others copied
IN_PLACE_WHEN_MIXED = ["active_users", "champion_status", "tickets_opened"]


def _place(kind: str, tmp_path: Path, signals: pd.DataFrame, pg: Any) -> dict[str, Any]:
    """Write the signal rows where the model will read them in place; its source entry."""
    if kind == "mixed":
        source = _place("duckdb", tmp_path, signals, pg)
        return source | {"signals": IN_PLACE_WHEN_MIXED}
    if kind == "duckdb":
        import duckdb

        path = tmp_path / "warehouse.duckdb"
        frame = _warehouse_long(signals)
        with duckdb.connect(str(path)) as conn:
            conn.register("frame", frame)
            conn.execute("create table usage_events as select * from frame")
        return {
            "kind": "signals",
            "url": f"duckdb:///{path}",
            "table": "usage_events",
            "columns": {"account_id": "acct", "date": "day", "signal": "metric", "value": "amount"},
        }
    url, engine = pg
    name = f"hb_wh_{uuid.uuid4().hex[:10]}"
    _wide(signals).to_sql(name, engine, index=False)
    pg_tables.append((engine, name))
    return {"kind": "signals", "url": url, "table": name, "layout": "wide"}


pg_tables: list[tuple[Engine, str]] = []


@pytest.fixture(autouse=True)
def _drop_pg_tables() -> Iterator[None]:
    yield
    while pg_tables:
        engine, name = pg_tables.pop()
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


def _weeks(engine: Engine, model: Model, out: Path) -> list[Any]:
    """History scored as `prepare` does, then two weekly runs (the second alerts)."""
    start = END - timedelta(days=7 * (HISTORY_WEEKS + 1))
    score_and_store(engine, model, weekly_as_ofs(start, END - timedelta(days=14)))
    transport = TerminalTransport(out, io.StringIO())
    return [
        run_weekly(engine, model, Path("."), as_of, transport, sync=False)
        for as_of in (END - timedelta(days=7), END)
    ]


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "snapshots": "select period, account_id, score_shown, band, completeness"
        " from score_snapshots order by period, account_id",
        "scores": "select score from score_snapshots order by period, account_id",
        "metrics": "select period, account_id, metric, raw, has_data"
        " from snapshot_metrics order by period, account_id, metric",
        "alerts": "select period, account_id, rule, reason from alert_log"
        " order by period, account_id, rule",
    }
    with engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(sa.text(q))] for k, q in queries.items()}


def _freshness(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text("select * from metric_freshness"), conn)
    keep = [c for c in frame.columns if c not in ("id", "created_at", "updated_at")]
    return frame[keep].sort_values(keep[:3]).reset_index(drop=True)


def _signal_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("select count(*) from signals")).scalar_one())


@pytest.mark.parametrize(
    "kind", ["duckdb", "mixed", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_weekly_run_in_place_equals_copied_rows(kind, tmp_path, request):
    portfolio = _portfolio()
    pg = request.getfixturevalue("warehouse_pg") if kind == "postgres" else None
    for sub in ("copied", "placed"):
        (tmp_path / sub).mkdir()
    with migrated_database("sqlite", tmp_path / "copied") as (_, copied):
        load_frames(
            copied, portfolio.accounts, portfolio.signals, portfolio.outcomes, END + timedelta(1)
        )
        copied_runs = _weeks(copied, _model(), tmp_path / "out-copied")
        expected, expected_fresh = _stored(copied), _freshness(copied)
    source = _place(kind, tmp_path, portfolio.signals, pg)
    in_place = source.get("signals")
    everything = portfolio.signals
    copied_part = (
        everything.iloc[:0]
        if in_place is None
        else everything[~everything["signal"].isin(in_place)]
    )
    with migrated_database("sqlite", tmp_path / "placed") as (_, placed):
        load_frames(
            placed,
            portfolio.accounts,
            copied_part,
            portfolio.outcomes,
            END + timedelta(1),
        )
        placed_runs = _weeks(placed, _model([source]), tmp_path / "out-placed")
        got, got_fresh = _stored(placed), _freshness(placed)
        assert _signal_rows(placed) == len(copied_part), "in-place rows are never copied"
        # The run records which sync validated each table it read (none here: never synced).
        [(label, validated)] = placed_runs[-1].in_place["in_place_validated_by"].items()
        assert validated is None
        [warning] = placed_runs[-1].in_place["in_place_changes"]
        assert f'in-place source "{label}"' in warning and "never validated" in warning
    rules = {r[2] for r in expected["alerts"]}
    assert {"metric_drop", "stale", "champion_left"} <= rules, (
        rules
    )  # the in-place reads are exercised
    assert [r.alerts for r in placed_runs] == [r.alerts for r in copied_runs]
    for key in ("snapshots", "metrics", "alerts"):
        assert got[key] == expected[key], key
    # the unrounded score within 1e-9 (sums add up in another order), as issue #20 allows
    assert [r[0] for r in got["scores"]] == pytest.approx(
        [r[0] for r in expected["scores"]], abs=1e-9, nan_ok=True
    )
    pd.testing.assert_frame_equal(got_fresh, expected_fresh)
