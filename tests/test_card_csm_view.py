"""The card tells the CSM's side: notes in force and the latest audit entries, at once after
they are written, in Slack (signed requests, Slack double) and in `healthbot lookup`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.messages.render import PLAIN, render_text
from bot.slack.cards import account_card
from scoring.store.clicks import record_action
from scoring.store.csm_inputs import add_note
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import SlackDouble
from tests.test_csm_slack import alice_account, opened_view, submit, today
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
    with demo_database(request.param, tmp_path) as (engine, model, accounts):
        with running_app(engine, model, slack_double) as running:
            running.accounts = accounts  # type: ignore[attr-defined]
            yield running


def csm_view(card: dict) -> str:
    found = [t for t in mrkdwn_texts(card) if t.startswith("*CSM view*")]
    assert len(found) <= 1
    return found[0] if found else ""


def audit_lines(card: dict) -> list[str]:
    for block in card["blocks"]:
        elements = block.get("elements") or []
        if block["type"] == "context" and elements[0]["text"].startswith(":clipboard: "):
            return [e["text"].removeprefix(":clipboard: ") for e in elements]
    return []


def test_a_note_shows_on_the_next_card_with_who_when_until_and_why(app: RunningApp) -> None:
    account_id, name = alice_account(app)
    before = app.command(name, "before")
    assert csm_view(before) == "" and audit_lines(before) == []
    day = today(app)
    later = (day + dt.timedelta(days=30)).isoformat()
    note = {"sentiment": "2", "champion": "left", "reason": "VP left <!channel>", "until": later}
    assert submit(app, opened_view(app, f"note {name}"), note) == (200, b"")

    card = app.command(name, "after")  # the same web process, no reload: read per request
    assert csm_view(card) == (
        f"*CSM view*\nSentiment 2/5, champion left · by alice@example.com on {day},"
        f" holds until {later}: VP left &lt;!channel&gt;"
    )
    [line] = audit_lines(card)
    assert line.endswith(
        f"alice@example.com: note (sentiment 2/5, champion left) until {later}:"
        " VP left &lt;!channel&gt;"
    )

    # A later note that only changes the champion: the sentiment still comes from the first.
    champion = {"champion": "in_place", "reason": "New champion: Dana", "until": later}
    assert submit(app, opened_view(app, f"note {name}"), champion) == (200, b"")
    # An expired note is history, not the CSM's view today.
    add_note(
        app.engine,
        account_id,
        reason="old news",
        entered_on=day - dt.timedelta(days=20),
        valid_until=day - dt.timedelta(days=1),
        sentiment=5,
        user_email="bob@example.com",
    )
    lines = csm_view(app.command(name, "two-notes")).split("\n")
    assert lines[1].startswith("Champion in place · by alice@example.com") and "Dana" in lines[1]
    assert lines[2].startswith("Sentiment 2/5 · by alice@example.com")
    assert len(lines) == 3 and "old news" not in "\n".join(lines)


def test_the_card_shows_the_latest_three_audit_entries_newest_first(app: RunningApp) -> None:
    account_id, name = alice_account(app)
    ack = button(app.command(name, "card")["blocks"], "alert_ack")
    url = app.double.response_url("ack")
    assert app.client.interact(block_action(ack, response_url=url, ephemeral=True)) == (200, b"")
    redrawn = wait_for(lambda: app.double.responses("ack"), what="the redrawn card")[0]
    assert "alice@example.com: acknowledged the alert" in audit_lines(redrawn)[0]
    add_note(
        app.engine,
        account_id,
        reason="Budget freeze",
        entered_on=today(app),
        valid_until=today(app) + dt.timedelta(days=7),
        sentiment=3,
        user_email="alice@example.com",
    )
    for outcome in ("no_answer", "reached"):
        record_action(
            app.engine, account_id, "outreach", note=f"called <b> {outcome}", outcome=outcome
        )
    lines = audit_lines(app.command(name, "after"))
    assert len(lines) == 3
    assert "logged outreach (reached): called &lt;b&gt; reached" in lines[0]
    assert "logged outreach (no_answer)" in lines[1]
    assert "alice@example.com: note (sentiment 3/5) until" in lines[2]  # the ack is older


@pytest.mark.parametrize("kind", BACKENDS)
def test_lookup_shows_the_csm_view_plainly(kind: str, tmp_path) -> None:
    """`healthbot lookup` renders account_card for a person: names literal, nothing escaped."""
    with demo_database(kind, tmp_path) as (engine, model, accounts):
        account_id = str(accounts.iloc[0]["account_id"])
        day = dt.date.today()
        add_note(
            engine,
            account_id,
            reason="Champion <left> & gone",
            entered_on=day,
            valid_until=day + dt.timedelta(days=5),
            champion_status=0,
            user_email="alice@example.com",
        )
        text = render_text("card", PLAIN, **account_card(engine, model, account_id))
    view = text.split("CSM view:\n", 1)[1]
    assert view.startswith(
        f"  Champion left · by alice@example.com on {day}, holds until"
        f" {day + dt.timedelta(days=5)}: Champion <left> & gone\n"
    )
    assert "Recent activity (latest first):\n" in text
    assert "alice@example.com: note (champion left) until" in text.split("Recent activity")[1]
