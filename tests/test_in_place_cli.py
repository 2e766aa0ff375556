"""`healthbot score` and `calibrate --advise` with a model whose signals are read in place (a
DuckDB file's table): scores stored as with copied rows, nothing copied, and the advisor
weighing the table's signals (backtest and calibrate: tests/test_in_place_backtest.py; the
advisor's numbers against copied rows: tests/test_in_place_advise.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from scoring.sample import generate_portfolio
from tests.in_place_fixtures import app_and_copied, sqlite_rows

END = dt.date(2026, 6, 28)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"


@pytest.fixture
def cli(tmp_path, monkeypatch) -> Path:
    """A model file whose only signals source is a DuckDB table read in place, and a SQLite
    store with the accounts (and outcomes) but no signal rows."""
    import duckdb

    portfolio = generate_portfolio(seed=4, accounts=80, weeks=12, end=END)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.register("frame", portfolio.signals)
        conn.execute("create table events as select * from frame")
    raw = yaml.safe_load(DEMO_MODEL.read_text())
    raw["sources"] = [
        {"kind": "signals", "url": f"duckdb:///{tmp_path / 'warehouse.duckdb'}", "table": "events"}
    ]
    app_and_copied(tmp_path, portfolio, raw, END)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'healthbot.db'}")
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    return tmp_path


def test_score_reads_the_table_in_place_and_copies_nothing(cli, capsys) -> None:
    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "76 accounts scored; 4 churned left out" in capsys.readouterr().out
    snapshot = "select account_id, score_shown, band from score_snapshots order by account_id"
    assert sqlite_rows(cli / "healthbot.db", snapshot) == sqlite_rows(cli / "copied.db", snapshot)
    assert sqlite_rows(cli / "healthbot.db", "select count(*) from signals") == [(0,)]


def test_advise_reads_in_place_sources_and_copies_nothing(cli, capsys) -> None:
    assert main(["calibrate", "--advise", "--horizon-days", "28", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["auc"]) == {"current", "proposal", "baseline"}
    assert out["candidates"] > 0 and out["accounts"] > 0
    assert sqlite_rows(cli / "healthbot.db", "select count(*) from signals") == [(0,)]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"table": "no_such_table"}, "table no_such_table not found or not readable"),
        ({"columns": {"value": "amount"}}, "has no column amount (the columns are: "),
    ],
)
def test_a_table_that_cannot_be_read_is_one_line_and_nothing_is_stored(
    cli, capsys, change, words
) -> None:
    raw = yaml.safe_load((cli / "healthbot.yml").read_text())
    raw["sources"][0] |= change
    (cli / "healthbot.yml").write_text(yaml.safe_dump(raw))
    assert main(["score", "--as-of", END.isoformat()]) != 0
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sqlite_rows(cli / "healthbot.db", "select count(*) from score_snapshots") == [(0,)]


def test_score_warns_when_the_table_changed_since_the_sync_that_validated_it(cli, capsys) -> None:
    import duckdb

    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "was never validated by a sync; run: healthbot sync" in capsys.readouterr().err
    assert main(["sync"]) == 0
    capsys.readouterr()
    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "warning" not in capsys.readouterr().err
    with duckdb.connect(str(cli / "warehouse.duckdb")) as conn:
        conn.execute("update events set value = value + 1 where signal = 'active_users'")
    assert main(["score", "--as-of", END.isoformat()]) == 0
    err = capsys.readouterr().err
    assert 'warning: in-place source "' in err and "changed since the sync that validated it" in err
