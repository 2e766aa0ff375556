"""Plurals right in every template, with 0, 1 and many: every whole number in each template's
context (tests/escaping_contexts.py) is set to the count, and what a person reads must never
say "1 accounts", "2 account", "account(s)" or glue a code span to the word before it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.messages.render import PLAIN, render_json, render_message, render_text, templates_dir
from tests.escaping_contexts import CONTEXTS

NOUNS = "account|week|day|alert|point|page"
WRONG = [
    re.compile(rf"(?<![\d.,])1 ({NOUNS})s\b"),
    re.compile(rf"(?<![\d.,])(?:0|[2-9]|[1-9]\d+) ({NOUNS})\b(?!['’])"),
    re.compile(r"(?<![\d.,])1 of your accounts need\b"),
    re.compile(r"(?<![\d.,])(?:0|[2-9]|[1-9]\d+) of your accounts needs\b"),
    re.compile(r"\w\(s\)"),
    re.compile(r"week`"),  # the card's sparkline glued to the line before it
]
TEMPLATES = sorted(p.name for p in templates_dir().glob("*.j2") if not p.name.startswith("_"))


def counted(value: Any, n: int) -> Any:
    """`value` with every whole number (not a bool) replaced by `n`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return n
    if isinstance(value, dict):
        return {k: counted(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [counted(v, n) for v in value]
    return value


@pytest.mark.parametrize("n", [0, 1, 7])
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_counts_right(name: str, n: int) -> None:
    stem = name.split(".")[0]
    context = counted(CONTEXTS[stem](), n)
    if name.endswith(".txt.j2"):
        out = render_text(stem, PLAIN, **context)
    else:
        out = json.dumps(render_json(stem, **context), ensure_ascii=False)
    for wrong in WRONG:
        found = wrong.search(out)
        assert found is None, (
            f"{name} with {n}: {out[max(found.start() - 60, 0) : found.end() + 20]!r}"
        )


def dm_item(i: int) -> dict[str, Any]:
    return {
        "account_id": f"a{i}",
        "name": f"Account {i}",
        "emoji": "🔴",
        "band_label": "critical",
    } | {
        "score": 40.0,
        "previous_score": 50.0,
        "delta": -10.0,
        "arr": 1e5,
        "renewal_date": None,
        "reasons": ["Score fell 10 points"],
        "playbook": None,
    }


@pytest.mark.parametrize(
    ("items", "more", "expected"),
    [
        (1, 0, "1 of your accounts needs attention"),
        (2, 0, "2 of your accounts need attention"),
        (1, 1, "2 of your accounts need attention"),
    ],
)
def test_the_block_kit_dm_agrees_with_its_count(items: int, more: int, expected: str) -> None:
    dm = render_message(
        "alert_dm",
        period="2026-W47",
        owner_name="Ann",
        items=[dm_item(i) for i in range(items)],
        more=more,
    )
    assert expected in json.dumps(dm.blocks, ensure_ascii=False)
    assert (
        expected.replace(" of your accounts", " account" + ("s" if items + more != 1 else ""))
        in dm.text
    )
    if more:
        assert f"…and {more} more account with an alert this week." in json.dumps(
            dm.blocks, ensure_ascii=False
        )


def test_the_cards_sparkline_sits_on_its_own_line() -> None:
    card = CONTEXTS["card"]() | {"weeks": 1, "sparkline": "█▇"}
    headline = render_json("card", **card)[1]["text"]["text"]
    assert "since last week\n`█▇` last 1 week" in headline
