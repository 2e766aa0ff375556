"""A continuing slide re-alerts only when materially worse (alerts.realert).

Before the rule, an account still sliding was re-alerted by the same rule each time the 14-day
cooldown ran out, telling its owner nothing new; each case below fails on that behaviour
(`realert: false` is kept as the way back to it). The last test runs the weekly job on a real
store after a replayed history and checks it decides what one continuous replay decides.
"""

from __future__ import annotations

import datetime as dt
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError
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
from scoring.decisions.alert_cooldown import apply_cooldown
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.store.frames_io import load_frames
from tests.test_alerts import AS_OF, model, sent

DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"


def shown(days_ago: int, score: float = 62, rank: int = 1, rule: str = "metric_drop"):
    """A slide alert shown `days_ago` (the cooldown tests' record, with a metric drop)."""
    return sent(days_ago, score, rank, rule)


def now(*rules: str, score: float = 58, rank: int = 1, band: str = "at_risk") -> pd.DataFrame:
    rules = rules or ("metric_drop",)
    return pd.DataFrame(
        {
            "account_id": ["a"] * len(rules),
            "rule": list(rules),
            "severity": ["medium"] * len(rules),
            "reason": [f"{r} words" for r in rules],
            "score_shown": [score] * len(rules),
            "band_rank": [rank] * len(rules),
            "band": [band] * len(rules),
        }
    )


def decide(
    alerts: pd.DataFrame, history: pd.DataFrame, recent: pd.DataFrame | None = None, **keys: Any
):
    config = model(score_drop=10, cooldown_days=14, **keys).alerts
    return apply_cooldown(alerts, history, None, AS_OF, config, recent)


def test_a_slide_still_going_after_the_cooldown_is_held_not_re_alerted():
    to_send, held = decide(now(), shown(14))
    assert to_send.empty and len(held) == 1
    assert held["why"].iloc[0] == (
        f"still the slide alerted on {AS_OF - timedelta(days=14):%Y-%m-%d} (score 62 → 58,"
        " not 10 points lower nor a lower band)"
    )
    # The old behaviour, kept as a switch: the cooldown alone re-alerts it.
    to_send, held = decide(now(), shown(14), realert=False)
    assert len(to_send) == 1 and held.empty


def test_a_fall_of_worse_by_points_since_the_alert_re_alerts_and_says_what_got_worse():
    to_send, held = decide(now("score_drop", "metric_drop", score=52), shown(14))
    assert held.empty
    assert to_send["reason"].tolist() == [
        f"Still sliding since the alert of {AS_OF - timedelta(days=14):%Y-%m-%d}"
        " (score 62 → 52). score_drop words",
        "metric_drop words",  # said once per account
    ]
    assert decide(now(score=52.1), shown(14))[0].empty  # 9.9 lower is not yet materially worse


def test_worse_by_is_a_key():
    assert len(decide(now(score=57), shown(14), realert={"worse_by": 5})[0]) == 1
    assert decide(now(score=57), shown(14), realert={"worse_by": 6})[0].empty


def test_a_lower_band_counts_when_the_band_rule_says_so_not_a_bare_crossing():
    down = now("band_downgrade", "metric_drop", score=46, rank=2, band="critical")
    to_send, _ = decide(down, shown(14, score=51))
    assert to_send["reason"].iloc[0].startswith("Still sliding since the alert of ")
    assert to_send["reason"].iloc[0].endswith("(score 51 → 46), now critical. band_downgrade words")
    # Below the band's minimum, but band_downgrade's hysteresis did not fire: not worse.
    assert decide(now(score=49.5, rank=2, band="critical"), shown(14, score=51))[0].empty


def test_an_alert_older_than_within_days_is_a_new_slide():
    assert len(decide(now(), shown(28))[0]) == 1
    assert decide(now(), shown(27))[0].empty
    assert len(decide(now(), shown(27), realert={"within_days": 21})[0]) == 1
    assert "Still sliding" not in decide(now(), shown(28))[0]["reason"].iloc[0]


def test_any_slide_rule_shown_counts_and_champion_left_is_news_of_its_own():
    assert decide(now("score_drop"), shown(14, rule="band_downgrade"))[0].empty
    assert len(decide(now("champion_left"), shown(14))[0]) == 1
    assert len(decide(now(), shown(14, rule="champion_left"))[0]) == 1
    assert len(decide(now(), shown(14, rule="renewal"))[0]) == 1


def test_the_latest_alert_shown_is_the_one_compared_with():
    history = pd.concat([shown(21, score=70), shown(14, score=62)], ignore_index=True)
    assert decide(now(score=59), history)[0].empty  # 11 below the first, 3 below the last


def recent(*scores: float) -> pd.DataFrame:
    """Shown scores of the runs before this one, runs_ago 1 first (band_hysteresis frame)."""
    return pd.DataFrame(
        {"account_id": "a", "runs_ago": range(1, len(scores) + 1), "score_shown": scores}
    )


def test_a_slide_that_recovered_since_its_alert_is_a_new_slide():
    # Alerted 3 weeks ago at 62 (a blip); back to 66 a week later; now 58 on a real slide.
    runs = recent(60, 66, 62)
    to_send, held = decide(now(), shown(21), recent=runs)
    assert len(to_send) == 1 and held.empty
    assert "Still sliding" not in to_send["reason"].iloc[0]  # it is news, not a repeat
    # Never back above 62 since the alert: still the same slide, held.
    assert decide(now(), shown(21), recent=recent(60, 61.5, 62))[0].empty
    # The run of the alert itself (3 weeks back) does not count as a recovery.
    assert decide(now(), shown(14), recent=recent(60, 66))[0].empty


def test_last_weeks_score_comes_from_the_alerts_comparison_as_in_the_weekly_run():
    # The weekly run reads recent runs from the second week back; last week is the alert's
    # own previous_score, so both paths see the same runs.
    rose = now().assign(previous_score=64.0)
    assert len(decide(rose, shown(14), recent=recent(99))[0]) == 1
    assert decide(now().assign(previous_score=61.0), shown(14), recent=recent(99))[0].empty


@pytest.mark.parametrize(
    ("value", "message"),
    [({"worse_by": 0}, "greater than 0"), ({"within_days": 0}, "greater than or equal to 1")],
)
def test_bad_keys_are_refused(value: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        model(realert=value)
    assert model(realert=True).alerts.realert == model().alerts.realert
    assert model(realert=False).alerts.realert is None


def test_the_weekly_run_holds_what_the_replay_holds(engine: Engine, tmp_path: Path) -> None:
    end = dt.date(2026, 6, 28)
    portfolio = generate_portfolio(seed=5, accounts=160, weeks=30, end=end)
    load_frames(engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, end)
    demo = load_model(DEMO_MODEL)
    scored = weekly_as_ofs(end - dt.timedelta(weeks=6), end)
    score_and_store(engine, demo, scored)
    as_ofs = scored[1:]
    inputs = load_replay_inputs(engine, [demo], as_ofs)
    with_rule = replay_stored_weeks(inputs, demo, inputs.spans[0], as_ofs, reasons=True)
    off = demo.model_copy(update={"alerts": demo.alerts.model_copy(update={"realert": None})})
    without = replay_stored_weeks(inputs, off, inputs.spans[0], as_ofs, reasons=True)
    last, old = with_rule.weeks[-1], without.weeks[-1]
    # The rule holds slides the cooldown alone would re-alert this week.
    assert set(last.delivered["account_id"]) < set(old.delivered["account_id"])

    record_replayed_alerts(engine, demo, as_ofs[:-1])
    terminal = TerminalTransport(tmp_path / "out", io.StringIO())
    run_weekly(engine, demo, tmp_path, end, terminal, sync=False)
    with engine.connect() as conn:
        printed = conn.exec_driver_sql(
            f"SELECT account_id FROM alert_shown WHERE period = '{last.period}'"
        ).all()
    assert {str(a) for (a,) in printed} == set(last.delivered["account_id"].astype(str))
