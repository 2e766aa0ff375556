"""`healthbot backtest` and `calibrate` on signals read in place (a warehouse `table`
source): the same report as with the same rows copied into healthbot's database, on a DuckDB
file, a PostgreSQL table and a model whose signals are split between a table and the store;
nothing is copied, and each period asks the warehouse a bounded number of queries."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from bot.cli import main
from bot.cli.demo import demo_model_path
from scoring.config import parse_model
from scoring.sample import generate_portfolio
from scoring.store.frames_io import load_frames
from tests.databases import migrated_database
from tests.pipeline_fixtures import END
from tests.test_in_place_weekly import (  # noqa: F401 (fixtures)
    _drop_pg_tables,
    _place,
    _signal_rows,
    warehouse_pg,
)

# 14 weeks whose 8-week horizons see the portfolio's three churns
WEEKS = ["--from", str(END - timedelta(weeks=20)), "--to", str(END - timedelta(weeks=7))]
OPTIONS = [*WEEKS, "--horizon-days", "56", "--json"]


def _portfolio() -> Any:
    """The pipeline tests' portfolio with, inside the backtested weeks, five champions who
    leave and one account whose feed stops: every rule that reads signals has something to
    find in the periods replayed."""
    portfolio = generate_portfolio(seed=7, accounts=60, end=END)
    ids = sorted(portfolio.accounts["account_id"])
    signals = portfolio.signals
    stop = pd.Timestamp(END - timedelta(weeks=12))
    signals = signals[(signals["account_id"] != ids[10]) | (signals["date"] < stop)]
    flags = [(a, END - timedelta(120), 1.0) for a in ids]
    flags += [(a, END - timedelta(75), 0.0) for a in ids[:5]]
    champion = pd.DataFrame(flags, columns=["account_id", "date", "value"])
    champion = champion.assign(signal="champion_status", date=pd.to_datetime(champion["date"]))
    return dataclasses.replace(portfolio, signals=pd.concat([signals, champion], ignore_index=True))


def _model_file(folder: Path, sources: list[dict[str, Any]] | None) -> None:
    """The demo model with champion_left and stale on, so every rule that reads signals is
    backtested (and the in-place source, if any)."""
    raw = yaml.safe_load(demo_model_path().read_text())
    raw.pop("sources", None)
    raw["alerts"]["champion_left"] = {}
    raw["alerts"].setdefault("stale_days", 14)
    if sources:
        raw["sources"] = sources
    (folder / "healthbot.yml").write_text(yaml.safe_dump(raw))


def _run(folder: Path, args: list[str], capsys, monkeypatch) -> dict[str, Any]:
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'healthbot.db'}")
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _reports(folder: Path, capsys, monkeypatch) -> dict[str, Any]:
    backtest = _run(folder, ["backtest", *OPTIONS, "--replay-weeks", "4"], capsys, monkeypatch)
    proposal = folder / "proposed.yml"
    calibrate = _run(
        folder, ["calibrate", *OPTIONS, "--output", str(proposal)], capsys, monkeypatch
    )
    calibrate.pop("proposed_file")  # paths differ; the proposal's text is compared instead
    calibrate.pop("diff")
    text = yaml.safe_load(proposal.read_text()) if proposal.exists() else None
    if text is not None:
        text.pop("sources", None)  # the one line that differs: where the signals are
    return {"backtest": backtest, "calibrate": calibrate, "proposal": text}


def copied_then_placed(
    kind: str,
    tmp_path: Path,
    portfolio: Any,
    request: pytest.FixtureRequest,
    write_model: Callable[[Path, list | None], object],
    run: Callable[[Path], dict],
) -> tuple[dict, dict]:
    """`run` on the portfolio copied into the store, then with `kind`'s signals read in place
    (the rest copied): (expected, got). Checks that no in-place row was copied."""
    pg = request.getfixturevalue("warehouse_pg") if kind == "postgres" else None
    copied, placed = tmp_path / "copied", tmp_path / "placed"
    copied.mkdir(), placed.mkdir()
    with migrated_database("sqlite", copied) as (_, engine):
        load_frames(
            engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END + timedelta(1)
        )
    write_model(copied, None)
    expected = run(copied)
    source = _place(kind, tmp_path, portfolio.signals, pg)
    in_place = source.get("signals")
    everything = portfolio.signals
    rest = (
        everything.iloc[:0]
        if in_place is None
        else everything[~everything["signal"].isin(in_place)]
    )
    with migrated_database("sqlite", placed) as (_, engine):
        load_frames(engine, portfolio.accounts, rest, portfolio.outcomes, END + timedelta(1))
        write_model(placed, [source])
        got = run(placed)
        assert _signal_rows(engine) == len(rest), "in-place rows are never copied"
    return expected, got


@pytest.mark.parametrize(
    "kind", ["duckdb", "mixed", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_backtest_and_calibrate_in_place_equal_copied_rows(
    kind, tmp_path, request, capsys, monkeypatch
):
    portfolio = _portfolio()
    expected, got = copied_then_placed(
        kind,
        tmp_path,
        portfolio,
        request,
        _model_file,
        lambda folder: _reports(folder, capsys, monkeypatch),
    )
    assert got["backtest"] == expected["backtest"]
    assert got["calibrate"] == expected["calibrate"]
    assert got["proposal"] == expected["proposal"]
    fired = {row["rule"] for row in expected["backtest"]["alerts"] if row["fired"]}
    assert {"metric_drop", "stale", "champion_left"} <= fired, fired  # in-place reads exercised
    assert expected["proposal"] is not None  # a proposal was written (and compared)


class CountingRunner:
    """A real runner on the warehouse that counts the queries it runs."""

    def __init__(self, url: str) -> None:
        from scoring.pushdown.in_place import connect

        self.runner = connect(url)
        self.dialect = self.runner.dialect
        self.queries = 0

    def table(self, name: str) -> Any:
        return self.runner.table(name)

    def frame(self, expr: Any) -> pd.DataFrame:
        self.queries += 1
        return self.runner.frame(expr)


def _queries_per_backtest(tmp_path: Path, accounts: int) -> int:
    """Warehouse queries of a 6-week backtest (2 replayed) of `accounts` accounts."""
    from scoring.batch.jobs import alert_signals
    from scoring.periods import weekly_as_ofs
    from scoring.pushdown.in_place import place_signals
    from scoring.validation.backtest import run_backtest

    portfolio = generate_portfolio(seed=7, accounts=accounts, end=END)
    folder = tmp_path / str(accounts)
    folder.mkdir()
    source = _place("duckdb", folder, portfolio.signals, None)
    _model_file(folder, [source])
    model = parse_model((folder / "healthbot.yml").read_text())
    runners: list[CountingRunner] = []

    def counted(url: str) -> CountingRunner:
        runners.append(CountingRunner(url))
        return runners[-1]

    placement = place_signals(model, alert_signals(model), connect_to=counted)
    as_ofs = weekly_as_ofs(END - timedelta(weeks=8), END - timedelta(weeks=3))
    empty = portfolio.signals.iloc[:0]
    run_backtest(
        model, portfolio.accounts, empty, portfolio.outcomes, as_ofs, 28, replay_weeks=2,
        placement=placement,
    )  # fmt: skip
    return sum(r.queries for r in runners)


def test_backtest_queries_per_period_do_not_grow_with_accounts(tmp_path):
    few, many = _queries_per_backtest(tmp_path, 20), _queries_per_backtest(tmp_path, 80)
    assert few == many  # per period, never per account
    # 6 periods and the warm-up: 68 today (scoring, the drop rule's weekly windows, champion,
    # stale), about ten per period
    assert many <= 7 * 12, many
