"""One engine case per registered aggregate and scale, each with its expected value.

tests/test_docs.py reads the parametrize marks of `test_aggregate` and `test_scale` and fails
unless their ids are exactly the keys of `AGGREGATES` and `SCALES`: registering an aggregate or
a scale without a case here fails the suite. Every expected value is worked out by hand from
the documented semantics (docs/model-reference.md, the registries' docstrings), with the
arithmetic beside it, never by running the code under test. Edge cases (empty windows, window
edges, ties across segments) stay in tests/test_engine.py.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from scoring.config import Scale
from scoring.engine.score import score_accounts
from tests.engine_helpers import AS_OF, accounts, metric, model, signals


class AggregateCase(NamedTuple):
    """`rows` are one account's (days before as_of, value); `expected` is the metric's raw."""

    name: str
    rows: tuple[tuple[int, float], ...]
    window_days: int
    expected: float


class ScaleCase(NamedTuple):
    """One account per value in `raws`, all in one segment; `expected` are their metric scores."""

    name: str
    scale: dict[str, Any]
    raws: tuple[float, ...]
    expected: tuple[float, ...]


# In a 30-day window: 4 (10 days ago), 6 (5 days ago), 2 (yesterday); 100 is 45 days old, out.
ROWS = ((10, 4.0), (5, 6.0), (1, 2.0), (45, 100.0))

AGGREGATE_CASES = (
    AggregateCase("mean", ROWS, 30, 4.0),  # (4 + 6 + 2) / 3
    AggregateCase("sum", ROWS, 30, 12.0),  # 4 + 6 + 2
    AggregateCase("min", ROWS, 30, 2.0),
    AggregateCase("max", ROWS, 30, 6.0),
    AggregateCase("last", ROWS, 30, 2.0),  # the value on the latest date, yesterday
    AggregateCase("count", ROWS, 30, 3.0),  # rows in the window, whatever their value
    # 7 x least-squares slope per day, x = day - as_of = -10, -5, -1 and y = 4, 6, 2:
    # n = 3, Σx = -16, Σy = 12, Σx² = 126, Σxy = -72;
    # slope = (3·-72 - -16·12) / (3·126 - 16²) = -24 / 122 = -12/61; x 7 = -84/61.
    AggregateCase("trend", ROWS, 30, -84 / 61),
    # days since the latest positive value: 0 (4 days ago) and -1 (2 days ago) are not positive.
    AggregateCase("days_since", ((20, 3.0), (12, 1.0), (4, 0.0), (2, -1.0)), 30, 12.0),
)

SCALE_CASES = (
    # 100 x (x - worst) / (best - worst), clamped: 100 x 10 / 40 = 25; 60 → 125 → 100; 0 → 0.
    ScaleCase("linear", {"worst": 10, "best": 50}, (20.0, 60.0, 0.0), (25.0, 100.0, 0.0)),
    # The first matching step wins: 0.5 < 1; 12 ≥ 10; 3 < 4; 5 falls through to the last step.
    ScaleCase(
        "steps",
        {
            "steps": [
                {"below": 1, "score": 100},
                {"at_least": 10, "score": 20},
                {"below": 4, "score": 50},
                {"score": 0},
            ]
        },
        (0.5, 12.0, 3.0, 5.0),
        (100.0, 20.0, 50.0, 0.0),
    ),
    # 100 x (strictly worse + 0.5 x ties) / (n - 1), n = 4: 1 → 0; each 5 → (1 + 0.5) / 3 = 50%;
    # 9 → 3 / 3.
    ScaleCase(
        "percentile",
        {"percentile": "higher_is_better"},
        (1.0, 5.0, 5.0, 9.0),
        (0.0, 50.0, 50.0, 100.0),
    ),
)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in AGGREGATE_CASES])
def test_aggregate(case: AggregateCase) -> None:
    scale = {"worst": -1000, "best": 1000}
    m = model({"x": metric("x", case.name, case.window_days, scale)})
    rows = [("a", ago, "x", value) for ago, value in case.rows]
    result = score_accounts(m, accounts("a"), signals(rows), AS_OF)
    raw = result.metrics.set_index("account_id").loc["a", "raw"]
    assert raw == pytest.approx(case.expected, abs=1e-9)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in SCALE_CASES])
def test_scale(case: ScaleCase) -> None:
    assert Scale.model_validate(case.scale).kind == case.name, "the case must use its scale"
    ids = [f"a{i}" for i in range(len(case.raws))]
    m = model({"x": metric("x", "last", 30, case.scale)})
    rows = [(account, 0, "x", raw) for account, raw in zip(ids, case.raws, strict=True)]
    result = score_accounts(m, accounts(*ids), signals(rows), AS_OF)
    scores = result.metrics.set_index("account_id").loc[ids, "metric_score"]
    assert scores.tolist() == pytest.approx(list(case.expected), abs=1e-9)
