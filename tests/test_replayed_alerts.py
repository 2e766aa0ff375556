"""A replayed alert history (the demo's twelve weeks) leaves the store as weekly runs would.

On both backends: five generated weeks are scored; the second to fourth are replayed into the store
(`record_replayed_alerts`), then the real weekly run decides the fourth. It must decide exactly
what one continuous replay of the four weeks decides, so the cooldown really starts from the
replayed weeks, and the store must hold what that replay showed in the first three.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.cli.replayed_history import (
    load_replay_inputs,
    record_replayed_alerts,
    replay_stored_weeks,
)
from bot.delivery.terminal import TerminalTransport
from bot.jobs.weekly import run_weekly
from scoring.batch.jobs import score_and_store
from scoring.config import load_model
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.store.frames_io import load_frames

END = dt.date(2026, 6, 28)
DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"


def rows(engine: Engine, sql: str) -> set[tuple]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.exec_driver_sql(sql)}


def test_a_weekly_run_after_a_replayed_history_decides_as_one_continuous_replay(
    engine: Engine, tmp_path: Path
) -> None:
    portfolio = generate_portfolio(seed=5, accounts=160, weeks=30, end=END)
    load_frames(engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END)
    model = load_model(DEMO_MODEL)
    # A week more is stored than replayed: the band rule reads the runs before each week.
    scored = weekly_as_ofs(END - dt.timedelta(weeks=4), END)
    score_and_store(engine, model, scored)
    as_ofs = scored[1:]
    inputs = load_replay_inputs(engine, [model], as_ofs)
    continuous = replay_stored_weeks(inputs, model, inputs.spans[0], as_ofs, reasons=True)

    stored = record_replayed_alerts(engine, model, as_ofs[:-1])

    first = continuous.weeks[:-1]
    expected = {
        (w.period, str(a), r)
        for w in first
        for a, r in zip(w.shown_alerts["account_id"], w.shown_alerts["rule"], strict=True)
    }
    assert stored == len(expected) > 0
    assert rows(engine, "SELECT period, account_id, rule FROM alert_log") == expected
    assert rows(engine, "SELECT period, account_id, how FROM alert_shown") == {
        (p, a, "replayed") for p, a, _ in expected
    }

    terminal = TerminalTransport(tmp_path / "out", io.StringIO())
    run_weekly(engine, model, tmp_path, END, terminal, sync=False)
    last = continuous.weeks[-1]
    printed = rows(engine, f"SELECT account_id FROM alert_shown WHERE period = '{last.period}'")
    assert printed == {(str(a),) for a in last.delivered["account_id"]}
    assert last.held_back > 0  # the replayed weeks' alerts held some of this week's back
    # Stopped feeds (scoring/decisions/feed_stale.py) are judged alike: the weekly run from the
    # freshness stored with the period, the replay from its own rows.
    sql = "SELECT account_id, reason FROM alert_log WHERE rule = 'stale' AND period = '{}'"
    weekly_stale = rows(engine, sql.format(last.period))
    replayed = last.delivered[last.delivered["rule"] == "stale"]
    assert weekly_stale == set(zip(replayed["account_id"], replayed["reason"], strict=True))
    everything = rows(engine, "SELECT reason FROM alert_log WHERE rule = 'stale'") | {
        (r,) for w in continuous.weeks for r in w.fired["reason"]
    }
    assert any("no data since" in r for (r,) in everything)  # the portfolio has stopped feeds
