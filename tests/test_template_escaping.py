"""Nothing a person, a data source or Slack supplies reaches Slack live (issue #17): every
template under templates/, found by glob so a new one is covered without being told, rendered
for Slack with hostile values (tests/escaping_contexts.py), must carry no live mention or link
in any fallback text or mrkdwn field, and no escaping in plain_text fields (Slack shows those
literally). Partials (`_*.j2`) are covered through the templates that import them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.messages.render import (
    PLAIN,
    SLACK,
    check_blocks,
    render_json,
    render_text,
    render_view,
    templates_dir,
    unescape,
)
from tests.escaping_contexts import CONTEXTS, HOSTILE, LONG

LIVE = re.compile(r"<[!@#]|<https?:", re.IGNORECASE)
TEMPLATES = sorted(p.name for p in templates_dir().glob("*.j2") if not p.name.startswith("_"))
PARTIALS = sorted(p.name for p in templates_dir().glob("_*.j2"))


def stem(name: str) -> str:
    return name.removesuffix(".j2").rsplit(".", 1)[0]


def typed_texts(node: Any, kind: str) -> list[str]:
    """The `text` of every text object of type `kind` (mrkdwn, plain_text) in a payload."""
    if isinstance(node, dict):
        own = (
            [node["text"]] if node.get("type") == kind and isinstance(node.get("text"), str) else []
        )
        return own + [t for v in node.values() for t in typed_texts(v, kind)]
    if isinstance(node, list):
        return [t for v in node for t in typed_texts(v, kind)]
    return []


def test_the_glob_finds_the_templates_we_know() -> None:
    """The discovery itself works (so the parametrised test cannot pass by finding nothing)."""
    assert {"alert_dm.txt.j2", "digest.json.j2", "home.json.j2"} <= set(TEMPLATES)
    assert len(TEMPLATES) >= 28


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_has_a_hostile_context(name: str) -> None:
    assert stem(name) in CONTEXTS, (
        f"templates/{name} has no hostile context: add '{stem(name)}' to CONTEXTS in "
        "tests/escaping_contexts.py so the escaping test renders it"
    )


@pytest.mark.parametrize("name", PARTIALS)
def test_every_partial_is_rendered_through_a_template(name: str) -> None:
    users = [t for t in TEMPLATES if name in (templates_dir() / t).read_text()]
    assert users, f"templates/{name} is imported by no template, so nothing renders it"


@pytest.mark.parametrize("name", TEMPLATES)
def test_nothing_supplied_reaches_slack_live(name: str) -> None:
    context = CONTEXTS[stem(name)]()
    if name.endswith(".txt.j2"):
        text = render_text(stem(name), SLACK, **context)
        assert not LIVE.search(text), f"{name}: live {LIVE.search(text)} in {text[:300]!r}"
        assert "<" not in text and ">" not in text  # nothing of ours is a control sequence
        if name != "health_help.txt.j2":  # every other text shows a supplied value, escaped
            assert "&lt;!channel&gt;" in text or "&amp;lt;" in text, f"{name}: nothing supplied"
        return
    payload = render_json(stem(name), **context)
    if isinstance(payload, list):
        check_blocks(payload)
    elif payload.get("type") in ("home", "modal"):
        render_view(stem(name), **context)  # the checks a view gets before it goes anywhere
    mrkdwn = typed_texts(payload, "mrkdwn")
    for text in mrkdwn:
        assert not LIVE.search(text), f"{name}: live mention or link in {text[:300]!r}"
    for text in typed_texts(payload, "plain_text"):  # shown literally: never escaped by us
        assert "&lt;!" not in text and "&gt;" not in text and "&amp;" not in text, (name, text)
    if name != "digest_chart.json.j2" and "health_help" not in name:
        assert any("&lt;!channel&gt;" in t for t in mrkdwn), f"{name}: no supplied value shown"


def test_plain_text_fields_show_names_literally() -> None:
    """A header or a button carries the name as it is: Slack does not parse plain_text."""
    blocks = render_json("card", **CONTEXTS["card"]())
    assert blocks[0]["text"] == {"type": "plain_text", "text": ":red_circle: <!here> " + HOSTILE}
    notice = render_json("health_notice", **CONTEXTS["health_notice"]())
    buttons = [e["text"]["text"] for b in notice for e in b.get("elements", [])]
    assert buttons and buttons[0] == HOSTILE[:74] + "…"


def test_a_plain_render_escapes_nothing_and_unescape_undoes_slack() -> None:
    plain = render_text("card", PLAIN, **CONTEXTS["card"]())
    slack = render_text("card", SLACK, **CONTEXTS["card"]())
    assert HOSTILE in plain and HOSTILE not in slack and "&lt;!channel&gt;" in slack
    assert HOSTILE in unescape(slack)
    assert unescape("&amp;lt; &lt;!here&gt; &amp;amp;") == "&lt; <!here> &amp;"
    assert len(LONG) == 5000


def test_clipping_escaped_text_never_cuts_an_entity() -> None:
    from bot.messages.render import clip, mrkdwn

    for limit in range(1, 40):
        cut = clip(mrkdwn("<<<<<<<<<<&&&&&&&&&&"), limit)
        assert re.fullmatch(r"((&lt;)|(&amp;))*…?", cut), cut


def test_templates_dir_is_the_one_the_glob_reads() -> None:
    assert Path(templates_dir()).is_dir() and all(
        (templates_dir() / t).is_file() for t in TEMPLATES
    )
