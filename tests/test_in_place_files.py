"""Signals that sit in Parquet files (a data lake) read in place: `table:` names the files,
the backend (DuckDB in memory here; Spark in tests/test_pushdown_spark.py) reads them where
they are. Sync validates them without copying a row, and `healthbot score` stores the same
snapshots as from copied rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from scoring.config import parse_model
from scoring.errors import ConfigError
from scoring.sample import generate_portfolio
from tests.in_place_fixtures import app_and_copied, sqlite_rows

END = dt.date(2026, 6, 28)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
SNAPSHOT = "select account_id, score_shown, band from score_snapshots order by account_id"


def parquet_portfolio(folder: Path, url: str) -> Path:
    """Signals split over two Parquet files in `folder/lake/`, a model file whose one signals
    source reads them in place through `url`, an app database with the accounts only, and
    `copied.db` scored from the same rows copied (the reference). Returns the model file."""
    portfolio = generate_portfolio(seed=4, accounts=80, weeks=12, end=END)
    lake = folder / "lake"
    lake.mkdir()
    # Days as Parquet DATE, as a lake's writers (Spark among them) store them.
    signals = portfolio.signals.sort_values("date", kind="stable")
    signals = signals.assign(date=signals["date"].dt.date)
    half = len(signals) // 2
    signals.iloc[:half].to_parquet(lake / "part-0.parquet", index=False)
    signals.iloc[half:].to_parquet(lake / "part-1.parquet", index=False)
    raw = yaml.safe_load(DEMO_MODEL.read_text())
    raw["sources"] = [{"kind": "signals", "url": url, "table": f"{lake}/*.parquet"}]
    return app_and_copied(folder, portfolio, raw, END)


rows = sqlite_rows


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Path:
    parquet_portfolio(tmp_path, "duckdb://")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'healthbot.db'}")
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    return tmp_path


def test_sync_validates_parquet_files_in_place_and_score_equals_copied_rows(lake, capsys) -> None:
    assert main(["sync"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "warning" not in capsys.readouterr().err  # validated by the sync just run
    assert rows(lake / "healthbot.db", SNAPSHOT) == rows(lake / "copied.db", SNAPSHOT)
    assert len(rows(lake / "healthbot.db", SNAPSHOT)) > 50
    assert rows(lake / "healthbot.db", "select count(*) from signals") == [(0,)]


def test_parquet_files_that_are_not_there_are_one_line_and_nothing_is_stored(lake, capsys) -> None:
    raw = yaml.safe_load((lake / "healthbot.yml").read_text())
    raw["sources"][0]["table"] = f"{lake}/nowhere/*.parquet"
    (lake / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["score", "--as-of", END.isoformat()]) != 0
    err = capsys.readouterr().err
    assert f"{lake}/nowhere/*.parquet" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert rows(lake / "healthbot.db", "select count(*) from score_snapshots") == [(0,)]


def test_a_relative_parquet_path_is_refused_when_the_model_loads() -> None:
    raw = yaml.safe_load(DEMO_MODEL.read_text())
    raw["sources"] = [{"kind": "signals", "url": "duckdb://", "table": "lake/*.parquet"}]
    with pytest.raises(ConfigError, match="relative path") as caught:
        parse_model(yaml.safe_dump(raw))
    assert "lake/*.parquet" in str(caught.value)


def test_a_table_the_backend_cannot_read_through_is_one_line_and_sync_changes_nothing(
    lake, capsys
) -> None:
    """A view whose rows fail only when read (a text column cast to a number): the schema
    looks right, the backend's error comes mid-check, and the user gets one line."""
    import duckdb

    with duckdb.connect(str(lake / "warehouse.duckdb")) as conn:
        conn.execute(
            "create table raw as select account_id, signal, date, value::varchar as value_text"
            f" from read_parquet('{lake}/lake/*.parquet')"
        )
        conn.execute("update raw set value_text = 'n/a' where rowid = 5")
        conn.execute(
            "create view events as select account_id, signal, date,"
            " value_text::double as value from raw"
        )
    raw = yaml.safe_load((lake / "healthbot.yml").read_text())
    raw["sources"][0] |= {"url": f"duckdb:///{lake / 'warehouse.duckdb'}", "table": "events"}
    (lake / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["sync"]) != 0
    err = capsys.readouterr().err
    assert "could not run healthbot's checks on table events" in err and "n/a" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert rows(lake / "healthbot.db", "select count(*) from runs") == [(0,)]
    assert rows(lake / "healthbot.db", "select count(*) from in_place_syncs") == [(0,)]


def test_a_source_url_without_a_scheme_is_one_line_at_sync(lake, capsys) -> None:
    raw = yaml.safe_load((lake / "healthbot.yml").read_text())
    raw["sources"][0]["url"] = "lakehouse"
    (lake / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["sync"]) != 0
    err = capsys.readouterr().err
    assert "signals URL 'lakehouse' has no scheme" in err and "Traceback" not in err
    assert rows(lake / "healthbot.db", "select count(*) from runs") == [(0,)]
