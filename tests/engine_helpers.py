"""Tiny builders for engine tests: a model from a dict, frames from inline rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from scoring.config import Model

AS_OF = date(2026, 11, 21)


def model(metrics: dict[str, dict[str, Any]], **top: Any) -> Model:
    return Model.model_validate({"metrics": metrics, **top})


def metric(
    signal: str = "x",
    aggregate: str = "mean",
    window_days: int = 30,
    scale: dict[str, Any] | None = None,
    weight: float = 1,
    **more: Any,
) -> dict[str, Any]:
    return {
        "signal": signal,
        "aggregate": aggregate,
        "window_days": window_days,
        "scale": scale or {"worst": 0, "best": 100},
        "weight": weight,
        **more,
    }


def accounts(*ids: str, **columns: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": list(ids), **columns})


def signals(rows: list[tuple[str, int, str, float]], as_of: date = AS_OF) -> pd.DataFrame:
    """Rows of (account, days before as_of, signal, value)."""
    frame = pd.DataFrame(
        [(a, as_of - timedelta(days=ago), s, float(v)) for a, ago, s, v in rows],
        columns=["account_id", "date", "signal", "value"],
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def techcorp_model() -> Model:
    """The worked example from the field: weights 30/25/20/15/10, each scale 0..10."""
    weights = {"usage": 30, "adoption": 25, "support": 20, "payment": 15, "engagement": 10}
    return model(
        {
            k: metric(signal=k, aggregate="last", scale={"worst": 0, "best": 10}, weight=w)
            for k, w in weights.items()
        }
    )
