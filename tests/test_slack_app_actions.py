"""Buttons, the outreach modal, sharing and App Home through the real HTTP app.

Every click must be stored with who and when (the pipeline's cooldown and the intervention
analysis read `account_actions`) and must redraw the message it came from in place: an alert DM
through chat.update with the payload's channel and ts, an ephemeral card through response_url.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pandas as pd
import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.messages.render import render_message
from bot.slack.cards import today_in
from scoring.store.alert_log import record_alerts
from scoring.store.clicks import load_actions
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.slack_signing import interaction_body, sign
from tests.test_slack_app import button
from tests.test_slack_app_support import (
    RunningApp,
    block_action,
    demo_database,
    mrkdwn_texts,
    running_app,
)


@pytest.fixture(params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path, slack_double: SlackDouble
) -> Iterator[RunningApp]:
    """A fresh database per test: these tests count rows in account_actions."""
    with demo_database(request.param, tmp_path) as (engine, model, accounts):
        with running_app(engine, model, slack_double) as running:
            running.accounts = accounts  # type: ignore[attr-defined]
            yield running


def actions(engine: Engine, kind: str) -> pd.DataFrame:
    frame = load_actions(engine)
    return frame[frame["kind"] == kind].reset_index(drop=True)


def post_alert_dm(app: RunningApp, account_ids: list[str]) -> dict:
    """Send alice an alert DM the way the pipeline does (alert_dm template, bot token) and
    return the message as Slack stored it."""
    model, view_items = app.model, []
    for account_id in account_ids:
        view_items.append(
            {
                "account_id": account_id,
                "name": f"Account {account_id}",
                "emoji": "🔴",
                "band_label": "critical",
                "score": 40.0,
                "previous_score": 55.0,
                "delta": -15.0,
                "arr": 50000.0,
                "renewal_date": None,
                "reasons": ["Score fell 15 points"],
                "playbook": None,
            }
        )
    message = render_message(
        "alert_dm", period="2026-W47", owner_name="Alice", items=view_items, more=0
    )
    del model
    client = WebClient(token=TEST_TOKEN, base_url=app.double.url + "/api/")
    posted = client.chat_postMessage(channel="U1", text=message.text, blocks=message.blocks)
    return app.double.messages(posted["channel"])[-1] | {"channel": posted["channel"]}


def alice_accounts(app: RunningApp) -> list[str]:
    frame = app.accounts  # type: ignore[attr-defined]
    return list(frame.loc[frame["owner_email"] == "alice@example.com", "account_id"])


def test_acknowledge_on_a_card_is_stored_and_redraws_the_card(app: RunningApp) -> None:
    frame = app.accounts  # type: ignore[attr-defined]
    mine = frame.loc[frame["owner_email"] == "alice@example.com", "name"].iloc[0]
    card = app.command(str(mine), "card")  # alice (U1) owns it: access.writes lets her ack
    ack = button(card["blocks"], "alert_ack")
    url = app.double.response_url("ack")
    status, body = app.client.interact(block_action(ack, response_url=url, ephemeral=True))
    assert (status, body) == (200, b"")
    redrawn = wait_for(lambda: app.double.responses("ack"), what="the redrawn card")[0]
    assert redrawn["replace_original"] is True
    assert any("Acknowledged by alice@example.com" in t for t in mrkdwn_texts(redrawn))
    stored = actions(app.engine, "ack")
    assert list(stored["account_id"]) == [ack["value"]]
    assert (stored.loc[0, "user_id"], stored.loc[0, "user_email"]) == ("U1", "alice@example.com")
    assert stored.loc[0, "channel_id"] == "C1" and stored.loc[0, "period"] == "2026-W47"
    age = pd.Timestamp.now(tz="UTC").tz_localize(None) - pd.Timestamp(stored.loc[0, "created_at"])
    assert dt.timedelta(0) <= age < dt.timedelta(minutes=1)


def test_snooze_and_ack_on_an_alert_dm_update_it_in_place(app: RunningApp) -> None:
    first, second = alice_accounts(app)[:2]
    dm = post_alert_dm(app, [first, second])
    select = button(dm["blocks"], "alert_snooze")
    assert select["block_id"] == f"alert:{first}"
    click = select | {"selected_option": {"text": {"type": "plain_text", "text": "2 weeks"}}}
    click["selected_option"]["value"] = f"2|{first}"
    payload = block_action(click, channel=dm["channel"], message=dm, response_url="http://x/y")
    assert app.client.interact(payload)[0] == 200
    update = wait_for(lambda: app.double.calls("chat.update"), what="chat.update")[0]
    assert (update.params["channel"], update.params["ts"]) == (dm["channel"], dm["ts"])
    until = today_in(app.model) + dt.timedelta(weeks=2)
    stored = app.double.messages(dm["channel"])[-1]
    ids = [b.get("block_id") for b in stored["blocks"]]
    assert ids.index(f"state:{first}") == ids.index(f"alert:{first}") + 1
    assert f"state:{second}" not in ids  # the other account's line is untouched
    state = stored["blocks"][ids.index(f"state:{first}")]["elements"][0]["text"]
    assert f"Snoozed until {until}" in state
    assert actions(app.engine, "snooze")["until"].astype(str).tolist() == [str(until)]

    ack = button(stored["blocks"], "alert_ack")  # the buttons are still there
    payload = block_action(ack, channel=dm["channel"], message=stored)
    assert app.client.interact(payload)[0] == 200
    wait_for(lambda: len(app.double.calls("chat.update")) == 2, what="a second chat.update")
    again = app.double.messages(dm["channel"])[-1]["blocks"]
    lines = [b for b in again if b.get("block_id") == f"state:{first}"]
    assert (
        len(lines) == 1 and "Acknowledged by alice@example.com" in lines[0]["elements"][0]["text"]
    )


def test_log_outreach_modal_round_trip(app: RunningApp) -> None:
    account = alice_accounts(app)[0]
    dm = post_alert_dm(app, [account])
    click = block_action(
        button(dm["blocks"], "alert_log_outreach"), channel=dm["channel"], message=dm
    )
    assert app.client.interact(click)[0] == 200
    opened = wait_for(lambda: app.double.calls("views.open"), what="views.open")[0]
    assert opened.params["trigger_id"] == click["trigger_id"]
    view = opened.params["view"]
    assert view["callback_id"] == "outreach_modal"
    assert {b.get("block_id") for b in view["blocks"]} >= {"note", "outcome"}

    def submit(note: str, outcome: str | None) -> tuple[int, bytes]:
        values = {"note": {"note": {"type": "plain_text_input", "value": note}}}
        chosen = {"value": outcome} if outcome else None
        values["outcome"] = {"outcome": {"type": "static_select", "selected_option": chosen}}
        payload = {
            "type": "view_submission",
            "team": {"id": "T0TEAM0001"},
            "user": {"id": "U1", "name": "alice"},
            "api_app_id": "A0APP00001",
            "trigger_id": "999.888.777",
            "view": view | {"id": "V1", "state": {"values": values}},
        }
        return app.client.interact(payload)

    status, body = submit("   ", "reached")
    assert status == 200
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"note": "Write a short note about what you did."},
    }
    assert json.loads(submit("Called the VP", None)[1])["errors"] == {
        "outcome": "Pick how it went."
    }
    note = "Called the VP <!channel> & agreed a usage review"
    assert submit(note, "meeting_booked") == (200, b"")
    stored = wait_for(lambda: len(actions(app.engine, "outreach")), what="the outreach row")
    assert stored == 1  # the two refused submissions stored nothing
    row = actions(app.engine, "outreach").iloc[0]
    assert (row["note"], row["outcome"], row["user_id"]) == (note, "meeting_booked", "U1")
    update = wait_for(lambda: app.double.calls("chat.update"), what="the DM redrawn")[0]
    assert update.params["ts"] == dm["ts"]
    line = next(b for b in update.params["blocks"] if b.get("block_id") == f"state:{account}")
    text = line["elements"][0]["text"]
    assert "Last outreach: Called the VP &lt;!channel&gt; &amp; agreed" in text
    assert "<!channel>" not in text


def test_share_posts_the_card_in_the_channel(app: RunningApp) -> None:
    card = app.command("acme", "to-share")
    share = button(card["blocks"], "card_share")
    url = app.double.response_url("shared")
    assert app.client.interact(block_action(share, response_url=url, ephemeral=True))[0] == 200
    post = wait_for(lambda: app.double.calls("chat.postMessage"), what="the shared card")[0]
    assert post.params["channel"] == "C1"
    actions_ids = [e.get("action_id") for b in post.params["blocks"] for e in b.get("elements", [])]
    assert "card_share" not in actions_ids and "alert_ack" in actions_ids
    assert "Acme Corp" in post.params["text"]

    app.double.add_channel("private-ish", "C9", is_member=False)
    url = app.double.response_url("fallback")
    click = block_action(share, response_url=url, ephemeral=True, channel="C9")
    assert app.client.interact(click)[0] == 200
    posted = wait_for(lambda: app.double.responses("fallback"), what="in_channel via response_url")
    assert posted[0]["response_type"] == "in_channel"


def test_sharing_a_list_reposts_it_without_the_share_button(app: RunningApp) -> None:
    mine = app.command("mine", "mine")
    share = button(mine["blocks"], "health_share")
    assert app.client.interact(block_action(share, response_url="http://127.0.0.1:9/x"))[0] == 200
    post = wait_for(lambda: app.double.calls("chat.postMessage"), what="the shared list")[0]
    assert post.params["blocks"][0]["text"]["text"] == "Your accounts, worst first"
    assert "health_share" not in json.dumps(post.params["blocks"])


def test_app_home_shows_the_users_portfolio_and_open_alerts(app: RunningApp) -> None:
    mine = alice_accounts(app)
    alerts = pd.DataFrame(
        {
            "account_id": mine[:2],
            "rule": "score_drop",
            "severity": "warning",
            "reason": ["Score fell 12 points <!here>", "Score fell 11 points"],
            "score_shown": 40.0,
            "band_rank": 2,
        }
    )
    record_alerts(app.engine, alerts, "2026-W47", today_in(app.model))
    assert app.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"}) == 200
    home = wait_for(lambda: app.double.home_view("U1"), what="views.publish")
    assert home["type"] == "home"
    text = "\n".join(mrkdwn_texts(home["blocks"]))
    assert "*4 accounts*" in text and "alice@example.com" in text
    assert "*Open alerts*" in text and "Score fell 12 points &lt;!here&gt;" in text
    assert "<!here>" not in text
    cards = [b["accessory"]["value"] for b in home["blocks"] if b.get("accessory")]
    assert set(mine[:2]) <= set(cards)

    ack = {"action_id": "alert_ack", "value": mine[0], "block_id": f"alert:{mine[0]}"}
    payload = block_action(ack, response_url=app.double.response_url("home-ack"), ephemeral=True)
    assert app.client.interact(payload)[0] == 200
    wait_for(lambda: len(actions(app.engine, "ack")), what="the ack")
    app.double.reset()
    assert app.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"}) == 200
    again = wait_for(lambda: app.double.home_view("U1"), what="the refreshed tab")
    text = "\n".join(mrkdwn_texts(again["blocks"]))
    assert "Score fell 11 points" in text and "Score fell 12 points" not in text


def test_a_card_button_in_app_home_sends_the_card_by_dm(app: RunningApp) -> None:
    account = alice_accounts(app)[0]
    payload = block_action({"action_id": "health_open", "value": account})
    payload["container"] = {"type": "view", "view_id": "V123"}
    assert app.client.interact(payload)[0] == 200
    post = wait_for(lambda: app.double.calls("chat.postMessage"), what="the card by DM")[0]
    assert post.params["channel"] == "U1"
    assert button(post.params["blocks"], "alert_ack")["value"] == account


def test_a_click_on_a_deleted_account_says_the_button_expired(app: RunningApp) -> None:
    click = {"action_id": "alert_ack", "value": "acc-gone", "block_id": "card:acc-gone"}
    url = app.double.response_url("gone")
    assert app.client.interact(block_action(click, response_url=url, ephemeral=True))[0] == 200
    reply = wait_for(lambda: app.double.responses("gone"), what="the expired notice")[0]
    assert reply["text"].startswith("That button belongs to an older message")
    assert actions(app.engine, "ack").empty


def test_an_unsigned_click_changes_nothing(app: RunningApp) -> None:
    click = {"action_id": "alert_ack", "value": alice_accounts(app)[0]}
    body = interaction_body(block_action(click, response_url=app.double.response_url("x")))
    headers = sign(body, "not-the-secret")
    assert app.client.post(body, headers)[0] == 401
    assert actions(app.engine, "ack").empty and not app.double.responses("x")


def test_a_new_scoring_run_reaches_the_cards_with_its_override(app: RunningApp) -> None:
    """The per-process cache notices the rescored period (its write time changed) within
    seconds, without a restart, and the card shows the override with who set it and why."""
    from scoring.batch.jobs import score_and_store
    from scoring.store.overrides import add_override
    from tests.test_slack_app_support import END

    before = app.command("northwind", "before")
    assert not any("Overridden" in t for t in mrkdwn_texts(before))
    account = button(before["blocks"], "alert_ack")["value"]
    add_override(
        app.engine,
        account,
        score=12.0,
        reason="Champion left <!here>",
        entered_on=END,
        valid_until=END + dt.timedelta(days=30),
        max_days=90,
        user_email="alice@example.com",
    )
    score_and_store(app.engine, app.model, [END])

    def overridden() -> list[str]:
        name = f"after-{len(app.double.calls('auth.test'))}-{dt.datetime.now().timestamp()}"
        reply = app.command("northwind", name)
        return [t for t in mrkdwn_texts(reply) if "Overridden" in t]

    lines = wait_for(overridden, 30, "the override on the card")
    assert "Overridden* by alice@example.com" in lines[0]
    assert "Champion left &lt;!here&gt;" in lines[0] and "<!here>" not in lines[0]
