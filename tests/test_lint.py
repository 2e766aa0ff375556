"""`healthbot check`'s warnings: what the field knows to be bad practice."""

from __future__ import annotations

from scoring.config.data_checks import check_against_data
from scoring.config.lint import lint
from tests.engine_helpers import metric, model


def messages(findings) -> list[str]:
    return [str(f) for f in findings]


def test_a_balanced_model_has_no_findings():
    m = model({k: metric(k, weight=1) for k in "abc"})
    assert lint(m) == []


def test_more_than_seven_metrics_is_flagged():
    m = model({f"m{i}": metric(f"m{i}") for i in range(8)})
    assert any("8 metrics" in s for s in messages(lint(m)))


def test_one_metric_holding_over_half_the_weight_is_flagged_also_in_segments():
    m = model(
        {"a": metric("a", weight=60), "b": metric("b", weight=40)},
        segments={"ent": {"where": {"segment": "E"}, "weights": {"a": 10, "b": 90}}},
    )
    found = messages(lint(m))
    assert any(s.startswith("metrics.a.weight: holds 60%") for s in found)
    assert any(s.startswith("segments.ent.weights.b: holds 90%") for s in found)


def test_exactly_half_is_not_flagged():
    m = model({"a": metric("a", weight=50), "b": metric("b", weight=50)})
    assert lint(m) == []


def test_a_signal_the_synced_data_never_contains_is_an_error_not_a_warning():
    """A metric reading a signal nobody synced would score without its weight: no longer a
    warning of `check` but a problem every scoring command refuses (data_checks)."""
    m = model({"a": metric("active_users"), "b": metric("nps")})
    assert lint(m) == []
    problems = check_against_data(m, None, stored_signals={"active_users", "nps_avg"})
    assert [str(p) for p in problems] == [
        "metrics.b.signal: no signal 'nps' is stored, so scores would leave out this"
        " metric's weight (closest: 'nps_avg')"
    ]
