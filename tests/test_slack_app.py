"""`/health` through the real HTTP app: cards, matching, pick lists, mine, at-risk, help.

Each request is signed as Slack signs it and posted to the app on a loopback port; answers are
read where Slack would receive them (the command's response_url, served by the Slack double).
The database is the demo portfolio scored by the real engine, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.slack.listeners.answers import PAGE_SIZE
from scoring.config import Model
from tests.databases import BACKENDS
from tests.polling import wait_for
from tests.slack_double import TEST_TOKEN, SlackDouble
from tests.test_slack_app_support import (
    HOSTILE_NAME,
    RunningApp,
    block_action,
    demo_database,
    mrkdwn_texts,
    running_app,
)


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[Engine, Model]]:
    with demo_database(request.param, tmp_path_factory.mktemp("db")) as (engine, model, _):
        yield engine, model


@pytest.fixture(scope="module")
def double() -> Iterator[SlackDouble]:
    with SlackDouble(TEST_TOKEN).seed_defaults() as running:
        yield running


@pytest.fixture
def app(demo: tuple[Engine, Model], double: SlackDouble) -> Iterator[RunningApp]:
    double.reset()
    with running_app(*demo, double) as running:
        yield running


def button(blocks: list[dict], action_id: str) -> dict:
    for block in blocks:
        for element in block.get("elements", []) + [block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return element | {"block_id": block.get("block_id", "")}
    raise AssertionError(f"no {action_id} button in {blocks!r:.300}")


def test_a_name_gives_the_full_card_ephemerally(app: RunningApp) -> None:
    reply = app.command("acme", "card")
    assert reply["response_type"] == "ephemeral"
    assert "replace_original" not in reply
    blocks = reply["blocks"]
    assert blocks[0]["type"] == "header" and "Acme Corp" in blocks[0]["text"]["text"]
    text = "\n".join(mrkdwn_texts(reply))
    assert "since last week" in text and "`" in text  # trend and sparkline
    for label in ("Product usage", "Feature adoption", "Support tickets", "weight", "points"):
        assert label in text
    for field in ("*Owner*", "*Segment*", "*ARR*", "*Renewal*", "*Data*", "latest 2026-11-2"):
        assert field in text
    assert "*Playbook:" in text
    assert button(blocks, "card_share")["text"]["text"] == "Share in channel"
    assert button(blocks, "alert_ack")["value"] == button(blocks, "alert_log_outreach")["value"]
    assert reply["text"].startswith(("🟢", "🟡", "🔴")) and "Acme Corp" in reply["text"]


def test_ids_typos_and_quotes_find_the_account(app: RunningApp) -> None:
    acme_id = button(app.command("acme", "by-name")["blocks"], "alert_ack")["value"]
    by_id = app.command(acme_id, "by-id")
    assert "Acme Corp" in by_id["blocks"][0]["text"]["text"]
    typo = app.command("acmee", "typo")
    assert "Acme Corp" in typo["blocks"][0]["text"]["text"]
    quoted = app.command("“northwind”", "quoted")  # Slack turns quotes into curly ones
    assert "Northwind Logistics" in quoted["blocks"][0]["text"]["text"]
    assert "No account matches 'mine'" in app.command('"mine"', "quoted-word")["text"]


def test_an_ambiguous_name_offers_a_pick_list_that_opens_the_card(app: RunningApp) -> None:
    reply = app.command("horizon", "pick")
    assert reply["response_type"] == "ephemeral"
    picks = [b["accessory"] for b in reply["blocks"] if b.get("accessory")]
    assert 2 <= len(picks) <= 5 and all(p["action_id"] == "health_pick" for p in picks)
    assert "Several accounts match 'horizon'" in reply["blocks"][0]["text"]["text"]
    chosen = picks[0]
    status, _ = app.client.interact(
        block_action(chosen, response_url=app.double.response_url("picked"), ephemeral=True)
    )
    assert status == 200
    card = wait_for(lambda: app.double.responses("picked"), what="the picked card")[0]
    assert card["replace_original"] is True
    assert button(card["blocks"], "alert_ack")["value"] == chosen["value"]


def test_no_match_names_the_closest_accounts(app: RunningApp) -> None:
    reply = app.command("qqqzzzxxx", "none")
    assert reply["text"].startswith("No account matches 'qqqzzzxxx'. Closest names:")
    closest = reply["blocks"][1]["elements"]
    assert 1 <= len(closest) <= 3
    assert {e["action_id"] for e in closest} == {f"health_pick_{i}" for i in range(1, 4)}


def test_mine_lists_the_callers_accounts_worst_first(app: RunningApp) -> None:
    for text, name in (("mine", "mine"), ("", "bare")):
        reply = app.command(text, name)
        assert reply["response_type"] == "ephemeral"
        rows = [b for b in reply["blocks"] if b.get("accessory")]
        assert len(rows) == 4  # build_demo_portfolio gives alice four accounts
        scores = [float(r["text"]["text"].split("\n*")[1].split("*")[0]) for r in rows]
        assert scores == sorted(scores)
        assert "alice@example.com" in reply["blocks"][1]["elements"][0]["text"]
        assert button(reply["blocks"], "health_share")["value"] == "1|mine"
    bob = app.command("mine", "bob", user_id="U2")
    assert "No scored account has bob@example.com as its owner" in bob["text"]


def test_at_risk_ranks_by_arr_at_stake_and_filters_segments(app: RunningApp) -> None:
    reply = app.command("at-risk", "risk")
    rows = [b for b in reply["blocks"] if b.get("accessory")]
    assert len(rows) == PAGE_SIZE  # the first page; tests/test_slack_lists.py pages on
    assert "ranked by (100 − score) × ARR" in reply["blocks"][1]["elements"][0]["text"]
    smb = app.command("at-risk smb", "risk-smb")
    assert smb["blocks"][0]["text"]["text"] == "Most ARR at stake · smb"
    unknown = app.command("at-risk Galactic", "risk-unknown")
    assert unknown["text"].startswith("There is no segment 'Galactic'. Segments:")
    assert "Enterprise" in unknown["text"]


def test_help_and_note_override_without_an_account(app: RunningApp) -> None:
    reply = app.command("help", "help")
    assert reply["blocks"][0]["text"]["text"] == "Account health in Slack"
    assert "at-risk" in reply["text"] and "mine" in reply["text"]
    for sub in ("note", "override"):
        usage = app.command(sub, sub)
        assert usage["text"].startswith(f"Name the account: /health {sub} ACCOUNT")


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "🚀🚀🚀",
        "'; DROP TABLE accounts; --",
        '"',
        "<!channel>",
        "&lt;!here&gt; <@U2> <https://evil.example|click>",
        "\u0000\u202e",
    ],
)
def test_hostile_text_gets_a_sensible_harmless_answer(app: RunningApp, text: str) -> None:
    reply = app.command(text, "hostile")
    assert reply["response_type"] == "ephemeral" and reply["blocks"]
    for shown in mrkdwn_texts(reply):
        for raw in ("<!channel>", "<!here>", "<@U2>", "<https://evil"):
            assert raw not in shown
    assert "went wrong" not in reply["text"]
    assert app.command("acme", "still-serving")["blocks"][0]["type"] == "header"


def test_a_hostile_account_name_is_escaped_everywhere(app: RunningApp) -> None:
    reply = app.command("pwn", "hostile-card")
    assert reply["blocks"][0]["text"]["text"].endswith(HOSTILE_NAME)  # plain_text: inert
    texts = mrkdwn_texts(reply)
    assert any(
        "&lt;!channel&gt; *Pwn* &amp; &lt;https://evil.example|click&gt;" in t for t in texts
    )
    assert not any("<!channel>" in t or "<https://" in t for t in texts)
