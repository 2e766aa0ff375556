"""The words joined per account for alert reasons: row order kept within an account, each
account on its own, nothing for an empty frame (the join runs per place, not per account)."""

from __future__ import annotations

import pandas as pd

from scoring.decisions.alert_words import driver_summary, joined_per_key
from tests.pipeline_fixtures import demo_model


def test_words_are_joined_per_key_in_row_order() -> None:
    words = pd.Series(["a1", "b1", "a2", "a3", "c1", "b2"], index=[10, 11, 12, 13, 14, 15])
    keys = pd.Series(["a", "b", "a", "a", "c", "b"])
    out = joined_per_key(words, keys, "; ")
    assert out.to_dict() == {"a": "a1; a2; a3", "b": "b1; b2", "c": "c1"}


def test_nothing_to_join_is_an_empty_series() -> None:
    assert joined_per_key(pd.Series([], dtype=object), pd.Series([], dtype=object), ", ").empty


def test_driver_summary_names_the_three_largest_falls_largest_first() -> None:
    model = demo_model()
    keys = list(model.metrics)
    frame = pd.DataFrame(
        {
            "account_id": ["x"] * 5 + ["y"],
            "metric": keys[:5] + keys[:1],
            "delta_points": [-2.0, -9.0, 3.0, -4.4, -0.4, -1.0],
        }
    )
    label = {k: m.label or k for k, m in model.metrics.items()}
    out = driver_summary(model, frame)
    assert out["x"] == f"{label[keys[1]]} −9, {label[keys[3]]} −4, {label[keys[0]]} −2"
    assert out["y"] == f"{label[keys[0]]} −1"
