"""Backtest's verdict on overrides: right when the account did what the override claimed."""

from __future__ import annotations

from datetime import date

import pandas as pd

from scoring.validation.overrides_check import override_outcomes


def test_overrides_are_judged_against_the_computed_score_and_later_churn():
    inputs = pd.DataFrame(
        {
            "kind": ["override", "override", "override", "note", "override"],
            "account_id": ["a", "b", "c", "a", "d"],
            "entered_on": [
                date(2026, 1, 10),
                date(2026, 1, 10),
                date(2026, 1, 10),
                date(2026, 1, 10),
                date(2026, 11, 1),
            ],
            "override_score": [20.0, 90.0, 20.0, None, 10.0],
            "revoked_at": [None] * 5,
        }
    )
    scores = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "as_of": [date(2026, 1, 4)] * 3 + [date(2026, 10, 25)],
            "score": [70.0, 40.0, 70.0, 60.0],
        }
    )
    churns = pd.DataFrame({"account_id": ["a", "b"], "date": [date(2026, 2, 1), date(2026, 3, 1)]})
    result = override_outcomes(inputs, scores, churns, 90, date(2026, 11, 20))
    assert (result["overrides"], result["judged"], result["too_recent"]) == (4, 3, 1)
    # a: said riskier, churned -> right; b: said healthier, churned -> wrong;
    # c: said riskier, stayed -> wrong
    assert (result["right"], result["wrong"]) == (1, 2)
    assert {r["account_id"]: r["churned"] for r in result["rows"]} == {
        "a": True,
        "b": True,
        "c": False,
    }
