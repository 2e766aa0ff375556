"""Random models and portfolios for the pushdown equality tests (hypothesis strategies).

Everything that decides a raw value is drawn: aggregates, windows, fills, gaps, rows after the
as-of date, rows that expired (`valid_until`), ties, single-point trends, empty windows; and
everything after it: the three scale forms, segments with their own weights and bands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from scoring.config import AGGREGATES, Model

AS_OF = date(2026, 11, 21)
SIGNALS = ["s0", "s1", "s2"]
ACCOUNTS = [f"acct-{i:02d}" for i in range(10)]

windows = st.sampled_from([1, 2, 7, 30, 45, 90])
# Small integers make ties and exact sums; wide floats make rounding differences.
numbers = st.one_of(
    st.integers(min_value=-3, max_value=12).map(float),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@st.composite
def scales(draw: st.DrawFn) -> dict[str, Any]:
    form = draw(st.sampled_from(["linear", "steps", "percentile"]))
    if form == "linear":
        worst, best = draw(st.lists(numbers, min_size=2, max_size=2, unique=True))
        return {"worst": worst, "best": best}
    if form == "steps":
        cut = draw(numbers)
        return {"steps": [{"below": cut, "score": 20}, {"score": draw(st.sampled_from([60, 100]))}]}
    return {"percentile": draw(st.sampled_from(["higher_is_better", "lower_is_better"]))}


@st.composite
def metrics(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "signal": draw(st.sampled_from(SIGNALS)),
        "aggregate": draw(st.sampled_from(AGGREGATES)),
        "window_days": draw(windows),
        "scale": draw(scales()),
        "weight": draw(st.sampled_from([0, 1, 2.5, 10])),
    }
    if draw(st.booleans()) and spec["aggregate"] not in ("count", "days_since"):
        spec["fill"] = draw(st.sampled_from([0.0, 5.0]))
    return spec


@st.composite
def models(draw: st.DrawFn) -> Model:
    chosen = draw(st.lists(metrics(), min_size=1, max_size=4))
    if not any(m["weight"] for m in chosen):
        chosen[0]["weight"] = 1
    body: dict[str, Any] = {
        "metrics": {f"m{i}": m for i, m in enumerate(chosen)},
        "min_completeness": draw(st.sampled_from([0, 0.5])),
    }
    if draw(st.booleans()):
        body["segments"] = {
            "big": {
                "where": {"segment": "big"},
                "weights": {f"m{i}": float(i + 1) for i in range(len(chosen))},
                "bands": [
                    {"name": "healthy", "min": 70},
                    {"name": "at_risk", "min": 40},
                    {"name": "critical", "min": 0},
                ],
            }
        }
    return Model.model_validate(body)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts, long signal rows with one row per account, signal and day)."""
    n = draw(st.integers(min_value=1, max_value=len(ACCOUNTS)))
    ids = ACCOUNTS[:n]
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "segment": draw(
                st.lists(st.sampled_from(["big", "small", None]), min_size=n, max_size=n)
            ),
            "churned_on": [
                AS_OF - timedelta(days=3) if c else None
                for c in draw(st.lists(st.booleans(), min_size=n, max_size=n))
            ],
        }
    )
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(ids), st.sampled_from(SIGNALS), st.integers(-3, 100)),
            max_size=60,
            unique=True,
        )
    )
    rows = []
    for account, signal, ago in keys:
        expires = draw(st.sampled_from([None, None, None, 2, 10]))
        rows.append(
            {
                "account_id": account,
                "signal": signal,
                "date": AS_OF - timedelta(days=ago),
                "value": draw(numbers),
                "source": "test",
                "valid_until": None if expires is None else AS_OF - timedelta(days=ago - expires),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["account_id", "signal", "date", "value", "source", "valid_until"]
    )
    return accounts, frame


def assert_infinity_refused_alike(
    model: Model, load: Callable[[pd.DataFrame], Any], bad: float
) -> None:
    """A stored infinity on account 'a' is refused by the source `load` builds with exactly
    the reference engine's message (metric, account, as-of)."""
    import pytest

    from scoring.engine.score import score_accounts
    from scoring.errors import DataError

    accounts = pd.DataFrame({"account_id": ["a", "b"]})
    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "signal": ["s0"] * 3,
            "date": [AS_OF, AS_OF - timedelta(days=2), AS_OF],
            "value": [bad, 1.0, 2.0],
            "source": ["test"] * 3,
            "valid_until": [None] * 3,
        }
    )
    with pytest.raises(DataError, match=r"metric 'usage' .* account 'a'") as reference:
        score_accounts(model, accounts, rows.assign(date=pd.to_datetime(rows["date"])), AS_OF)
    with pytest.raises(DataError) as pushed:
        score_accounts(model, accounts, load(rows), AS_OF)
    assert str(pushed.value) == str(reference.value)
