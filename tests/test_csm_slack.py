"""CSM judgement entered in Slack, through the real HTTP app with signed requests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from scoring.config import Model
from scoring.engine import score_accounts
from scoring.store import load_accounts, load_signals
from scoring.store.actions import audit_trail, load_csm_inputs
from tests.slack_double import SlackDouble
from tests.test_slack_app_support import (
    BACKENDS,
    RunningApp,
    demo_database,
    running_app,
    texts_of,
    wait_for,
)


@pytest.fixture(params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path, slack_double: SlackDouble
) -> Iterator[RunningApp]:
    with demo_database(request.param, tmp_path) as (engine, model, accounts):
        with running_app(engine, model, slack_double) as running:
            running.accounts = accounts  # type: ignore[attr-defined]
            yield running


def alice_account(app: RunningApp) -> tuple[str, str]:
    frame = app.accounts  # type: ignore[attr-defined]
    row = frame[frame["owner_email"] == "alice@example.com"].iloc[0]
    return str(row["account_id"]), str(row["name"])


def opened_view(app: RunningApp, text: str, user: str = "U1") -> dict[str, Any]:
    assert app.client.command(text, app.double.response_url("r"), user) == 200
    return wait_for(lambda: app.double.calls("views.open"), what="views.open")[-1].params["view"]


def submit(
    app: RunningApp, view: dict[str, Any], values: dict[str, Any], user: str = "U1"
) -> tuple[int, bytes]:
    state = {}
    for block, value in values.items():
        if block in ("sentiment", "champion"):
            element = {
                "type": "static_select",
                "selected_option": {"value": value} if value else None,
            }
        elif block == "until":
            element = {"type": "datepicker", "selected_date": value}
        else:
            element = {"type": "plain_text_input", "value": value}
        state[block] = {block: element}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM0001"},
        "user": {"id": user, "name": "someone"},
        "api_app_id": "A0APP00001",
        "trigger_id": "1.2.3",
        "view": view | {"id": "V1", "state": {"values": state}},
    }
    return app.client.interact(payload)


def today(app: RunningApp) -> dt.date:
    from bot.cards import today_in

    return today_in(app.model)


def test_note_modal_round_trip_and_the_signal_in_the_next_score(app: RunningApp) -> None:
    account_id, name = alice_account(app)
    view = opened_view(app, f"note {name}")
    assert view["callback_id"] == "csm_note_modal"
    assert json.loads(view["private_metadata"])["account_id"] == account_id
    later = (today(app) + dt.timedelta(days=30)).isoformat()
    status, body = submit(
        app, view, {"sentiment": "2", "champion": "left", "reason": "  ", "until": later}
    )
    assert status == 200 and set(json.loads(body)["errors"]) == {"reason"}
    past = (today(app) - dt.timedelta(days=1)).isoformat()
    status, body = submit(
        app, view, {"sentiment": "2", "champion": "left", "reason": "VP left", "until": past}
    )
    assert set(json.loads(body)["errors"]) == {"until"}
    assert load_csm_inputs(app.engine).empty  # refused submissions stored nothing
    assert submit(
        app,
        view,
        {
            "sentiment": "2",
            "champion": "left",
            "reason": "Champion left <!channel>",
            "until": later,
        },
    ) == (200, b"")
    stored = load_csm_inputs(app.engine)
    assert len(stored) == 1 and stored.iloc[0]["user_email"] == "alice@example.com"
    model = Model.model_validate(
        {
            "metrics": {
                "sentiment": {
                    "signal": "csm_sentiment",
                    "aggregate": "last",
                    "window_days": 90,
                    "scale": {"worst": 1, "best": 5},
                    "weight": 1,
                }
            }
        }
    )
    day = today(app)
    signals = load_signals(app.engine, day - dt.timedelta(days=90), day)
    scored = score_accounts(model, load_accounts(app.engine), signals, day)
    metric = scored.metrics.set_index("account_id").loc[account_id]
    assert metric["raw"] == 2 and metric["metric_score"] == pytest.approx(25.0)
    trail = audit_trail(app.engine, [account_id])
    assert list(trail["why"]) == ["Champion left <!channel>"]


def test_override_is_refused_to_someone_who_is_not_the_owner(app: RunningApp) -> None:
    _, name = alice_account(app)
    assert app.client.command(f"override {name}", app.double.response_url("bob"), "U2") == 200
    reply = wait_for(lambda: app.double.responses("bob"), what="the refusal")[0]
    assert "Only the owner" in texts_of(reply)
    assert app.double.calls("views.open") == []


def test_override_by_the_owner_with_inline_errors(app: RunningApp) -> None:
    account_id, name = alice_account(app)
    view = opened_view(app, f"override {name}")
    assert view["callback_id"] == "csm_override_modal"
    until = (today(app) + dt.timedelta(days=14)).isoformat()
    status, body = submit(app, view, {"score": "150", "reason": "data wrong", "until": until})
    assert set(json.loads(body)["errors"]) == {"score"}
    assert submit(app, view, {"score": "35", "reason": "Usage feed broken", "until": until}) == (
        200,
        b"",
    )
    stored = load_csm_inputs(app.engine)
    assert list(stored["kind"]) == ["override"] and stored.iloc[0]["override_score"] == 35
    assert stored.iloc[0]["account_id"] == account_id


def test_note_for_an_unknown_account_answers_with_the_closest_names(app: RunningApp) -> None:
    assert app.client.command("note qqqqqqqq", app.double.response_url("x"), "U1") == 200
    reply = wait_for(lambda: app.double.responses("x"), what="the reply")[0]
    assert "No account matches" in texts_of(reply)
    assert app.double.calls("views.open") == [] and load_csm_inputs(app.engine).empty


def test_the_card_has_an_add_note_button_that_opens_the_modal(app: RunningApp) -> None:
    from tests.test_slack_app import button
    from tests.test_slack_app_support import block_action

    _, name = alice_account(app)
    card = app.command(name, "card")
    click = block_action(
        button(card["blocks"], "card_note"), response_url="http://x", ephemeral=True
    )
    assert app.client.interact(click)[0] == 200
    view = wait_for(lambda: app.double.calls("views.open"), what="views.open")[0].params["view"]
    assert view["callback_id"] == "csm_note_modal"
