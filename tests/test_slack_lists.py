"""Lists that deliver what they promise, through the real HTTP app with signed requests:
`/health mine`, `/health at-risk` and App Home page through every account; the alert DM's
"and N more" opens the owner's full list of the week's alerts, and opening an account from it
counts its alert as shown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from bot.messages.render import render_message
from bot.slack.cards import today_in
from bot.slack.listeners.answers import PAGE_SIZE
from bot.slack.listeners.home import HOME_AT_RISK
from scoring.store.alert_log import record_alerts
from scoring.store.alert_shown import ALERT_SHOWN
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import SlackDouble
from tests.test_slack_app import button
from tests.test_slack_app_support import RunningApp, block_action, demo_database, running_app

PERIOD = "2026-W47"


@pytest.fixture(params=BACKENDS)
def app(
    request: pytest.FixtureRequest, tmp_path, slack_double: SlackDouble
) -> Iterator[RunningApp]:
    """The demo portfolio (60 accounts), every account owned by alice (U1)."""
    with demo_database(request.param, tmp_path) as (engine, model, accounts):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE accounts SET owner_email = 'alice@example.com'"))
        with running_app(engine, model, slack_double) as running:
            running.accounts = accounts  # type: ignore[attr-defined]
            yield running


def rows(message: dict[str, Any]) -> list[tuple[int, str]]:
    """(number, account_id) of each account line of a list, in order."""
    out = []
    for block in message["blocks"]:
        if (block.get("accessory") or {}).get("action_id") in ("health_open", "alert_open"):
            number = int(re.match(r"\*(\d+)\. ", block["text"]["text"])[1])
            out.append((number, block["accessory"]["value"].rpartition("|")[2]))
    return out


def click(app: RunningApp, message: dict[str, Any], action_id: str, name: str) -> dict[str, Any]:
    element = button(message["blocks"], action_id)
    url = app.double.response_url(name)
    assert app.client.interact(block_action(element, response_url=url, ephemeral=True))[0] == 200
    return wait_for(lambda: app.double.responses(name), what=f"the reply to {action_id}")[0]


def action_ids(message: dict[str, Any]) -> set[str]:
    return {e.get("action_id") for b in message["blocks"] for e in b.get("elements", [])}


@pytest.mark.parametrize("text", ["mine", "at-risk"])
def test_a_list_pages_through_every_account(app: RunningApp, text: str) -> None:
    first = app.command(text, "page-1")
    total = int(re.search(r" · (\d+) accounts? ", first["blocks"][1]["elements"][0]["text"])[1])
    pages = -(-total // PAGE_SIZE)
    assert pages >= 2, "the demo portfolio must fill more than one page"
    seen, message = rows(first), first
    assert "health_page_previous" not in action_ids(first)
    for page in range(2, pages + 1):
        message = click(app, message, "health_page_next", f"page-{page}")
        assert message["replace_original"] is True
        assert f"page {page} of {pages}" in json.dumps(message["blocks"])
        seen += rows(message)
    assert "health_page_next" not in action_ids(message)
    assert [n for n, _ in seen] == list(range(1, total + 1))  # numbered through the list
    assert len({a for _, a in seen}) == total
    if text == "mine":  # every account scored in the latest period: alice owns them all
        with app.engine.connect() as conn:
            scored = conn.execute(
                sa.text(
                    "SELECT count(*) FROM score_snapshots"
                    " WHERE period = (SELECT max(period) FROM score_snapshots)"
                )
            ).scalar()
        assert total == scored
    back = click(app, message, "health_page_previous", "back")
    assert rows(back)[0][0] == (pages - 2) * PAGE_SIZE + 1
    assert button(back["blocks"], "health_share")["value"] == f"{pages - 1}|{text}"


def test_sharing_a_later_page_shares_that_page(app: RunningApp) -> None:
    second = click(app, app.command("mine", "first"), "health_page_next", "second")
    share = button(second["blocks"], "health_share")
    assert app.client.interact(block_action(share, response_url="http://127.0.0.1:9/x"))[0] == 200
    post = wait_for(lambda: app.double.calls("chat.postMessage"), what="the shared list")[0]
    assert rows(post.params)[0][0] == PAGE_SIZE + 1
    assert not {"health_page_next", "health_share"} & action_ids(post.params)


def test_app_home_pages_through_the_accounts_at_stake(app: RunningApp) -> None:
    assert app.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"}) == 200
    home = wait_for(lambda: app.double.home_view("U1"), what="views.publish")
    first = [b["accessory"]["value"] for b in home["blocks"] if b.get("accessory")]
    assert len(first) == HOME_AT_RISK
    payload = block_action(button(home["blocks"], "home_page_risk_next"))
    payload["container"] = {"type": "view", "view_id": "V1"}
    app.double.reset()
    assert app.client.interact(payload)[0] == 200
    second = wait_for(lambda: app.double.home_view("U1"), what="the next page")
    accounts = [b["accessory"]["value"] for b in second["blocks"] if b.get("accessory")]
    assert accounts and not set(accounts) & set(first)
    assert f"Accounts {HOME_AT_RISK + 1}–" in json.dumps(second["blocks"], ensure_ascii=False)
    assert button(second["blocks"], "home_page_risk_previous")


def alerts_for(app: RunningApp, count: int) -> list[str]:
    """`count` of alice's accounts scored in PERIOD get an alert in it; returns them."""
    with app.engine.connect() as conn:
        query = "SELECT account_id FROM score_snapshots WHERE period = :p ORDER BY account_id"
        ids = [str(a) for a in conn.execute(sa.text(query), {"p": PERIOD}).scalars()][:count]
    frame = pd.DataFrame(
        {"account_id": ids, "rule": "score_drop", "severity": "warning"}
        | {"reason": [f"Score fell <b> {i}" for i in range(count)]}
        | {"score_shown": 40.0, "band_rank": 2}
    )
    record_alerts(app.engine, frame, PERIOD, today_in(app.model))
    return ids


def shown(app: RunningApp) -> list[tuple[str, str, str]]:
    with app.engine.connect() as conn:
        query = sa.select(ALERT_SHOWN.c.period, ALERT_SHOWN.c.account_id, ALERT_SHOWN.c.how)
        return [tuple(r) for r in conn.execute(query)]


def test_the_dms_and_n_more_opens_every_alert_and_an_opened_one_counts_as_shown(
    app: RunningApp,
) -> None:
    ids = alerts_for(app, 30)
    dm = render_message("alert_dm", period=PERIOD, owner_name="Alice", items=[], more=0)
    items = [{"account_id": a, "name": a, "emoji": "🔴", "band_label": "critical"} for a in ids]
    items = [i | {"score": 40.0, "previous_score": 50.0, "delta": -10.0, "arr": 1.0} for i in items]
    items = [i | {"renewal_date": None, "reasons": ["fell"], "playbook": None} for i in items]
    dm = render_message("alert_dm", period=PERIOD, owner_name="Alice", items=items[:10], more=20)
    assert "30 of your accounts need attention" in json.dumps(dm.blocks)
    message = {"blocks": dm.blocks, "text": dm.text}
    listed = click(app, message, "alert_show_all", "all")
    assert listed["replace_original"] is False  # the DM stays as it was
    first = rows(listed)
    assert len(first) == PAGE_SIZE and "Score fell &lt;b&gt;" in json.dumps(listed["blocks"])
    rest = rows(click(app, listed, "health_page_next", "all-2"))
    assert {a for _, a in first + rest} == set(ids) and len(first + rest) == 30

    hidden = next(a for _, a in rest)  # one that sat in "and N more"
    element = next(
        b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("value")
    ) | {"value": f"{PERIOD}|{hidden}"}
    url = app.double.response_url("opened")
    assert app.client.interact(block_action(element, response_url=url, ephemeral=True))[0] == 200
    card = wait_for(lambda: app.double.responses("opened"), what="the card")[0]
    assert button(card["blocks"], "alert_ack")["value"] == hidden
    assert shown(app) == [(PERIOD, hidden, "opened")]


def test_someone_else_opening_an_alert_does_not_count_it_as_shown(app: RunningApp) -> None:
    [account] = alerts_for(app, 1)
    element = {"action_id": "alert_open", "value": f"{PERIOD}|{account}"}
    url = app.double.response_url("bob")
    payload = block_action(element, user="U2", response_url=url, ephemeral=True)
    assert app.client.interact(payload)[0] == 200
    wait_for(lambda: app.double.responses("bob"), what="bob's card")
    assert shown(app) == []


def test_alerts_with_nothing_to_list_says_so(app: RunningApp) -> None:
    reply = app.command("alerts", "none")
    assert reply["text"].startswith("None of the accounts owned by alice@example.com has an alert")


@pytest.mark.parametrize("kind", BACKENDS)
def test_an_alerted_account_without_a_score_in_the_period_is_still_listed(
    kind: str, tmp_path, slack_double: SlackDouble
) -> None:
    """Its alert went out, so the owner's full list shows it (last, without a score) even
    though the period asked for has no row for it (it stopped being scored since)."""
    with demo_database(kind, tmp_path) as (engine, model, accounts):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE accounts SET owner_email = 'alice@example.com'"))
            query = "SELECT account_id FROM score_snapshots WHERE period = :p ORDER BY account_id"
            gone, kept = [str(a) for a in conn.execute(sa.text(query), {"p": PERIOD}).scalars()][:2]
        frame = pd.DataFrame(
            {"account_id": [gone, kept], "rule": "score_drop", "severity": "warning"}
            | {"reason": ["Gone quiet", "Score fell"], "score_shown": 40.0, "band_rank": 2}
        )
        record_alerts(engine, frame, PERIOD, today_in(model))
        with engine.begin() as conn:
            for table in ("score_snapshots", "snapshot_metrics"):
                sql = f"DELETE FROM {table} WHERE period = :p AND account_id = :a"
                conn.execute(sa.text(sql), {"p": PERIOD, "a": gone})
        with running_app(engine, model, slack_double) as app:
            reply = app.command(f"alerts {PERIOD}", "alerts")
    assert rows(reply) == [(1, kept), (2, gone)]
    name = str(accounts.set_index("account_id").loc[gone, "name"])
    [line] = [b["text"]["text"] for b in reply["blocks"] if gone in json.dumps(b)]
    assert line.startswith(f"*2. {name}*") and "insufficient data\n*—*" in line
    assert line.endswith("\nGone quiet")
    assert f"2. ⚪ {name}: —" in reply["text"]
