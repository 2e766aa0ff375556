"""An account that loses its score (falls into insufficient data) tells its owner once, as a
data notice, saying which data is missing and what to do; its card says the same."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from bot.jobs.weekly import run_weekly
from bot.messages.render import PLAIN, render_text
from bot.slack.cards import account_card
from scoring.decisions.alert_schema import HEALTH_RULES, NOTICE_RULES
from scoring.decisions.lost_score import lost_score_notices
from tests.pipeline_fixtures import END, demo_model, owners, prepare
from tests.test_pipeline import dm_texts, workspace


def test_only_an_account_that_had_a_score_last_week_gets_the_notice() -> None:
    model = demo_model()
    keys = model.metric_keys
    scores = pd.DataFrame(
        {
            "account_id": ["lost", "never", "fine"],
            "band": ["insufficient_data", "insufficient_data", "healthy"],
            "previous_score": [59.2, None, 81.0],
            "previous_band": ["at_risk", None, "healthy"],
            "completeness": [0.3, 0.1, 1.0],
        }
    )
    metrics = pd.DataFrame(
        {
            "account_id": "lost",
            "metric": keys,
            "has_data": [i == 0 for i in range(len(keys))],
            "weight": 1.0,
        }
    )
    [notice] = lost_score_notices(model, scores, metrics).to_dict("records")
    assert (notice["account_id"], notice["rule"], notice["severity"]) == (
        "lost",
        "lost_score",
        "data",
    )
    missing = ", ".join(model.metrics[k].label for k in keys[1:])
    assert notice["reason"] == (
        f"No score this week (it was 59.2): no data for {missing} (30% of the weight has data,"
        " a score needs 50% of it). Check that these sources still sync, or add a CSM note."
    )
    assert "lost_score" in NOTICE_RULES and "lost_score" not in HEALTH_RULES


def test_the_owner_is_told_once_and_the_card_explains(engine, slack_double) -> None:
    prepared = prepare(engine)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, Path("."), END - timedelta(days=7), transport, sync=False)
    accounts = prepared.portfolio.accounts
    victim = accounts.iloc[0]
    with engine.begin() as conn:  # its feeds stopped after last week's run
        conn.execute(
            sa.text("DELETE FROM signals WHERE account_id = :a AND date > :d"),
            {"a": victim["account_id"], "d": END - timedelta(days=120)},
        )
    slack_double.reset()
    result = run_weekly(engine, prepared.model, Path("."), END, transport, sync=False)
    joined = "\n".join(t for v in dm_texts(slack_double).values() for t in v)
    assert f"{victim['name']} (" in joined and "No score this week (it was " in joined
    with engine.connect() as conn:
        rules = (
            conn.execute(
                sa.text("SELECT rule FROM alert_log WHERE account_id = :a AND period = '2026-W47'"),
                {"a": victim["account_id"]},
            )
            .scalars()
            .all()
        )
    assert "lost_score" in rules and not set(rules) & set(HEALTH_RULES)
    assert result.notices >= 1  # counted as a notice (NOTICE_RULES), not a health alert

    card = account_card(engine, prepared.model, str(victim["account_id"]))
    text = render_text("card", PLAIN, **card)
    assert "Why there is no score: no data for " in text and "What to do: check that" in text
    assert "Playbook:" not in text and "• —" not in text
