"""Every template the Slack app adds, rendered at its extremes and checked against Block Kit's
limits (slack_sdk's models plus `check_blocks`), and `/health` parsing as a plain function."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.messages.render import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    PLAIN,
    check_blocks,
    environment,
    render_message,
    render_text,
    render_view,
)
from bot.slack.listeners.actions import OUTCOMES, Origin, with_state
from bot.slack.listeners.answers import PAGE_SIZE, card_message, notice
from bot.slack.listeners.command_text import MAX_QUERY, Command, parse_command
from bot.slack.listeners.home import HOME_ALERTS, HOME_AT_RISK
from tests.escaping_contexts import audit_entry, home_pages
from tests.test_slack_app_support import HOSTILE_NAME, mrkdwn_texts

HUGE = (HOSTILE_NAME + " 🚀 ") * 400  # ~20,000 characters with everything that needs escaping


def item(i: int, name: str = HUGE) -> dict[str, Any]:
    return {
        "account_id": f"acc-{i:04d}-" + "x" * 300,
        "name": name,
        "emoji": "🔴",
        "band_label": "critical",
        "score": 12.5,
        "delta": -30.0,
        "arr": 1_250_000.0,
        "renewal_date": "2027-01-31",
        "owner": HUGE,
        "segment": HUGE,
    }


def card(**update: Any) -> dict[str, Any]:
    metrics = [
        {"key": f"m{i}", "label": HUGE, "raw": 1e12, "score": 99.0, "weight": 35.0}
        | {"points": 12.3, "has_data": i % 2 == 0}
        | {"latest": "2026-10-01", "stale_days": 9999, "cadence_days": 0.5}
        for i in range(12)
    ]
    return {
        "account_id": "acc-0001",
        "name": HUGE,
        "period": "2026-W47",
        "as_of": "2026-11-22",
        "score": 12.5,
        "previous_score": 44.0,
        "delta": -31.5,
        "band": "critical",
        "band_label": "critical",
        "emoji": "🔴",
        "sparkline": "▁▂▃▄▅▆▇█▇▆▅▄",
        "weeks": 12,
        "metrics": metrics,
        "drivers": [{"label": HUGE, "delta": -12.0}] * 3,
        "completeness": 0.5,
        "last_signal": "2026-11-21",
        "model_changed": True,
        "owner": HUGE,
        "segment": HUGE,
        "arr": 1e9,
        "renewal_date": "2027-01-31",
        "playbook": {"name": HUGE, "steps": [HUGE] * 20, "links": [HUGE]},
        "alert_state": {"acknowledged_by": HUGE, "snoozed_until": "2026-12-06", "last_note": HUGE},
        "override": {"by": HUGE, "reason": HUGE, "until": "2026-12-31", "computed_score": 12.0}
        | {"computed_band": HUGE},
        "csm_notes": [
            {"id": i, "by": HUGE, "written": "2026-11-22 10:00", "entered_on": "2026-11-22"}
            | {"until": "2026-12-31", "sentiment": 2, "champion": "left", "reason": HUGE}
            for i in (1, 2)
        ],
        "audit": [audit_entry(kind, HUGE) for kind in ("note", "override", "outreach")],
    } | update


def assert_harmless(payload: Any) -> None:
    for text in mrkdwn_texts(payload):
        assert "<!channel>" not in text and "<https://evil" not in text


def limits(message: Any) -> None:
    check_blocks(message.blocks)
    assert len(message.blocks) <= MAX_BLOCKS and len(message.text) <= MAX_FALLBACK_TEXT
    assert_harmless({"text": message.text, "blocks": message.blocks})


def dm_limits(message: Any) -> None:
    """`limits` for the alert DM: its fallback text is escaped for Slack like its blocks."""
    limits(message)


NOTICE_KINDS = [
    "no_match",
    "empty_query",
    "too_long",
    "csm_usage",
    "override_refused",
    "not_scored",
    "no_scores",
    "no_email",
    "none_owned",
    "no_segment",
    "none_at_risk",
    "not_allowed",
    "expired",
    "share_failed",
    "note_required",
    "outcome_required",
    "slack_unreachable",
    "slack_rejected",
    "error",
]


@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_every_notice_fits_and_escapes(kind: str) -> None:
    closest = [{"account_id": "x" * 3000, "name": HUGE}] * 5
    message = notice(
        kind, query=HUGE, closest=closest, name=HUGE, email=HUGE, segment=HUGE, segments=[HUGE] * 50
    )
    limits(message)
    assert message.text.strip() and "went wrong" not in message.text or kind == "error"


def test_lists_pick_lists_help_and_state_lines_fit() -> None:
    for kind in ("mine", "at-risk"):
        for shared in (False, True):
            message = render_message(
                "health_list",
                kind=kind,
                items=[item(i) for i in range(PAGE_SIZE)],
                first=50,
                page=3,
                pages=4000,
                total=100_000,
                previous_value="2|at-risk " + HUGE,
                next_value="4|at-risk " + HUGE,
                period="2026-W47",
                email=HUGE,
                segment=HUGE,
                shared=shared,
                share_value="3|at-risk " + HUGE,
            )
            limits(message)
            assert ("health_share" in json.dumps(message.blocks)) is not shared
    limits(render_message("health_picklist", query=HUGE, items=[item(i) for i in range(5)]))
    limits(render_message("health_help", command="/health"))
    state = {"acknowledged_by": HUGE, "acknowledged_at": "2026-11-22 10:00", "last_note": HUGE}
    limits(render_message("health_state", account_id="a" * 400, state=state))
    limits(render_message("health_state", account_id="acc-1", state={}))


def test_cards_fit_shared_or_not() -> None:
    for shared, override in ((False, None), (True, None), (False, card()["override"])):
        message = card_message(card(override=override), shared=shared)
        limits(message)
        ids = [e.get("action_id") for b in message.blocks for e in b.get("elements", [])]
        assert ("card_share" in ids) is not shared and "alert_ack" in ids


def alert_item(i: int, name: str = HUGE) -> dict[str, Any]:
    """An alert DM item as scoring.decisions.weekly builds it."""
    return {
        "account_id": f"acc-{i}",
        "name": name,
        "emoji": "🔴",
        "band_label": "critical",
        "score": 10.0,
        "previous_score": 50.0,
        "delta": -40.0,
        "arr": 1e6,
        "renewal_date": "2027-01-01",
        "reasons": [name] * 5,
        "playbook": {"name": name, "steps": [name], "links": [name]},
    }


def test_a_full_alert_dm_keeps_under_fifty_blocks_with_every_state_line() -> None:
    items = [alert_item(i) for i in range(10)]
    notices = [huge_notice(i) for i in range(5)]
    change = render_text("alert_dm_change", PLAIN, added=[HUGE] * 3, removed=[HUGE] * 2).strip()
    dm = render_message(
        "alert_dm",
        period="2026-W47",
        owner_name=HUGE,
        items=items,
        more=5,
        notices=notices,
        change=change,
    )
    dm_limits(dm)
    texts = json.dumps(dm.blocks)
    assert dm.blocks[1]["type"] == "context" and "Updated since it was first sent" in texts
    assert dm.text.startswith("Updated since it was first sent:")
    # The notices follow the alerts, in one section (clipped to Slack's 3,000 characters).
    assert [b["type"] for b in dm.blocks[-2:]] == ["divider", "section"]
    assert dm.blocks[-1]["text"]["text"].startswith("The override on ")
    blocks = dm.blocks
    state = {"acknowledged_by": HUGE, "snoozed_until": "2026-12-06", "last_note": HUGE}
    for i in range(10):
        blocks = with_state(blocks, f"acc-{i}", state)
        blocks = with_state(blocks, f"acc-{i}", state)  # a second click replaces the line
    assert len(blocks) <= MAX_BLOCKS
    assert sum(b.get("block_id", "").startswith("state:") for b in blocks) == 10
    assert sum(b.get("block_id", "").startswith("alert:") for b in blocks) == 10


def huge_notice(i: int) -> dict[str, Any]:
    """An override-expired notice as bot/jobs/owner_dms.py hands it to the DM."""
    notice = {
        "account_id": f"acc-{i}",
        "name": HUGE,
        "until": "2026-11-21",
        "score": 71.5,
        "band": "healthy",
        "by": HUGE,
        "reason": HUGE,
    }
    return notice | {"line": render_text("override_notice", PLAIN, **notice)}  # as owner_dms


def test_an_alert_dm_with_only_notices_and_one_without_a_change_line() -> None:
    """The owner's one DM also goes out with no alerts (notices only); the change line is
    there only when a rerun changed a DM already sent."""
    only = render_message(
        "alert_dm",
        period="2026-W47",
        owner_name=HUGE,
        items=[],
        more=0,
        notices=[huge_notice(1)],
        change=None,
    )
    dm_limits(only)
    assert only.blocks[0]["text"]["text"] == "Health notices · 2026-W47"
    assert only.text.startswith("Health notices · 2026-W47")
    assert "The override on " in only.text and "Updated since" not in only.text
    assert not any(b.get("block_id", "").startswith("alert:") for b in only.blocks)
    plain = render_message(
        "alert_dm",
        period="2026-W47",
        owner_name="Ana",
        items=[alert_item(1, "Acme")],
        more=0,
        notices=[],
        change=None,
    )
    dm_limits(plain)
    assert [b["type"] for b in plain.blocks[:2]] == ["header", "section"]
    assert "Updated since" not in plain.text and "The override on" not in plain.text
    assert plain.blocks[-1].get("block_id") == "alert:acc-1"  # no notices section after it


def test_views_fit() -> None:
    home = render_view(
        "home",
        allowed=True,
        no_scores=False,
        email=HUGE,
        period="2026-W47",
        total=100_000,
        total_arr=1e10,
        bands=[{"emoji": "🔴", "label": HUGE, "count": 1, "arr": 1.0}] * 12,
        at_risk=[item(i) for i in range(HOME_AT_RISK)],
        at_risk_total=10_000,
        alerts=[
            {"account_id": "a" * 3000, "name": HUGE, "sent_on": "2026-11-22", "reasons": [HUGE] * 9}
        ]
        * HOME_ALERTS,
        alerts_total=100,
        pages=home_pages(1000, 10),
    )
    assert home["type"] == "home" and len(home["blocks"]) <= MAX_BLOCKS
    assert_harmless(home["blocks"])
    for flags in ({"allowed": False}, {"allowed": True, "no_scores": True}, {"allowed": True}):
        view = render_view("home", **({"no_scores": False, "email": None} | flags))
        assert view["blocks"][1]["type"] == "section"
    origin = Origin("C1", "1.2", True, False, "https://hooks.slack.com/" + "x" * 4000)
    modal = render_view(
        "modal_outreach",
        name=HUGE,
        private_metadata=origin.metadata("acc-1"),
        outcomes=OUTCOMES,
        note_limit=3000,
    )
    assert modal["callback_id"] == "outreach_modal" and len(modal["private_metadata"]) <= 3000
    assert Origin.from_metadata(modal["private_metadata"])[0] == "acc-1"
    assert_harmless(modal["blocks"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("mine")),
        ("   ", Command("mine")),
        ("mine", Command("mine")),
        ("MINE", Command("mine")),
        ("help me", Command("help", "me")),
        ("at-risk", Command("at-risk")),
        ("at-risk  Mid-Market ", Command("at-risk", "Mid-Market")),
        ("note acme corp", Command("note", "acme corp")),
        ("override acme", Command("override", "acme")),
        ("acme", Command("lookup", "acme")),
        ("Acme Corp", Command("lookup", "Acme Corp")),
        ('"Help Scout"', Command("lookup", "Help Scout")),
        ("“Help Scout”", Command("lookup", "Help Scout")),
        ("'mine'", Command("lookup", "mine")),
        ('"unclosed', Command("lookup", "unclosed")),
        ('""', Command("empty_query")),
        ("Bright &amp; Early", Command("lookup", "Bright & Early")),
        ("&lt;!channel&gt;", Command("lookup", "<!channel>")),
        ("helpful accounts", Command("lookup", "helpful accounts")),
        ("x" * (MAX_QUERY + 1), Command("too_long", "x" * (MAX_QUERY + 1))),
        ("x" * MAX_QUERY, Command("lookup", "x" * MAX_QUERY)),
    ],
)
def test_parse_command(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


def test_the_name_index_answers_exactly_as_find_account() -> None:
    """The Slack app's fast path must never disagree with scoring.matching.find_account."""
    import random

    import pandas as pd

    from bot.slack.portfolio import NameIndex
    from scoring.matching import find_account
    from tests.test_slack_app_support import big_accounts

    frame = big_accounts(3000, seed=11)[["account_id", "name"]]
    extra = [
        ("dup-1", "Acme Corp"),
        ("dup-2", "ACME CORP"),
        ("x-1", "Acme Corporation"),
        ("x-2", "Straße Logistics"),
        ("x-3", HOSTILE_NAME),
        ("x-4", "Rocket 🚀 Labs"),
        ("x-5", ""),
        ("x-6", "a000001"),  # a name that is another account's id
    ]
    frame = pd.concat([frame, pd.DataFrame(extra, columns=["account_id", "name"])])
    frame = frame.reset_index(drop=True)
    index = NameIndex(frame)
    rng = random.Random(5)
    names = frame["name"].tolist()
    queries = [
        "",
        "  ",
        "acme",
        "ACME CORP",
        "acme corp",
        "strasse",
        "STRASSE lo",
        "🚀",
        "<!channel>",
    ]
    queries += ["a000001", "a000001 ", "x-5", "zzzz", "acmee", "summit", "s", "1", "corp"]
    for name in rng.sample(names, 300):
        cut = rng.randint(1, max(len(name), 1))
        queries += [name, name.upper(), name[:cut], name[cut // 2 : cut], name[:3] + name[4:]]
    for query in queries:
        assert index.find(query) == find_account(query, frame), query


def test_a_template_is_compiled_once_per_process_and_never_checked_on_disk_again() -> None:
    """Jinja's default (auto_reload) stats the template file on every render to notice edits:
    a tenth of a /health lookup's time in the web worker. Templates ship with the code."""
    first = environment().get_template("health_card.txt.j2")
    assert environment().auto_reload is False
    assert environment().get_template("health_card.txt.j2") is first
