"""`healthbot score` and `calibrate --advise` with a model whose signals are read in place (a
DuckDB file's table): scores stored as with copied rows, nothing copied, and the advisor
weighing the table's signals (backtest and calibrate: tests/test_in_place_backtest.py; the
advisor's numbers against copied rows: tests/test_in_place_advise.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.cli import main
from scoring.batch.jobs import score_and_store
from scoring.config import parse_model
from scoring.sample import generate_portfolio
from scoring.store import ensure_schema, make_engine
from scoring.store.frames_io import load_frames

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
    (tmp_path / "healthbot.yml").write_text(yaml.safe_dump(raw))
    engine = make_engine(f"sqlite:///{tmp_path / 'healthbot.db'}")
    ensure_schema(engine)
    load_frames(engine, portfolio.accounts, portfolio.signals.iloc[:0], portfolio.outcomes, END)
    engine.dispose()
    copied = make_engine(f"sqlite:///{tmp_path / 'copied.db'}")
    ensure_schema(copied)
    load_frames(copied, portfolio.accounts, portfolio.signals, portfolio.outcomes, END)
    raw.pop("sources")
    score_and_store(copied, parse_model(yaml.safe_dump(raw)), [END])
    copied.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'healthbot.db'}")
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    return tmp_path


def _rows(path: Path, sql: str) -> list[tuple]:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def test_score_reads_the_table_in_place_and_copies_nothing(cli, capsys) -> None:
    assert main(["score", "--as-of", END.isoformat()]) == 0
    assert "76 accounts scored; 4 churned left out" in capsys.readouterr().out
    snapshot = "select account_id, score_shown, band from score_snapshots order by account_id"
    assert _rows(cli / "healthbot.db", snapshot) == _rows(cli / "copied.db", snapshot)
    assert _rows(cli / "healthbot.db", "select count(*) from signals") == [(0,)]


def test_advise_reads_in_place_sources_and_copies_nothing(cli, capsys) -> None:
    assert main(["calibrate", "--advise", "--horizon-days", "28", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["auc"]) == {"current", "proposal", "baseline"}
    assert out["candidates"] > 0 and out["accounts"] > 0
    assert _rows(cli / "healthbot.db", "select count(*) from signals") == [(0,)]


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
    assert _rows(cli / "healthbot.db", "select count(*) from score_snapshots") == [(0,)]


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
