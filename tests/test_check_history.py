"""`healthbot check --history [--compare]`: a dry run of the alert rules over stored weeks.

On both backends: generated history is loaded and scored for a few weeks, then the command
replays them. It must print what each rule would have sent and to whom, agree with the replay
module it drives, and change nothing in the database (every table dumped before and after).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from scoring.batch.jobs import score_and_store
from scoring.config import load_model
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.store import load_accounts
from scoring.store.frames_io import load_frames
from scoring.validation.replay import replay_weeks
from tests.db_fixtures import dump_tables

END = dt.date(2026, 6, 28)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
WEEKS = 4


@pytest.fixture
def stored(engine: Engine, db_url: str, tmp_path: Path, monkeypatch) -> Path:
    """120 generated accounts, four scored weeks, and the demo model file in a work dir."""
    portfolio = generate_portfolio(seed=5, accounts=120, weeks=30, end=END)
    load_frames(engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END)
    model = load_model(DEMO_MODEL)
    score_and_store(engine, model, weekly_as_ofs(END - dt.timedelta(weeks=WEEKS - 1), END))
    (tmp_path / "healthbot.yml").write_text(DEMO_MODEL.read_text())
    strict = DEMO_MODEL.read_text().replace("score_drop: 10 ", "score_drop: 30 ")
    assert strict != DEMO_MODEL.read_text()
    (tmp_path / "strict.yml").write_text(strict)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("HEALTHBOT_CONFIG", raising=False)
    return tmp_path


def test_history_prints_each_week_and_writes_nothing(stored, engine, capsys) -> None:
    before = dump_tables(engine)
    assert main(["check", "--history", "--weeks", "3"]) == 0
    out = capsys.readouterr().out
    assert dump_tables(engine) == before
    assert "over 3 stored weeks" in out
    periods = [line.split(" ")[0] for line in out.splitlines() if "(as of " in line]
    assert periods == ["2026-W24", "2026-W25", "2026-W26"]
    model = load_model(DEMO_MODEL)
    accounts = load_accounts(engine)
    from scoring.store.reads import load_signals

    signals = load_signals(engine, END - dt.timedelta(days=400), END)
    replay = replay_weeks(model, accounts, signals, weekly_as_ofs(END - dt.timedelta(14), END))
    last = replay.weeks[-1].delivered
    health = last[last["rule"].isin(["score_drop", "band_downgrade", "metric_drop"])]
    assert f"2026-W26 (as of 2026-06-28): {health['account_id'].nunique()} of" in out
    names = dict(zip(accounts["account_id"], accounts["name"], strict=True))
    for account in last["account_id"].head(5):
        assert names[account] in out  # to whom: listed under its owner


def test_compare_shows_both_files_and_the_difference(stored, engine, capsys) -> None:
    before = dump_tables(engine)
    assert main(["check", "--history", "--weeks", "2", "--compare", "strict.yml"]) == 0
    out = capsys.readouterr().out
    assert dump_tables(engine) == before
    assert "healthbot.yml  strict.yml" in out
    found = re.search(r"With strict.yml: (\d+) alerts? in 2026-W26 instead of (\d+)\.", out)
    assert found, out
    after, was = int(found.group(1)), int(found.group(2))
    assert after <= was  # a higher score_drop threshold can only alert fewer accounts


def test_bad_options_are_one_line(stored, capsys) -> None:
    assert main(["check", "--history", "--weeks", "0"]) != 0
    assert capsys.readouterr().err.strip() == "healthbot: --weeks must be at least 1, got 0"
    assert main(["check", "--history", "--compare", "missing.yml"]) != 0
    assert capsys.readouterr().err.strip() == "healthbot: --compare: no model file at missing.yml"


def test_the_replay_decides_as_on_every_stored_row(stored, engine) -> None:
    """The command's one read (each signal's own window, on SQLite through the primary key)
    decides every week exactly as a replay over every stored row read by plain date range."""
    from bot.cli.replayed_history import load_replay_inputs, replay_stored_weeks
    from scoring.store.reads import load_signals

    model = load_model(DEMO_MODEL)
    as_ofs = weekly_as_ofs(END - dt.timedelta(weeks=WEEKS - 1), END)
    inputs = load_replay_inputs(engine, [model], as_ofs)
    got = replay_stored_weeks(inputs, model, inputs.spans[0], as_ofs, reasons=True)
    everything = load_signals(engine, END - dt.timedelta(days=400), END)
    assert len(everything) > len(inputs.signals)  # the reference reads more than it needs
    want = replay_weeks(
        model,
        load_accounts(engine),
        everything,
        as_ofs,
        inputs.history,
        lookback=inputs.spans[0],
        with_reasons=True,
    )
    assert len(want.frame("fired")) > 0
    for which in ("fired", "delivered"):
        pd.testing.assert_frame_equal(got.frame(which), want.frame(which), check_exact=True)
    assert [(w.held_back, w.overflow, w.scored) for w in got.weeks] == [
        (w.held_back, w.overflow, w.scored) for w in want.weeks
    ]
