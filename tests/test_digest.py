"""The digest's numbers against the stored snapshots (SQLite and PostgreSQL), band colours and
order, the quiet line, and a 100,000-account portfolio rendered within Slack's limits."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.messages.chart import render_chart
from bot.messages.digest_context import (
    LIST_LIMIT,
    THREAD_LIMIT,
    csv_name,
    digest_context,
    overflow_contexts,
    section_csv,
)
from bot.messages.render import MAX_BLOCKS, MAX_FALLBACK_TEXT, MAX_SECTION_TEXT, render_message
from scoring.batch.jobs import score_and_store
from scoring.batch.views import PeriodView, load_period
from scoring.config import INSUFFICIENT_DATA, Model
from scoring.decisions.digest import build_digest
from scoring.decisions.digest_trend import trend_periods, weekly_trend
from scoring.store import load_snapshots
from tests.pipeline_fixtures import END, Prepared, demo_model, prepare
from tests.test_chart import png_size

PERIOD, BEFORE = "2026-W47", "2026-W46"


def prepare_weeks(engine: Engine, accounts: int = 60, **overrides: object) -> Prepared:
    """A generated portfolio scored for 14 weeks up to 2026-W47, so the trend has 12."""
    prepared = prepare(engine, accounts=accounts, weeks_of_history=12, **overrides)
    score_and_store(engine, prepared.model, [END - timedelta(days=7), END])
    return prepared


def stored(engine: Engine, period: str) -> pd.DataFrame:
    """A period's snapshots with each account's ARR, read with plain SQL: the digest's
    numbers are checked against this, not against the code that computed them."""
    query = sa.text(
        "select s.account_id, s.score_shown, s.band, s.band_rank, a.arr"
        " from score_snapshots s join accounts a on a.account_id = s.account_id"
        " where s.period = :p"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"p": period}).all()
    frame = pd.DataFrame(rows, columns=["account_id", "score", "band", "rank", "arr"])
    return frame.astype({"score": float, "rank": float, "arr": float}).set_index("account_id")


def test_numbers_match_the_stored_snapshots(engine: Engine) -> None:
    prepared = prepare_weeks(engine)
    model = prepared.model
    digest = build_digest(model, load_period(engine, PERIOD), END)
    now, before = stored(engine, PERIOD), stored(engine, BEFORE)
    before = before[before.index.isin(now.index)]
    assert digest.accounts == len(now) > 0
    for band in digest.bands:
        mine = now[now["band"] == band["name"]]
        assert band["accounts"] == len(mine), band["name"]
        assert band["arr"] == pytest.approx(mine["arr"].fillna(0).sum()), band["name"]
        assert band["change"] == len(mine) - (before["band"] == band["name"]).sum()
    assert sum(b["accounts"] for b in digest.bands) == len(now)
    at_risk = now["arr"][now["rank"].notna() & (now["rank"] > 0)].fillna(0).sum()
    assert digest.arr_at_risk == pytest.approx(at_risk) and at_risk > 0
    risky_before = before.index[before["rank"].notna() & (before["rank"] > 0)]
    was = now.loc[risky_before, "arr"].fillna(0).sum()
    assert digest.arr_at_risk_change == pytest.approx(at_risk - was)
    assert digest.average_score == pytest.approx(now["score"].mean())

    delta = (now["score"] - before["score"].reindex(now.index)).round(1).dropna()
    for frame, sign in ((digest.drops, -1), (digest.gains, 1)):
        expected = delta[delta * sign > 0]
        assert len(frame) == len(expected) > LIST_LIMIT
        shown = frame.head(LIST_LIMIT)
        assert shown["delta"].tolist() == pytest.approx(
            sorted(expected, key=lambda d: -sign * d)[:LIST_LIMIT]
        )
        for row in shown.itertuples():
            assert row.delta == pytest.approx(delta[row.account_id])
    fell = now.index[now["rank"] > before["rank"].reindex(now.index)]
    assert set(digest.downgrades["account_id"]) == set(fell)
    assert digest.drops["driver_label"].head(LIST_LIMIT).notna().any()


def test_trend_ends_on_the_digest_week_and_agrees_with_it(engine: Engine) -> None:
    prepared = prepare_weeks(engine)
    digest = build_digest(prepared.model, load_period(engine, PERIOD), END)
    periods = trend_periods(PERIOD)
    snapshots, _ = load_snapshots(engine, periods)
    arr = stored(engine, PERIOD)["arr"]
    accounts = prepared.portfolio.accounts.set_index("account_id")["arr"]
    trend = weekly_trend(snapshots, accounts, periods)
    assert len(trend) == 12 and trend["period"].iloc[-1] == PERIOD
    assert trend["accounts"].min() > 0  # twelve scored weeks, no gaps
    last = trend.iloc[-1]
    assert last["arr_at_risk"] == pytest.approx(digest.arr_at_risk)
    assert last["average_score"] == pytest.approx(digest.average_score)
    assert last["accounts"] == len(arr)
    week = stored(engine, periods[0])
    risky = week["arr"][week["rank"].notna() & (week["rank"] > 0)].fillna(0).sum()
    assert trend["arr_at_risk"].iloc[0] == pytest.approx(risky)


def test_bands_keep_the_model_order_and_colours(engine: Engine) -> None:
    bands = [
        {"name": "healthy", "min": 80, "color": "blue"},
        {"name": "at_risk", "min": 50, "color": "orange", "emoji": "🚧"},
        {"name": "critical", "min": 0},
    ]
    prepared = prepare_weeks(engine, accounts=40, bands=bands, segments={})
    model = prepared.model
    digest = build_digest(model, load_period(engine, PERIOD), END)
    assert [b["name"] for b in digest.bands] == [
        "healthy",
        "at_risk",
        "critical",
        INSUFFICIENT_DATA,
    ]
    assert [b["color"] for b in digest.bands] == ["blue", "orange", "red", "grey"]
    context = digest_context(model, digest)
    assert [b["emoji"] for b in context["bands"]] == ["🔵", "🚧", "🔴", "⚪"]
    message = render_message("digest", **context)
    distribution = message.blocks[2]["text"]["text"].splitlines()
    assert [line.split(" ")[0] for line in distribution] == ["🔵", "🚧", "🔴", "⚪"]
    for line, band in zip(distribution, digest.bands, strict=True):
        plural = "s" if band["accounts"] != 1 else ""
        assert f": {band['accounts']} account{plural}," in line


def synthetic_view(n: int, seed: int = 3, moved: bool = True) -> tuple[PeriodView, pd.Series]:
    """A PeriodView of `n` accounts built with numpy (no database, no engine): long names full
    of mrkdwn-special characters, every list long. Returns the view and stale days."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("acc-", np.arange(n).astype(str)).astype(object)
    score = rng.uniform(0, 100, n).round(1)
    score[rng.random(n) < 0.02] = np.nan
    rank = np.select([score >= 80, score >= 50], [0, 1], 2).astype(float)
    rank[np.isnan(score)] = np.nan
    names = np.array(["healthy", "at_risk", "critical"], dtype=object)
    band = np.where(np.isnan(rank), INSUFFICIENT_DATA, names[np.nan_to_num(rank).astype(int)])
    step = rng.normal(0, 8, n).round(1) if moved else np.zeros(n)
    previous = np.clip(score - step, 0, 100)
    was = np.select([previous >= 80, previous >= 50], [0, 1], 2).astype(float)
    change = np.select([rank > was, rank < was], ["down", "up"], "same").astype(object)
    change[np.isnan(rank)] = None
    long_name = "Bright & Early <Bakeries> " * 12
    scores = pd.DataFrame(
        {
            "account_id": ids,
            "name": np.where(np.arange(n) % 2 == 0, long_name, "Acme Corp").astype(object),
            "owner_email": "csm@example.com",
            "segment": "SMB",
            "arr": rng.uniform(5e3, 1e6, n).round(-2),
            "renewal_date": pd.Timestamp(END) + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "score_shown": score,
            "band": band,
            "band_rank": pd.array(np.where(np.isnan(rank), None, rank), dtype="Int64"),
            "previous_score": previous,
            "delta": np.where(np.isnan(score), np.nan, (score - previous).round(1)),
            "previous_delta": rng.normal(1, 3, n).round(1),
            "band_change": change,
        }
    )
    drivers = pd.DataFrame({"account_id": ids, "metric": "logins", "delta_points": -step})
    prev = pd.DataFrame(
        {
            "account_id": ids,
            "band": names[was.astype(int)],
            "band_rank": pd.array(was.astype(int), dtype="Int64"),
        }
    )
    view = PeriodView.of(PERIOD, scores, pd.DataFrame(), drivers, BEFORE, prev)
    stale = pd.Series(rng.integers(14, 60, n // 10), index=ids[: n // 10])
    return view, stale


def _model() -> Model:
    return demo_model(segments={})


def test_100000_accounts_stay_within_slacks_limits() -> None:
    model = _model()
    view, stale = synthetic_view(100_000)
    digest = build_digest(model, view, END, stale=stale)
    lists = [digest.drops, digest.gains, digest.downgrades, digest.renewals, digest.expansion]
    assert min(len(frame) for frame in [*lists, digest.data_quality]) > LIST_LIMIT + THREAD_LIMIT
    assert digest.accounts == 100_000
    threads = overflow_contexts(model, digest)
    contexts = [("digest", digest_context(model, digest))]
    for template, context in contexts + [("digest_thread", c) for c in threads]:
        message = render_message(template, **context)
        assert 0 < len(message.blocks) <= MAX_BLOCKS
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
                assert "<Bakeries>" not in block["text"]["text"]  # escaped, never raw
        assert len(message.text) <= MAX_FALLBACK_TEXT
    main = render_message("digest", **digest_context(model, digest)).blocks
    body = "\n".join(b["text"]["text"] for b in main if b["type"] == "section")
    assert f"…and {len(digest.drops) - LIST_LIMIT} more in the thread" in body
    assert [c["sections"][0]["key"] for c in threads] == [
        "drops",
        "gains",
        "downgrades",
        "renewals",
        "expansion",
        "data_quality",
    ]
    for context in threads:  # one reply per list: 200 rows, then the whole list as a file
        section = context["sections"][0]
        key, whole = section["key"], getattr(digest, section["key"])
        blocks = render_message("digest_thread", **context).blocks
        text = "\n".join(b["text"]["text"] for b in blocks)
        assert text.count("csm@example.com") == THREAD_LIMIT, key  # none lost, none twice
        assert section["csv"] == csv_name(PERIOD, key)
        assert f"…and {len(whole) - LIST_LIMIT - THREAD_LIMIT} more: all {len(whole)} are" in text
        assert text.startswith("More from the") and ("continued" in text) != context["first"]
    drops = pd.read_csv(io.BytesIO(section_csv(digest, "drops")), encoding="utf-8-sig")
    assert len(drops) == len(digest.drops)
    assert drops["account_id"].tolist() == digest.drops["account_id"].tolist()
    assert {"account_id", "name", "owner", "score", "delta", "arr"} <= set(drops.columns)


def test_a_csv_cell_never_runs_as_a_spreadsheet_formula() -> None:
    model = _model()
    view, stale = synthetic_view(400)
    view.scores["name"] = '=HYPERLINK("https://evil")'
    digest = build_digest(model, view, END, stale=stale)
    text = section_csv(digest, "drops").decode("utf-8-sig")
    assert "'=HYPERLINK" in text and not re.search(r'(^|,)"?=', text, re.MULTILINE)


def test_100000_accounts_chart_renders_at_size() -> None:
    model = _model()
    view, _ = synthetic_view(100_000)
    trend = pd.DataFrame(
        {
            "period": trend_periods(PERIOD),
            "accounts": 100_000,
            "scored": 98_000,
            "average_score": 50.0,
            "arr_at_risk": 1e9,
        }
    )
    words = {
        "title": "t",
        "distribution": "d",
        "score_axis": "s",
        "accounts_axis": "a",
        "trend": "w",
        "average": "avg",
        "at_risk": "risk",
        "no_scores": "none",
        "legend": {},
    }
    assert png_size(render_chart(model, view.scores, trend, words)) == (1200, 600)


@pytest.mark.parametrize("quiet_line", [True, False])
def test_a_quiet_week_says_so_unless_turned_off(quiet_line: bool) -> None:
    model = _model()
    view, _ = synthetic_view(50, moved=False)
    digest = build_digest(model, view, END)
    assert digest.quiet and digest.drops.empty and digest.gains.empty
    context = digest_context(model, digest, quiet_line=quiet_line)
    message = render_message("digest", **context)
    said = [b for b in message.blocks if b["type"] == "context"]
    assert bool(said) is quiet_line
    assert ("Nothing moved this week" in message.text) is quiet_line


def test_a_scoped_digest_names_its_scope_and_counts_only_its_accounts() -> None:
    model = _model()
    view, _ = synthetic_view(400)
    view.scores.loc[view.scores.index < 100, "segment"] = "Enterprise"
    where = {"segment": "enterprise"}
    digest = build_digest(model, view, END, where=where)
    assert digest.accounts == 100
    message = render_message("digest", **digest_context(model, digest, where=where))
    assert message.blocks[0]["text"]["text"] == f"Portfolio health · {PERIOD} · segment: enterprise"
    assert message.text.startswith(f"Portfolio health · {PERIOD} · segment: enterprise\n")
    assert build_digest(model, view, END, where={"tier": "gold"}).accounts == 0  # a typo: none


def test_missing_names_and_owners_do_not_print_nan() -> None:
    model = _model()
    view, _ = synthetic_view(30)
    view.scores["name"] = None
    view.scores["owner_email"] = np.nan
    digest = build_digest(model, view, END)
    text = render_message("digest", **digest_context(model, digest)).text
    assert "nan" not in text and "acc-" in text and "· —" in text


def test_lists_with_nobody_in_them_stay_empty() -> None:
    """No renewal in the window and no data problem: empty lists, not one NaN row per account
    (pandas adopts a Series' index when a column is assigned to an empty selection)."""
    model = _model()
    view, _ = synthetic_view(40)
    scored = view.scores[view.scores["band"] != INSUFFICIENT_DATA].copy()
    scored["renewal_date"] = pd.Timestamp(END) + pd.Timedelta(days=400)
    view = replace(view, scores=scored.reset_index(drop=True))
    digest = build_digest(model, view, END, stale=pd.Series(dtype=float))
    assert digest.renewals.empty and digest.data_quality.empty and not digest.drops.empty
    keys = [s["key"] for s in digest_context(model, digest)["sections"]]
    assert "renewals" not in keys and "data_quality" not in keys
