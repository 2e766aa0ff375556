"""Per-source freshness: each metric's latest data date and whether its signal is stale for its
cadence (declared in the model file or learned from the gaps between past values), computed
with the period and shown on the card."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from bot.messages.render import PLAIN, render_text
from bot.slack.cards import account_card
from scoring.config import Model
from scoring.decisions.freshness import metric_freshness
from scoring.store.freshness import account_freshness
from tests.databases import BACKENDS
from tests.test_slack_app_support import demo_database

AS_OF = date(2026, 12, 6)


def model(**nps: object) -> Model:
    metric = {"aggregate": "last", "window_days": 120, "scale": {"worst": 0, "best": 10}}
    return Model.model_validate(
        {
            "metrics": {
                "nps": {"signal": "nps", "weight": 1} | metric,
                "usage": {"signal": "active_users", "weight": 1} | metric,
            },
            "signals": {"nps": nps} if nps else {},
        }
    )


def series(account: str, signal: str, last: date, every: int, count: int) -> pd.DataFrame:
    days = [last - timedelta(days=every * k) for k in range(count)]
    return pd.DataFrame({"account_id": account, "signal": signal, "date": days, "value": 1.0})


def fresh(frame: pd.DataFrame, m: Model | None = None) -> pd.DataFrame:
    out = metric_freshness(m or model(), frame, AS_OF)
    return out.set_index(["account_id", "metric"])


@pytest.mark.parametrize(
    ("every", "age", "stale"),
    [(30, 14, False), (30, 44, False), (30, 46, True), (1, 1, False), (1, 3, True)],
    ids=["monthly-14d", "monthly-44d", "monthly-46d", "daily-1d", "daily-3d"],
)
def test_stale_is_judged_against_the_signals_own_cadence(every: int, age: int, stale: bool):
    frame = series("a", "nps", AS_OF - timedelta(days=age), every, 4)
    row = fresh(frame).loc[("a", "nps")]
    assert row["latest"] == pd.Timestamp(AS_OF - timedelta(days=age))
    assert row["cadence_days"] == every and row["age_days"] == age
    assert bool(row["stale"]) is stale


def test_a_declared_cadence_wins_and_one_value_learns_from_the_other_accounts():
    frame = pd.concat(
        [
            series("a", "nps", AS_OF - timedelta(days=20), 7, 5),  # weekly, 20 days old
            series("b", "nps", AS_OF - timedelta(days=20), 30, 1),  # a single value
            series("a", "active_users", AS_OF - timedelta(days=2), 1, 10),
        ]
    )
    learned = fresh(frame)
    assert learned.loc[("b", "nps"), "cadence_days"] == 7  # the signal's median cadence
    assert learned.loc[("a", "nps"), "stale"] and learned.loc[("b", "nps"), "stale"]
    assert learned.loc[("a", "usage"), "stale"]  # daily, 2 days old: 2 > 1.5
    declared = fresh(frame, model(cadence_days=30))
    assert declared.loc[("a", "nps"), "cadence_days"] == 30
    assert not declared.loc[("a", "nps"), "stale"]
    future = series("c", "nps", AS_OF + timedelta(days=3), 7, 1)  # after as_of: not seen
    assert "c" not in fresh(pd.concat([frame, future])).index.get_level_values(0)


def test_a_cadence_of_zero_is_refused_with_the_key_path():
    with pytest.raises(ValueError, match="cadence_days"):
        model(cadence_days=0)


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_card_shows_each_metrics_latest_date_and_what_is_stale(kind: str, tmp_path):
    with demo_database(kind, tmp_path) as (engine, demo, accounts):
        account_id = str(accounts.iloc[0]["account_id"])
        card = account_card(engine, demo, account_id)
        with engine.connect() as conn:
            rows = account_freshness(conn, account_id, card["period"])
        assert rows and {r["metric"] for r in rows} <= set(demo.metric_keys)
        by_metric = {m["key"]: m for m in card["metrics"]}
        for row in rows:
            assert by_metric[row["metric"]]["latest"] == row["latest"]
            assert row["latest"] <= card["as_of"]
        row = rows[0]
        with engine.begin() as conn:  # make one metric's data old for its cadence
            conn.exec_driver_sql(
                "UPDATE metric_freshness SET stale = true, age_days = 40, cadence_days = 30"
                f" WHERE account_id = '{account_id}' AND metric = '{row['metric']}'"
            )
        text = render_text("card", PLAIN, **account_card(engine, demo, account_id))
    label = demo.metrics[row["metric"]].label
    assert f"Stale data: {label} is 40 days old (it usually comes every 30 days)" in text
    assert row["latest"] in text
