"""The model advisor: candidates computed as the engine computes, a search that finds a signal
the model left out, an honest held-out comparison, and a proposal that is an ordinary model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from scoring.config import parse_model
from scoring.engine.score import score_accounts
from scoring.periods import weekly_as_ofs
from scoring.sample import generate_portfolio
from scoring.validation.advice_file import advice_text
from scoring.validation.advise import advise
from scoring.validation.advise_search import advised_score
from scoring.validation.backtest import run_backtest
from scoring.validation.candidate_scales import FittedScale, fit_scale, nice
from scoring.validation.candidates import CandidateSpec, candidate_frame, candidate_specs
from scoring.validation.metrics import auc
from scoring.validation.paired_auc import bootstrap_aucs
from scoring.validation.proposal import check_proposal
from scoring.validation.sparse_fit import l1_path

END = dt.date(2026, 6, 28)
# A model that left out product usage, the strongest signal of the generated portfolio, and
# leans on payment history, the weakest.
WEAK_MODEL = """\
# Score bands, from the top: 80-100 healthy, 50-79 at risk.
bands:
  - {name: healthy, min: 80}
  - {name: at_risk, min: 50}
  - {name: critical, min: 0}
metrics:
  payment_history:
    label: Payment history
    signal: invoices_overdue
    aggregate: max
    window_days: 90
    scale: {worst: 3, best: 0}
    weight: 60
  engagement:
    signal: nps
    aggregate: last
    window_days: 180
    scale: {worst: 0, best: 10}
    weight: 40
playbooks:
  - name: Pay up
    when: {driver: payment_history}
    steps: [Call finance]
advise:
  windows_days: [30, 90]
"""


@pytest.fixture(scope="module")
def portfolio():
    return generate_portfolio(seed=5, accounts=220, weeks=30, end=END)


@pytest.fixture(scope="module")
def weak(portfolio):
    model = parse_model(WEAK_MODEL)
    as_ofs = weekly_as_ofs(END - dt.timedelta(days=160), END - dt.timedelta(days=91))
    backtest = run_backtest(
        model, portfolio.accounts, portfolio.signals, portfolio.outcomes, as_ofs, replay_weeks=0
    )
    ids = pd.Index(portfolio.accounts["account_id"].astype(str))
    return model, backtest, advise(model, backtest, portfolio.signals, ids), ids


def test_candidates_are_the_engines_own_aggregates(portfolio) -> None:
    model = parse_model(WEAK_MODEL.replace("advise:", "old:").split("old:")[0])
    ids = pd.Index(portfolio.accounts["account_id"].astype(str))
    as_ofs = [END - dt.timedelta(days=d) for d in (120, 60, 7)]
    specs = [CandidateSpec(m.signal, m.aggregate, m.window_days) for m in model.metrics.values()]
    specs += [CandidateSpec("active_users", "trend", 30), CandidateSpec("nps", "days_since", 90)]
    frame = candidate_frame(portfolio.signals, ids, as_ofs, specs)
    assert frame.shape == (len(as_ofs) * len(ids), len(specs))
    for as_of in as_ofs:
        for spec in specs:
            probe = parse_model(
                f"metrics: {{m: {{signal: {spec.signal}, aggregate: {spec.aggregate},"
                f" window_days: {spec.window_days}, scale: {{worst: 0, best: 1}}, weight: 1}}}}"
            )
            seen = portfolio.signals[portfolio.signals["date"] <= pd.Timestamp(as_of)]
            scores = score_accounts(probe, portfolio.accounts, seen, as_of)
            engine = scores.metrics.set_index("account_id")
            expected = np.where(engine["has_data"], engine["raw"], np.nan)
            mine = frame.loc[pd.Timestamp(as_of), spec.key].reindex(engine.index).to_numpy()
            assert np.allclose(mine, expected, equal_nan=True, rtol=1e-5), (as_of, spec)


def test_expiring_rows_leave_the_window_as_in_the_engine() -> None:
    signals = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "signal": "csm_sentiment",
            "date": pd.to_datetime(["2026-01-01", "2026-01-10", "2026-01-05"]),
            "value": [1.0, 3.0, 2.0],
            "valid_until": pd.to_datetime(["2026-03-01", "2026-01-20", None]),
        }
    )
    spec = CandidateSpec("csm_sentiment", "last", 90)
    frame = candidate_frame(signals, pd.Index(["a", "b"]), [dt.date(2026, 1, 15)], [spec])
    assert frame[spec.key].tolist() == [3.0, 2.0]
    frame = candidate_frame(signals, pd.Index(["a", "b"]), [dt.date(2026, 2, 1)], [spec])
    assert frame[spec.key].tolist() == [1.0, 2.0]  # the later row expired on 2026-01-20


def test_every_aggregate_times_every_window() -> None:
    specs = candidate_specs(["b", "a"], [90, 7])
    assert specs[0] == CandidateSpec("a", "count", 7) and len(specs) == 2 * 8 * 2
    assert len({s.key for s in specs}) == len(specs)


def test_scales_from_quantiles_point_the_way_churn_does() -> None:
    rng = np.random.default_rng(0)
    usage = rng.uniform(0, 100, 4000)
    churned = rng.random(4000) < 0.4 * (usage < 20)
    scale, value = fit_scale(usage, churned)
    assert scale.kind in ("linear", "steps") and value > 0.6
    sub = scale.apply(usage)
    assert sub[usage.argmin()] < sub[usage.argmax()]  # less usage, lower sub-score
    tickets = -usage
    turned, _ = fit_scale(tickets, churned)
    assert turned.apply(tickets)[usage.argmin()] < turned.apply(tickets)[usage.argmax()]
    assert nice(12345.6) == "12300" and nice(0.012345) == "0.0123" and nice(70.0) == "70"
    steps = FittedScale("steps", cuts=(10.0, 20.0), scores=(0.0, 40.0, 100.0))
    assert steps.apply(np.array([5, 10, 15, 25, np.nan])).tolist()[:4] == [0, 40, 40, 100]
    assert steps.yaml() == "{steps: [{below: 10, score: 0}, {below: 20, score: 40}, {score: 100}]}"


def test_l1_path_enters_the_informative_columns_first() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((3000, 6))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(2 - 5 * x[:, 1] - 3 * x[:, 4])))).astype(float)
    sets = l1_path(x, y, 7)
    assert set(sets[0]) <= {1, 4}  # the two informative columns enter first
    assert set(next(s for s in sets if len(s) >= 2)[:2]) == {1, 4}


def test_paired_bootstrap_by_account() -> None:
    rng = np.random.default_rng(2)
    churned = rng.random(600) < 0.2
    good = np.where(churned, rng.normal(40, 10, 600), rng.normal(60, 10, 600))
    noisy = good + rng.normal(0, 30, 600)
    accounts = np.repeat(np.arange(100), 6)
    point, se, pair = bootstrap_aucs({"a": good, "b": noisy, "c": good}, churned, accounts)
    assert np.isclose(point["a"], auc(good, churned)) and point["a"] > point["b"]
    assert 0 < se["a"] < 0.1 and pair[("a", "c")] == 0.0 and pair[("a", "b")] > 0


def test_advise_finds_the_signal_the_model_left_out(weak) -> None:
    model, _, advice, _ = weak
    chosen = [advice.spec(c) for c in advice.chosen]
    assert 1 <= len(chosen) <= 7 and all(c.weight > 0 for c in advice.chosen)
    assert "active_users" in {s.signal for s in chosen}
    assert advice.auc["proposal"] > advice.auc["current"] + 0.02 and advice.not_worse
    assert advice.meets_target  # within one paired standard error of the baseline, or above
    assert all(np.isfinite(v) and v > 0 for v in advice.se.values())
    assert advice.heldout_churned > 0 and advice.heldout_rows > advice.heldout_churned


def test_excluded_signals_are_never_proposed(portfolio, weak) -> None:
    _, backtest, _, ids = weak
    model = parse_model(
        WEAK_MODEL.replace(
            "windows_days: [30, 90]", "windows_days: [30]\n  exclude_signals: [active_users]"
        )
    )
    advice = advise(model, backtest, portfolio.signals, ids)
    assert "active_users" not in {advice.spec(c).signal for c in advice.chosen}
    assert "active_users" not in {s.signal for s in advice.specs}
    assert advice.excluded == ["active_users"]


def test_the_proposal_is_an_ordinary_model_whose_points_add_up(portfolio, weak) -> None:
    model, backtest, advice, _ = weak
    text, table = advice_text(WEAK_MODEL, model, advice)
    proposed = check_proposal(text, "proposal")
    weighted = {k: m.weight for k, m in proposed.metrics.items() if m.weight > 0}
    assert len(weighted) == len(advice.chosen) <= 7
    assert proposed.metrics["payment_history"].weight == 0 or "payment_history" in set(
        table.loc[table["change"] != "dropped", "metric"]
    )
    assert "# was 60" in text or "payment_history" in set(
        table.loc[table["change"] != "dropped", "metric"]
    )
    assert "# added by calibrate --advise" in text and "Call finance" in text
    assert "80-100 healthy" not in text or advice.bands in (None, {"healthy": 80.0})
    assert set(table["change"]) <= {"added", "kept", "rescaled", "dropped"}
    # The engine, reading the proposed file, gives the score the advisor judged.
    as_of = backtest.as_ofs[-1]
    seen = portfolio.signals[portfolio.signals["date"] <= pd.Timestamp(as_of)]
    scores = score_accounts(proposed, portfolio.accounts, seen, as_of)
    ids = pd.Index(portfolio.accounts["account_id"].astype(str))
    frame = candidate_frame(portfolio.signals, ids, [as_of], advice.specs)
    x = frame.to_numpy().astype(float)
    for j, spec in enumerate(advice.specs):
        if spec.aggregate == "sum":
            x[:, j] = np.where(np.isnan(x[:, j]), 0.0, x[:, j])
    expected = pd.Series(advised_score(x, advice.chosen, proposed.min_completeness), index=ids)
    engine = scores.accounts.set_index("account_id")["score"]
    # atol: the advisor reads candidate values as float32, the engine as float64 (a value on a
    # scale's end can land a millionth of a point inside it).
    assert np.allclose(
        engine.to_numpy(float), expected.reindex(engine.index), atol=1e-4, equal_nan=True
    )
    points = scores.metrics.groupby("account_id")["points"].sum()
    assert np.allclose(points.reindex(engine.index).to_numpy(), engine.fillna(0).to_numpy())
