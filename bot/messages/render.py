"""The one Jinja environment: templates in `templates/` render Block Kit JSON (messages, and
the views of App Home and modals) and plain text; `render_json` is the one place they are decoded.

Escaping happens at the Slack boundary, and a render has a target. Slack parses `<!channel>`,
`<@U…>`, `<#C…>` and `<https://…|…>` in every mrkdwn field and in a message's fallback `text`,
so everything a person, a data source or Slack supplies must reach it with exactly `&`, `<`, `>`
as entities (Slack's own rule; `*`, `_`, `~`, `` ` `` have no escape and cannot ping or link):

- Block Kit (`.json.j2`) only ever goes to Slack: each value placed in a mrkdwn field passes
  the `mrkdwn` filter; plain_text fields (headers, buttons, titles, options) get the raw value,
  as Slack shows them literally.
- A text (`.txt.j2`) is rendered for a target. `SLACK` (the default, so forgetting it errs on
  the safe side) escapes every string of the context before the template sees it, so a
  template author cannot forget a value; `PLAIN` (the terminal card, `healthbot lookup`, the
  demo, files a person reads) escapes nothing. Values escaped once are `Escaped`, which the
  `mrkdwn` filter leaves alone, so a `.txt.j2` that also names the filter never escapes twice.
- Outbox rows hold the Slack form only: a row is rendered before anyone knows which transport
  delivers it, and one form keeps the row, its revisions and its read-back comparisons
  simple (no schema change, no two texts that could disagree). Slack escaping is exactly
  reversible, so the terminal transport prints `unescape(text)` and shows names literally.
  Nothing we generate contains a live `<…>` on purpose (no links or mentions are built), so
  un-escaping changes only what escaping changed.

Block Kit limits are enforced by construction (lists are capped before rendering, texts
clipped by `clip`) and checked after rendering with slack_sdk's block models plus the limits
they do not enforce.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FALLBACK_TEXT = 40000
SLACK = "slack"
PLAIN = "plain"
Target = Literal["slack", "plain"]
_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARACTER = {"amp": "&", "lt": "<", "gt": ">"}


def templates_dir() -> Path:
    """`bot/templates` inside a built wheel, else the repository's top-level `templates/`."""
    package = Path(__file__).resolve().parents[1]  # bot/
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("healthbot templates not found: reinstall the package")


class Escaped(str):
    """Text already escaped for Slack. `mrkdwn` returns it as it is, so a value escaped when a
    Slack text's context was prepared is never escaped a second time by the template."""


def mrkdwn(value: Any) -> Escaped:
    """`value` as Slack wants untrusted text in mrkdwn: `&`, `<`, `>` as entities, nothing else."""
    if isinstance(value, Escaped):
        return value
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Escaped(text)


def unescape(text: str) -> str:
    """What `mrkdwn` did, undone in one pass (`&amp;lt;` → `&lt;`): for transports and
    previews that show a person the text Slack would have shown."""
    return _ENTITY.sub(lambda m: _CHARACTER[m.group(1)], text)


def slack_values(value: Any) -> Any:
    """A text context for Slack: every string inside, dict keys included, escaped by `mrkdwn`;
    mappings become dicts and sequences lists, numbers, dates and None stay as they are."""
    if isinstance(value, str):
        return mrkdwn(value)
    if isinstance(value, Mapping):
        return {slack_values(k): slack_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [slack_values(v) for v in value]
    return value


def clip(value: Any, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut. Escaped text stays Escaped and is
    never cut inside an entity (`&am…` would show as junk)."""
    text = str(value)
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if not isinstance(value, Escaped):
        return cut + "…"
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return Escaped(cut + "…")


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
    """The one Jinja environment. Templates are part of the installed code, so each is read
    and compiled once per process (`auto_reload=False`): Jinja's default stats the file on
    every render to notice edits, a tenth of a `/health` lookup's time in the web worker."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        auto_reload=False,
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


def render_text(template: str, target: Target = SLACK, /, **context: Any) -> str:
    """`<template>.txt.j2` for `target`: SLACK (a message's fallback text, an admin report: every
    supplied string escaped) or PLAIN (what a person reads outside Slack, or a piece another
    template places and escapes itself, such as the notice lines of the alert DM)."""
    if target == SLACK:
        context = slack_values(context)
    elif target != PLAIN:
        raise ValueError(f"unknown render target {target!r}")
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
    """`<name>.json.j2` gives the blocks, `<name>.txt.j2` the fallback (for Slack: escaped);
    both are checked."""
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
