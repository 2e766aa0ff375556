"""CSM judgement as signals and audited overrides (domain and store; Slack modals elsewhere)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from scoring.decisions.overrides import active_overrides, apply_overrides, expired_overrides
from scoring.engine.score import score_accounts
from scoring.store import load_accounts, load_signals
from scoring.store.audit_trail import audit_trail
from scoring.store.csm_inputs import add_note, load_csm_inputs
from scoring.store.overrides import add_override
from tests.engine_helpers import AS_OF, accounts, metric, model, signals

SENTIMENT_MODEL = {
    "usage": metric("usage", weight=50),
    "sentiment": metric("csm_sentiment", "last", 90, {"worst": 1, "best": 5}, weight=50),
}


def seed(engine: Engine) -> None:
    from scoring.store.frames_io import load_frames

    frame = accounts("a", "b", name=["Acme", "Beta"], owner_email=["x@e.com", "y@e.com"])
    load_frames(
        engine,
        frame,
        signals([("a", 1, "usage", 80), ("b", 1, "usage", 80)]),
        pd.DataFrame(columns=["account_id", "date", "outcome"]),
        AS_OF,
    )


def test_a_note_becomes_signals_the_next_score_uses_until_it_expires(engine):
    seed(engine)
    add_note(
        engine,
        "a",
        reason="New VP dislikes us",
        entered_on=AS_OF - timedelta(days=2),
        valid_until=AS_OF + timedelta(days=10),
        sentiment=1,
        champion_status=0,
        user_id="U1",
        user_email="x@e.com",
    )
    m = model(SENTIMENT_MODEL, min_completeness=0)
    rows = load_signals(engine, AS_OF - timedelta(days=90), AS_OF + timedelta(days=30))
    assert set(rows[rows["account_id"] == "a"]["signal"]) >= {"csm_sentiment", "champion_status"}
    now = score_accounts(m, load_accounts(engine), rows, AS_OF).accounts.set_index("account_id")
    assert now.loc["a", "score"] == pytest.approx(40.0)  # (80 + 0) / 2
    later = AS_OF + timedelta(days=11)
    after = score_accounts(m, load_accounts(engine), rows, later)
    metrics = after.metrics.set_index(["account_id", "metric"])
    assert not metrics.loc[("a", "sentiment"), "has_data"]  # the note expired
    assert after.accounts.set_index("account_id").loc["a", "score"] == pytest.approx(80.0)


def test_overrides_apply_while_in_force_and_keep_the_computed_score(engine):
    seed(engine)
    add_override(
        engine,
        "b",
        score=35,
        reason="Lost the renewal call",
        entered_on=AS_OF,
        valid_until=AS_OF + timedelta(days=7),
        max_days=90,
        user_email="y@e.com",
    )
    inputs = load_csm_inputs(engine)
    m = model({"usage": metric("usage")})
    computed = score_accounts(
        m, load_accounts(engine), signals([("b", 0, "usage", 90)]), AS_OF
    ).accounts
    live = active_overrides(inputs, AS_OF)
    effective = apply_overrides(m, computed, live).set_index("account_id")
    assert effective.loc["b", "score_shown"] == 35.0 and effective.loc["b", "band"] == "critical"
    assert effective.loc["b", "computed_score"] == 90.0
    assert effective.loc["b", "computed_band"] == "healthy"
    assert effective.loc["b", "override_id"] == inputs["id"].iloc[0]
    assert active_overrides(inputs, AS_OF + timedelta(days=8)).empty
    gone = expired_overrides(inputs, AS_OF + timedelta(days=7), AS_OF + timedelta(days=8))
    assert list(gone["account_id"]) == ["b"]


def test_the_audit_trail_says_who_when_what_and_why(engine):
    seed(engine)
    add_note(
        engine,
        "a",
        reason="Champion left",
        entered_on=AS_OF,
        valid_until=AS_OF,
        champion_status=0,
        user_email="x@e.com",
    )
    add_override(
        engine,
        "a",
        score=20,
        reason="Data is wrong",
        entered_on=AS_OF,
        valid_until=AS_OF + timedelta(days=60),
        max_days=90,
        user_email="lead@e.com",
    )
    trail = audit_trail(engine, ["a"])
    assert list(trail["what"]) == ["note", "override"]
    assert list(trail["who"]) == ["x@e.com", "lead@e.com"]
    assert trail["detail"].iloc[0] == "champion left"
    assert trail["detail"].iloc[1] == "score set to 20.0"
    assert list(trail["why"]) == ["Champion left", "Data is wrong"]


def test_alert_state_with_and_without_snoozes(engine):
    from scoring.store.clicks import alert_state, record_action

    seed(engine)
    assert alert_state(engine, "a", AS_OF) == {}
    record_action(engine, "a", "ack", user_email="x@e.com")
    assert alert_state(engine, "a", AS_OF)["acknowledged_by"] == "x@e.com"
    record_action(engine, "a", "snooze", until=AS_OF + timedelta(days=7))
    assert alert_state(engine, "a", AS_OF)["snoozed_until"] == str(AS_OF + timedelta(days=7))
    assert "snoozed_until" not in alert_state(engine, "a", AS_OF + timedelta(days=8))


@pytest.mark.parametrize(
    ("score", "until_days", "words"),
    [
        (50, 91, "runs at most until"),
        (50, -1, "from today on"),
        (101, 30, "from 0 to 100"),
    ],
)
def test_the_store_refuses_an_override_outside_the_rules(
    engine: Engine, score: float, until_days: int, words: str
) -> None:
    """The 90-day cap (and the 0-100 range) hold for every writer, not only the Slack modal."""
    from scoring.errors import DataError

    with pytest.raises(DataError, match=words) as refused:
        add_override(
            engine,
            "a",
            score=score,
            reason="Renewal signed",
            entered_on=AS_OF,
            valid_until=AS_OF + timedelta(days=until_days),
            max_days=90,
        )
    assert "override of a refused" in str(refused.value)
    assert load_csm_inputs(engine).empty
