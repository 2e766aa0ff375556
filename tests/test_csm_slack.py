"""CSM judgement entered in Slack, through the real HTTP app with signed requests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack.access import AccessControl
from scoring.config import Model
from scoring.config.sections import Access
from scoring.engine.score import score_accounts
from scoring.store import load_accounts, load_signals
from scoring.store.audit_trail import audit_trail
from scoring.store.csm_inputs import load_csm_inputs
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.test_slack_app_support import (
    RunningApp,
    demo_database,
    running_app,
    texts_of,
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
    app: RunningApp,
    view: dict[str, Any],
    values: dict[str, Any],
    user: str = "U1",
    view_id: str = "V1",
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
        "view": view | {"id": view_id, "state": {"values": state}},
    }
    return app.client.interact(payload)


def today(app: RunningApp) -> dt.date:
    from bot.slack.cards import today_in

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
    text = texts_of(reply)
    assert "Only the account's owner or a healthbot admin may override the score of" in text
    assert "it belongs to alice@example.com, not to you (bob@example.com)" in text
    assert reply["response_type"] == "ephemeral"
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


# ---- the admin path: `access.admins` lets people who own nothing override any account ------

LEADS_GROUP = "S0LEADS01"  # @cs-leads
LEADS_CHANNEL = "C0LEADS01"  # #cs-leads, a private channel the bot is in
MEMBERSHIP_METHODS = (
    "usergroups.list",
    "usergroups.users.list",
    "conversations.list",
    "conversations.members",
)
Demo = tuple[Engine, Model, pd.DataFrame]


@pytest.fixture(params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path, slack_double: SlackDouble) -> Iterator[Demo]:
    """The demo portfolio, and a workspace where carol (U3) leads CS and dave (U4) does not:
    carol is the only member of the user group @cs-leads and of the channel #cs-leads; dave is
    in #general and @all with alice and bob. Neither owns an account."""
    slack_double.add_user("carol@example.com", "U3", "carol")
    slack_double.add_user("dave@example.com", "U4", "dave")
    slack_double.add_usergroup(LEADS_GROUP, ["U3"], handle="cs-leads", name="CS leads")
    slack_double.add_usergroup("S1", ["U1", "U2", "U4"], handle="all", name="All CSMs")
    slack_double.add_channel("cs-leads", LEADS_CHANNEL, is_private=True, members=["U3"])
    slack_double.set_channel_members("general", ["U1", "U2", "U4"])
    with demo_database(request.param, tmp_path) as (engine, model, accounts):
        assert not {"carol@example.com", "dave@example.com"} & set(accounts["owner_email"])
        yield engine, model, accounts


@contextmanager
def app_with_admins(demo: Demo, double: SlackDouble, admins: list[str]) -> Iterator[RunningApp]:
    engine, model, accounts = demo
    configured = model.model_copy(update={"access": Access(admins=admins)})
    with running_app(engine, configured, double) as running:
        running.accounts = accounts  # type: ignore[attr-defined]
        yield running


def refusal(app: RunningApp, text: str, user: str, name: str) -> str:
    """The ephemeral answer to `/health text` from `user`, as one string."""
    assert app.client.command(text, app.double.response_url(name), user) == 200
    reply = wait_for(lambda: app.double.responses(name), what="the refusal")[0]
    assert reply["response_type"] == "ephemeral"
    return texts_of(reply)


def test_an_admin_who_is_not_the_owner_overrides_and_it_is_audited(
    demo: Demo, slack_double: SlackDouble
) -> None:
    with app_with_admins(demo, slack_double, ["@cs-leads"]) as app:
        account_id, name = alice_account(app)
        view = opened_view(app, f"override {name}", user="U3")
        assert view["callback_id"] == "csm_override_modal"
        assert json.loads(view["private_metadata"])["account_id"] == account_id
        assert slack_double.responses("r") == []  # opened, not refused
        until = (today(app) + dt.timedelta(days=14)).isoformat()
        values = {"score": "80", "reason": "Renewal signed early", "until": until}
        assert submit(app, view, values, user="U3") == (200, b"")
    stored = load_csm_inputs(app.engine)
    assert len(stored) == 1
    row = stored.iloc[0]
    assert (row["kind"], row["account_id"], row["override_score"]) == ("override", account_id, 80)
    assert (row["user_id"], row["user_email"]) == ("U3", "carol@example.com")
    assert row["valid_until"] == dt.date.fromisoformat(until)
    trail = audit_trail(app.engine, [account_id])
    assert list(trail["who"]) == ["carol@example.com"] and list(trail["what"]) == ["override"]
    assert list(trail["why"]) == ["Renewal signed early"]
    assert trail.iloc[0]["detail"].startswith("score set to 80")
    # carol was found through the group's handle, by the Web API
    assert [c.params.get("usergroup") for c in slack_double.calls("usergroups.users.list")] == [
        LEADS_GROUP
    ]


def test_a_non_owner_who_is_not_an_admin_is_refused_and_nothing_is_stored(
    demo: Demo, slack_double: SlackDouble
) -> None:
    with app_with_admins(demo, slack_double, ["@cs-leads", "#cs-leads"]) as app:
        account_id, name = alice_account(app)
        text = refusal(app, f"override {name}", "U4", "dave")
        assert "Only the account's owner or a healthbot admin may override the score of" in text
        assert "you are not a healthbot admin" in text
        assert name in text
        assert slack_double.calls("views.open") == []
        # both admin entries were looked up: dave is refused for not being in them
        assert slack_double.calls("usergroups.users.list")
        assert [c.params["channel"] for c in slack_double.calls("conversations.members")] == [
            LEADS_CHANNEL
        ]
        # a submission of the owner's modal sent as dave is refused inside the modal as well
        view = opened_view(app, f"override {name}")
        until = (today(app) + dt.timedelta(days=14)).isoformat()
        values = {"score": "90", "reason": "I say so", "until": until}
        status, body = submit(app, view, values, user="U4")
        assert status == 200
        assert json.loads(body) == {
            "response_action": "errors",
            "errors": {
                "score": f"Only the account's owner or a healthbot admin may override the score"
                f" of {name}, and it belongs to alice@example.com, not to you (dave@example.com);"
                " you are not a healthbot admin. Nothing was recorded."
            },
        }
    assert load_csm_inputs(app.engine).empty
    assert audit_trail(app.engine, [account_id]).empty


@pytest.mark.parametrize(
    ("entry", "lookups"),
    [
        ("@cs-leads", {"usergroups.list", "usergroups.users.list"}),
        (f"@{LEADS_GROUP}", {"usergroups.users.list"}),
        ("#cs-leads", {"conversations.list", "conversations.members"}),
        (f"#{LEADS_CHANNEL}", {"conversations.members"}),
        (LEADS_CHANNEL, {"conversations.members"}),
        ("U3", set()),
    ],
)
def test_admins_are_named_by_user_group_channel_or_user_id(
    demo: Demo, slack_double: SlackDouble, entry: str, lookups: set[str]
) -> None:
    with app_with_admins(demo, slack_double, [entry]) as app:
        _, name = alice_account(app)
        view = opened_view(app, f"override {name}", user="U3")
        assert view["callback_id"] == "csm_override_modal"
        assert "healthbot admin" in refusal(app, f"override {name}", "U4", "dave")
        assert len(slack_double.calls("views.open")) == 1
    assert {m for m in MEMBERSHIP_METHODS if slack_double.calls(m)} == lookups


def test_an_admin_is_refused_while_their_group_cannot_be_read(
    demo: Demo, slack_double: SlackDouble
) -> None:
    with app_with_admins(demo, slack_double, [f"@{LEADS_GROUP}"]) as app:
        _, name = alice_account(app)
        slack_double.fail_next("usergroups.users.list", status=500)
        assert "healthbot admin" in refusal(app, f"override {name}", "U3", "carol")
        assert slack_double.pending_faults() == {}
        assert slack_double.calls("views.open") == []
    assert load_csm_inputs(app.engine).empty


def test_admin_channel_members_are_read_past_the_first_page(slack_double: SlackDouble) -> None:
    crowd = [f"U{i:08d}" for i in range(1, 2501)]
    slack_double.add_channel("all-hands", "C0CROWD01", members=crowd)
    client = WebClient(token=TEST_TOKEN, base_url=slack_double.url + "/api/")
    access = AccessControl(Access(admins=["#all-hands"]), client)
    assert access.is_admin("U00002400") and access.is_admin("U00000001")
    assert not access.is_admin("U1") and not access.is_admin(None)
    pages = slack_double.calls("conversations.members")
    assert [len(c.response["members"]) for c in pages] == [1000, 1000, 500]  # read once, cached
    assert "cursor" not in pages[0].params and all(c.params["cursor"] for c in pages[1:])
