"""The band thresholds that apply are in sight: the card and the alert DM name the account's
segment's own thresholds ("enterprise: healthy ≥ 85, at risk ≥ 70"), and the digest chart,
which draws the top-level ones, says which segments differ."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs.weekly import run_weekly
from bot.messages.digest_render import render_digests
from scoring.batch.digest_inputs import load_digest_inputs
from scoring.batch.views import load_period
from scoring.config.sections import DigestTarget
from scoring.decisions.card import band_thresholds, segments_with_own_bands
from tests.databases import BACKENDS
from tests.pipeline_fixtures import END, owners, prepare
from tests.slack_double import SlackDouble
from tests.test_digest import prepare_weeks
from tests.test_pipeline import workspace
from tests.test_slack_app_support import demo_database, running_app

ENTERPRISE = "enterprise: healthy ≥ 85, at risk ≥ 70"
TOP_LEVEL = "healthy ≥ 80, at risk ≥ 50"


def test_thresholds_name_a_segment_only_when_it_has_its_own(engine) -> None:
    model = prepare(engine).model
    assert band_thresholds(model, "enterprise") == {
        "segment": "enterprise",
        "bands": [
            {"name": "healthy", "label": "healthy", "min": 85.0},
            {"name": "at_risk", "label": "at risk", "min": 70.0},
        ],
    }
    assert band_thresholds(model, None)["segment"] is None
    assert band_thresholds(model, "no-such-segment") == band_thresholds(model, None)
    assert [t["segment"] for t in segments_with_own_bands(model, [None, "enterprise"])] == [
        "enterprise"
    ]
    assert segments_with_own_bands(model, [None, float("nan")]) == []


def test_the_alert_dm_names_each_accounts_thresholds(engine, slack_double: SlackDouble) -> None:
    prepared = prepare(engine, accounts=200)
    transport = workspace(slack_double, owners(prepared.portfolio))
    run_weekly(engine, prepared.model, Path("."), END - timedelta(days=7), transport, sync=False)
    slack_double.reset()
    run_weekly(engine, prepared.model, Path("."), END, transport, sync=False)
    accounts = prepared.portfolio.accounts.set_index("name")
    checked = {True: 0, False: 0}
    for call in slack_double.calls("chat.postMessage"):
        if not str(call.params.get("channel", "")).startswith("U"):
            continue
        for block in call.params["blocks"]:
            text = (block.get("text") or {}).get("text", "")
            if block["type"] != "section" or not text.startswith("*") or "\n" not in text:
                continue
            name = text[1:].split("*  ", 1)[0]
            if name not in accounts.index:
                continue
            enterprise = accounts.loc[name, "segment"] == "Enterprise"
            first_line = text.split("\n", 1)[0]
            assert first_line.endswith(ENTERPRISE if enterprise else TOP_LEVEL), first_line
            checked[bool(enterprise)] += 1
    assert checked[True] and checked[False], checked


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_card_says_which_thresholds_apply(kind: str, tmp_path, slack_double) -> None:
    with demo_database(kind, tmp_path) as (engine, model, accounts):
        scored = set(load_period(engine).scores["account_id"])
        with running_app(engine, model, slack_double) as app:
            for segment, expected in (("Enterprise", f"for {ENTERPRISE}"), ("SMB", TOP_LEVEL)):
                mine = accounts[
                    (accounts["segment"] == segment) & accounts["account_id"].isin(scored)
                ]
                card = app.command(str(mine.iloc[0]["account_id"]), segment)
                headline = card["blocks"][1]["text"]["text"]
                assert headline.endswith(
                    f"_Bands{'' if segment == 'Enterprise' else ':'} {expected}_"
                )


def test_the_digest_chart_says_when_segments_differ(engine) -> None:
    prepared = prepare_weeks(engine)
    view = load_period(engine, "2026-W47")
    model = prepared.model.model_copy(
        update={
            "digest": [
                DigestTarget(channel="all"),
                DigestTarget(channel="smb", where={"segment": "SMB"}),
            ]
        }
    )
    inputs = load_digest_inputs(engine, model, view, END, prepared.portfolio.accounts)
    everyone, smb = render_digests(model, inputs)
    note = everyone.labels["thresholds_note"]
    assert note == (f"Dotted lines: {TOP_LEVEL}. Thresholds differ by segment: {ENTERPRISE}.")
    assert note in everyone.labels["alt_text"]
    assert smb.labels["thresholds_note"] == ""  # no account in it has thresholds of its own
    assert everyone.chart.startswith(b"\x89PNG")  # the note fits the picture's layout
