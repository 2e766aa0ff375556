"""Playbook choice (first match wins, each `when` key) and urgency ordering."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.config import Model
from scoring.decisions.history import compare
from scoring.decisions.playbooks import (
    PLAYBOOK_INPUT_COLUMNS,
    choose_playbooks,
    order_by_urgency,
    playbook_inputs,
    urgency,
)

AS_OF = date(2026, 11, 22)
METRICS = {
    "product_usage": {
        "signal": "u",
        "window_days": 30,
        "scale": {"worst": 0, "best": 100},
        "weight": 1,
    },
    "support_tickets": {
        "signal": "t",
        "window_days": 30,
        "scale": {"worst": 12, "best": 0},
        "weight": 1,
    },
}


def model(*playbooks: dict[str, Any]) -> Model:
    return Model.model_validate({"metrics": METRICS, "playbooks": list(playbooks)})


def account(**values: Any) -> pd.DataFrame:
    """One account row for choose_playbooks; unspecified inputs are neutral/missing."""
    row = {
        "account_id": "a",
        "band": "at_risk",
        "segment": None,
        "arr": np.nan,
        "renewal_date": pd.NaT,
        "delta": np.nan,
        "previous_delta": np.nan,
        "driver": None,
    }
    row.update(values)
    frame = pd.DataFrame([row])
    return frame.assign(renewal_date=pd.to_datetime(frame["renewal_date"]))


def in_days(days: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF + timedelta(days=days))


def test_first_matching_playbook_wins_and_empty_when_catches_all():
    m = model(
        {"name": "Escalate", "when": {"band": "critical"}},
        {"name": "Re-engage", "when": {"driver": "product_usage"}},
        {"name": "Check in", "when": {}},
    )
    frame = pd.concat(
        [
            account(account_id="a", band="critical", driver="product_usage"),
            account(account_id="b", band="at_risk", driver="product_usage"),
            account(account_id="c", band="healthy"),
        ],
        ignore_index=True,
    )
    assert choose_playbooks(m, AS_OF, frame).tolist() == ["Escalate", "Re-engage", "Check in"]


def test_no_match_is_none_and_no_playbooks_is_all_none():
    frame = account(band="healthy")
    assert choose_playbooks(
        model({"name": "X", "when": {"band": "critical"}}), AS_OF, frame
    ).tolist() == [None]
    assert choose_playbooks(model(), AS_OF, frame).tolist() == [None]


@pytest.mark.parametrize(
    ("when", "values", "holds"),
    [
        ({"band": "critical"}, {"band": "critical"}, True),
        ({"band": "critical"}, {"band": "at_risk"}, False),
        ({"band": "critical"}, {"band": "insufficient_data"}, False),
        ({"driver": "product_usage"}, {"driver": "product_usage"}, True),
        ({"driver": "product_usage"}, {"driver": "support_tickets"}, False),
        ({"driver": "product_usage"}, {"driver": None}, False),
        ({"segment": "enterprise"}, {"segment": "Enterprise"}, True),
        ({"segment": "enterprise"}, {"segment": "SMB"}, False),
        ({"segment": "enterprise"}, {"segment": None}, False),
        ({"renewal_within_days": 30}, {"renewal_date": in_days(30)}, True),
        ({"renewal_within_days": 30}, {"renewal_date": in_days(0)}, True),
        ({"renewal_within_days": 30}, {"renewal_date": in_days(31)}, False),
        ({"renewal_within_days": 30}, {"renewal_date": in_days(-1)}, False),
        ({"renewal_within_days": 30}, {"renewal_date": pd.NaT}, False),
        ({"arr_at_least": 50000}, {"arr": 50000.0}, True),
        ({"arr_at_least": 50000}, {"arr": 49999.0}, False),
        ({"arr_at_least": 50000}, {"arr": np.nan}, False),
        ({"improving": True}, {"delta": 2.0, "previous_delta": 0.5}, True),
        ({"improving": True}, {"delta": 2.0, "previous_delta": 0.0}, False),
        ({"improving": True}, {"delta": -1.0, "previous_delta": 3.0}, False),
        ({"improving": True}, {"delta": 2.0, "previous_delta": np.nan}, False),
        ({"improving": False}, {"delta": 2.0, "previous_delta": 0.0}, True),
        ({"improving": False}, {"delta": 2.0, "previous_delta": 1.0}, False),
        ({"band": "critical", "arr_at_least": 10}, {"band": "critical", "arr": 5.0}, False),
        ({"band": "critical", "arr_at_least": 10}, {"band": "critical", "arr": 10.0}, True),
    ],
    ids=[
        "band",
        "band-other",
        "band-insufficient",
        "driver",
        "driver-other",
        "driver-none",
        "segment-any-case",
        "segment-other",
        "segment-none",
        "renewal-boundary",
        "renewal-today",
        "renewal-too-far",
        "renewal-past",
        "renewal-unknown",
        "arr-boundary",
        "arr-under",
        "arr-missing",
        "improving-two-rises",
        "improving-flat-last-week",
        "improving-fell-this-week",
        "improving-no-last-week",
        "not-improving-holds",
        "not-improving-fails",
        "all-keys-must-hold",
        "all-keys-hold",
    ],
)
def test_each_when_key(when, values, holds):
    m = model({"name": "P", "when": when})
    assert choose_playbooks(m, AS_OF, account(**values)).tolist() == (["P"] if holds else [None])


def test_missing_input_column_means_the_key_does_not_hold():
    m = model({"name": "Big", "when": {"arr_at_least": 1}}, {"name": "Rest", "when": {}})
    frame = account().drop(columns=["arr"])
    assert choose_playbooks(m, AS_OF, frame).tolist() == ["Rest"]


def test_result_keeps_the_frame_index():
    frame = account().set_axis([7])
    result = choose_playbooks(model({"name": "All", "when": {}}), AS_OF, frame)
    assert result.index.tolist() == [7] and result.name == "playbook"


def test_playbook_inputs_from_comparisons_and_drivers():
    def snap(scores: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "account_id": list(scores),
                "score_shown": list(scores.values()),
                "band": "at_risk",
                "band_rank": 1,
            }
        )

    this_week = compare(snap({"a": 70, "b": 60}), snap({"a": 65, "b": 66}))
    last_week = compare(snap({"a": 65, "b": 66}), snap({"a": 60, "b": 60}))
    drivers = pd.DataFrame(
        {
            "account_id": ["b", "b"],
            "metric": ["support_tickets", "product_usage"],
            "delta_points": [-4.0, -2.0],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "segment": ["SMB", "Enterprise"],
            "arr": [1000, None],
            "renewal_date": ["2027-01-01", None],
        }
    )
    frame = playbook_inputs(this_week, accounts, drivers, last_week)
    assert list(frame.columns) == PLAYBOOK_INPUT_COLUMNS
    assert frame["previous_delta"].tolist() == [5.0, 6.0]
    assert frame["driver"].tolist() == [None, "support_tickets"]
    assert frame["arr"].iloc[0] == 1000 and np.isnan(frame["arr"].iloc[1])
    m = model(
        {"name": "Growing", "when": {"improving": True}},
        {"name": "Tickets", "when": {"driver": "support_tickets", "segment": "enterprise"}},
    )
    assert choose_playbooks(m, AS_OF, frame).tolist() == ["Growing", "Tickets"]


@pytest.mark.parametrize(
    ("score", "arr", "expected"),
    [
        (40.0, 100000.0, 60000.0),
        (100.0, 5e6, 0.0),
        (40.0, np.nan, 0.0),
        (np.nan, 100000.0, 0.0),
        (0.0, 1000.0, 1000.0),
    ],
    ids=["at-stake", "perfect-score", "missing-arr", "insufficient-data", "zero-score"],
)
def test_urgency(score, arr, expected):
    assert urgency(np.array([score]), np.array([arr]))[0] == pytest.approx(expected)


def test_order_by_urgency_puts_missing_arr_low_and_unscored_last():
    frame = pd.DataFrame(
        {
            "account_id": ["unscored-rich", "no-arr", "small", "big", "no-arr-worse"],
            "score_shown": [np.nan, 20.0, 50.0, 90.0, 10.0],
            "arr": [1e9, np.nan, 10000.0, 200000.0, None],
        }
    )
    ordered = order_by_urgency(frame)
    assert ordered["account_id"].tolist() == [
        "big",
        "small",
        "no-arr-worse",
        "no-arr",
        "unscored-rich",
    ]
    assert ordered["urgency"].tolist() == pytest.approx([20000.0, 5000.0, 0.0, 0.0, 0.0])
