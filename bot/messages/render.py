"""The one Jinja environment: templates in `templates/` render Block Kit JSON (messages, and
the views of App Home and modals) and plain text; `render_json` is the one place they are decoded.

Every user-controlled string placed in mrkdwn goes through the `mrkdwn` filter (exactly `&`, `<`,
`>` to entities) so data can never ping @channel, mention users or forge links. Block Kit limits
are enforced by construction (lists are capped before rendering, texts clipped by `clip`) and
checked after rendering with slack_sdk's block models plus the limits they do not enforce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FALLBACK_TEXT = 40000


def templates_dir() -> Path:
    """`bot/templates` inside a built wheel, else the repository's top-level `templates/`."""
    package = Path(__file__).resolve().parents[1]  # bot/
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("healthbot templates not found: reinstall the package")


def mrkdwn(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def signed(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:
        return "—"
    text = f"{abs(value):.{digits}f}"
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f}"


def money(value: float | None) -> str:
    if value is None or value != value:
        return "—"
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"${value / 1_000:.0f}k"
    return f"${value:.0f}"


def arrow(delta: float | None) -> str:
    if delta is None or delta != delta:
        return "•"
    return "▲" if delta > 0 else ("▼" if delta < 0 else "▶")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        mrkdwn=mrkdwn,
        clip=clip,
        signed=signed,
        number=number,
        money=money,
        arrow=arrow,
        json=lambda v: json.dumps(v, ensure_ascii=False),
    )
    return env


@dataclass(frozen=True)
class Message:
    """What a Slack post needs: the notification/fallback text and the blocks."""

    text: str
    blocks: list[dict[str, Any]]


def render_text(template: str, /, **context: Any) -> str:
    return environment().get_template(f"{template}.txt.j2").render(**context).strip() + "\n"


def render_json(template: str, /, **context: Any) -> Any:
    """`<template>.json.j2` rendered and decoded; invalid JSON is a template bug, not a user
    error, so it raises RuntimeError naming the template."""
    raw = environment().get_template(f"{template}.json.j2").render(**context)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"template {template}.json.j2 rendered invalid JSON: {exc}") from exc


def render_message(template: str, /, **context: Any) -> Message:
    """`<name>.json.j2` gives the blocks, `<name>.txt.j2` the fallback; both are checked."""
    blocks = render_json(template, **context)
    text = clip(render_text(template, **context), MAX_FALLBACK_TEXT)
    check_blocks(blocks)
    return Message(text, blocks)


def render_view(template: str, /, **context: Any) -> dict[str, Any]:
    """A whole view (App Home, a modal: `type`, `title`, `blocks`, ...) from
    `<template>.json.j2`, checked by `check_blocks` and slack_sdk's View model before it goes
    anywhere."""
    view = render_json(template, **context)
    check_blocks(view["blocks"])
    View(**view).validate_json()
    return view


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    """slack_sdk's own checks, then what they leave out (block count, field text length)."""
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks; Slack allows {MAX_BLOCKS}")
    for block in blocks:
        parsed = Block.parse(block)
        if parsed is None:
            raise ValueError(f"not a Block Kit block: {block!r:.200}")
        parsed.to_dict()
        for field in block.get("fields", []) or []:
            if len(field.get("text", "")) > MAX_FIELD_TEXT:
                raise ValueError(f"a field's text exceeds {MAX_FIELD_TEXT} characters")
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "section" and len(text) > MAX_SECTION_TEXT:
            raise ValueError(f"a section's text exceeds {MAX_SECTION_TEXT} characters")
