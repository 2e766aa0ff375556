"""`calibrate --advise` on signals read in place (a warehouse `table` source): the candidate
matrix the backend computes (one compiled query per as-of day) equals the in-memory one from
the same rows, every aggregate, with gaps and empty windows, on DuckDB and PostgreSQL, long and
wide; and the command writes the same proposal as with the rows copied, copying nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bot.cli.demo import demo_model_path
from scoring.config import parse_model
from scoring.decisions.placed_history import InPlaceSignals
from scoring.engine.aggregates import AGGREGATES
from scoring.pushdown.in_place import place_signals
from scoring.sample import generate_portfolio
from scoring.validation.candidates import candidate_frame, candidate_specs
from tests.in_place_fixtures import Warehouse, warehouse  # noqa: F401 (fixture)
from tests.pipeline_fixtures import END
from tests.test_advise_cli import MODEL
from tests.test_in_place_backtest import _run, copied_then_placed
from tests.test_in_place_weekly import (  # noqa: F401 (fixtures)
    _drop_pg_tables,
    _place,
    _signal_rows,
    warehouse_pg,
)

WEAK_MODEL = MODEL.replace("best: 10}}", "best: 10}, weight: 40}")
FIRST = date(2026, 1, 5)
WINDOWS = [7, 30, 90]
# before any row (every window empty), inside the data, after a gap, long after the data ends
AS_OFS = [FIRST - timedelta(days=3), *(FIRST + timedelta(weeks=k) for k in (1, 4, 9, 13, 30))]


def _rows() -> pd.DataFrame:
    """Three signals for 12 accounts over ~14 weeks: daily with gaps, sparse (some accounts
    never), and an NPS-like signal with zeros and negatives (days_since reads positives); one
    account with a single row (no trend), one with none at all, no two rows on one day."""
    rng = np.random.default_rng(11)
    rows = []
    for i in range(12):
        account = f"a{i:02d}"
        if i == 11:
            continue  # no rows at all
        for d in range(100):
            if i == 10 and d:
                break  # a single row
            if (d // 10 + i) % 4 == 0:
                continue  # gaps of ten days
            day = FIRST + timedelta(days=d)
            rows.append((account, day, "logins", round(float(rng.normal(5, 3)), 3)))
            if i % 3 and d % 17 == i % 5:
                rows.append((account, day, "tickets", float(rng.integers(0, 4))))
            if d % 20 == i:
                rows.append((account, day, "nps", float(rng.integers(-2, 3))))
    frame = pd.DataFrame(rows, columns=["account_id", "date", "signal", "value"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def _in_place(wh: Warehouse, layout: str, rows: pd.DataFrame) -> InPlaceSignals:
    """The rows as a warehouse table the model reads in place; every signal it holds placed."""
    if layout == "wide":
        table = rows.pivot(index=["account_id", "date"], columns="signal", values="value")
        wh.load("events", table.reset_index())
    else:
        wh.load("events", rows)
    raw = yaml.safe_load(demo_model_path().read_text())
    raw["sources"] = [{"kind": "signals", "url": wh.url, "table": "events", "layout": layout}]
    placement = place_signals(parse_model(yaml.safe_dump(raw)), every=True)
    return InPlaceSignals(placement.signals, placement.aggregate_source(per_signal=True))


@pytest.mark.parametrize("layout", ["long", "wide"])
def test_in_place_candidates_equal_the_in_memory_ones(warehouse, layout) -> None:  # noqa: F811
    rows = _rows()
    accounts = pd.Index([f"a{i:02d}" for i in range(12)])
    specs = candidate_specs(["logins", "tickets", "nps"], WINDOWS)
    assert {s.aggregate for s in specs} == set(AGGREGATES)
    expected = candidate_frame(rows, accounts, AS_OFS, specs)
    in_place = _in_place(warehouse, layout, rows)
    assert in_place.signals == {"logins", "tickets", "nps"}
    got = candidate_frame(rows.iloc[:0], accounts, AS_OFS, specs, in_place)
    assert got.dtypes.unique().tolist() == [np.float32]
    assert got.index.equals(expected.index) and list(got.columns) == list(expected.columns)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    # the cases that tell NaN from 0 from the window: each occurs, so each was compared
    first = expected.loc[pd.Timestamp(AS_OFS[0])]
    assert (first["logins_count_30d"] == 0).all() and first["logins_sum_30d"].isna().all()
    assert (first["nps_days_since_90d"] == 90).all()
    values = expected.to_numpy()
    assert np.isfinite(values).mean() > 0.5 and np.isnan(values).any()
    single = expected.index.get_level_values("account_id") == "a10"
    assert expected.loc[single, "logins_trend_90d"].isna().all()
    assert expected.loc[~single, "logins_trend_90d"].notna().any()


def test_many_as_of_days_and_a_subset_of_accounts(warehouse) -> None:  # noqa: F811
    """Daily as-of days (each window's edges are other days' as-of days and edges), weekly
    ones, days before the data; accounts asked in another order, one without rows, some of
    the table's not asked at all: still the in-memory matrix (one query per signal)."""
    rows = _rows()
    accounts = pd.Index(["a07", "a11", "a02", "a10", "a05"])
    specs = candidate_specs(["logins", "tickets", "nps"], WINDOWS)
    days = [FIRST + timedelta(days=k) for k in range(-10, 40)]
    days += [FIRST + timedelta(weeks=k) for k in range(6, 16)]
    expected = candidate_frame(rows, accounts, days, specs)
    in_place = _in_place(warehouse, "long", rows)
    got = candidate_frame(rows.iloc[:0], accounts, days, specs, in_place)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert np.isfinite(expected.to_numpy()).mean() > 0.5


def test_mixed_placement_reads_stored_rows_only_for_the_other_signals(warehouse) -> None:  # noqa: F811
    rows = _rows()
    accounts = pd.Index([f"a{i:02d}" for i in range(12)])
    specs = candidate_specs(["logins", "tickets", "nps"], WINDOWS)
    expected = candidate_frame(rows, accounts, AS_OFS, specs)
    placed = rows[rows["signal"] == "tickets"]
    in_place = _in_place(warehouse, "long", placed)
    assert in_place.signals == {"tickets"}
    # the store's own rows of an in-place signal, were there any, are never read
    stored = rows.assign(value=np.where(rows["signal"] == "tickets", -99.0, rows["value"]))
    got = candidate_frame(stored, accounts, AS_OFS, specs, in_place)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def _weak_model(folder: Path, sources: list[dict] | None) -> None:
    """Payment history and NPS only (tests/test_advise_cli.py's model): product usage, the
    strongest signal and one read in place, is left out for the advisor to find."""
    raw = yaml.safe_load(WEAK_MODEL)
    if sources:
        raw["sources"] = sources
    (folder / "healthbot.yml").write_text(yaml.safe_dump(raw))


def _advise(folder: Path, capsys, monkeypatch) -> dict:
    proposal = folder / "proposed.yml"
    options = ["--json", "--output", str(proposal)]
    out = _run(folder, ["calibrate", "--advise", *options], capsys, monkeypatch)
    out.pop("proposed_file")  # paths differ; the proposal's text is compared instead
    out.pop("diff")
    text = yaml.safe_load(proposal.read_text()) if proposal.exists() else None
    if text is not None:
        text.pop("sources", None)  # the one part that differs: where the signals are
    return {"advice": out, "proposal": text}


@pytest.mark.parametrize(
    "kind", ["duckdb", "mixed", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_advise_in_place_equals_copied_rows(kind, tmp_path, request, capsys, monkeypatch) -> None:
    portfolio = generate_portfolio(seed=5, accounts=300, weeks=30, end=END)
    expected, got = copied_then_placed(
        kind,
        tmp_path,
        portfolio,
        request,
        _weak_model,
        lambda folder: _advise(folder, capsys, monkeypatch),
    )
    assert got == expected
    # every signal but the excluded one was a candidate (every aggregate over 30 days)
    signals = set(portfolio.signals["signal"]) - {"tickets_opened"}
    current = 2  # the model's own metrics: max over 90 days, last over 180
    assert expected["advice"]["candidates"] == len(signals) * len(AGGREGATES) + current
    assert expected["proposal"] is not None
    added = [c["definition"] for c in expected["advice"]["changes"] if c["change"] == "added"]
    assert any("active_users" in d for d in added), added  # in place in every kind
