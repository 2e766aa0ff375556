"""What the listeners reply with: `/health` answers, account cards, lists and notices.

The `/health` listener, the buttons (a shared list is answered again, a clicked card drawn
again), the CSM modals and the app's access check all reply with these, so they live here
rather than in any one listener: listeners import this module, never each other's helpers.
Each reply is a plain function of the services and its inputs, tested without HTTP.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from typing import Any

import pandas as pd
from jinja2 import Template

from bot.messages.render import Message, check_blocks, environment, render_message, render_text
from bot.slack.cards import list_item
from bot.slack.listeners.command_text import COMMAND, MAX_QUERY, Command, parse_command
from bot.slack.services import Services
from scoring.errors import HealthbotError
from scoring.matching import Match

log = logging.getLogger("healthbot.slack")
MINE_LIMIT = 15
AT_RISK_LIMIT = 10
NOTICE_DEFAULTS: dict[str, Any] = {
    "command": COMMAND,
    "query": "",
    "closest": [],
    "length": 0,
    "limit": MAX_QUERY,
    "subcommand": "",
    "name": "",
    "period": "",
    "email": "",
    "segment": "",
    "segments": [],
    "reference": "",
}


def notice(kind: str, **context: Any) -> Message:
    return render_message("health_notice", **(NOTICE_DEFAULTS | context | {"kind": kind}))


@functools.cache
def _template(name: str) -> Template:
    """A template loaded once per process (Jinja would check the file's mtime per lookup)."""
    return environment().get_template(name)


def card_message(card: dict[str, Any], shared: bool = False) -> Message:
    """The account card (card.json.j2) with an escaped fallback text; a card shared in a
    channel loses its own "Share in channel" button."""
    blocks = json.loads(_template("card.json.j2").render(**card))
    if shared:
        for block in blocks:
            if block.get("type") == "actions":
                block["elements"] = [e for e in block["elements"] if e["action_id"] != "card_share"]
    check_blocks(blocks)
    return Message(render_text("health_card", **card).strip(), blocks)


def answer(svc: Services, command: Command, user_id: str, shared: bool = False) -> Message:
    """The reply to one parsed command, as a message (every case has one)."""
    kind = command.kind
    if kind == "help":
        return render_message("health_help", command=COMMAND)
    if kind in ("note", "override"):  # modals open from the command listener; not as text
        return notice("csm_usage", subcommand=kind)
    if kind == "too_long":
        return notice("too_long", length=len(command.arg))
    if kind == "empty_query":
        return notice("empty_query")
    try:
        if kind == "mine":
            return mine(svc, user_id, shared)
        if kind == "at-risk":
            return at_risk(svc, command.arg, shared)
        return lookup(svc, command.arg)
    except HealthbotError:  # nothing scored yet (or the stored period vanished)
        return notice("no_scores")


def lookup(svc: Services, query: str) -> Message:
    match = svc.portfolio.find(query)
    if match.found:
        return card_reply(svc, str(match.account_id))
    return no_single_match(svc, query, match)


def no_single_match(svc: Services, query: str, match: Match) -> Message:
    """When `query` names no one account: a pick list of the candidates, else the closest."""
    if match.candidates:
        return render_message(
            "health_picklist", query=query, items=items_for(svc, match.candidates)
        )
    closest = [{"account_id": a, "name": svc.portfolio.name_of(a)} for a in match.closest]
    return notice("no_match", query=query, closest=closest)


def card_reply(svc: Services, account_id: str, shared: bool = False) -> Message:
    snapshot = svc.portfolio.snapshot()
    if account_id not in snapshot.rows:
        name = svc.portfolio.name_of(account_id)
        return notice("not_scored", name=name, period=snapshot.view.period)
    return card_message(svc.portfolio.card(account_id), shared)


def items_for(svc: Services, account_ids: list[str]) -> list[dict[str, Any]]:
    """List lines for accounts, including any without a score this period."""
    snapshot = svc.portfolio.snapshot()
    out = []
    for account_id in account_ids:
        row = snapshot.rows.get(account_id)
        if row is None:
            record = {"account_id": account_id, "name": svc.portfolio.name_of(account_id)}
            record |= {"band": "insufficient_data"}
        else:
            record = snapshot.view.scores.iloc[row].to_dict()
        out.append(list_item(svc.model, record) | {"segment": record.get("segment")})
    return out


def mine(svc: Services, user_id: str, shared: bool = False) -> Message:
    email = svc.users.email(user_id)
    if not email:
        return notice("no_email")
    owned = svc.portfolio.owned(email)
    if owned.empty:
        return notice("none_owned", email=email)
    return list_message(svc, "mine", owned, MINE_LIMIT, shared, email=email, share_value="mine")


def at_risk(svc: Services, segment: str, shared: bool = False) -> Message:
    segments = svc.portfolio.segments()
    if segment and segment.casefold() not in {s.casefold() for s in segments}:
        return notice("no_segment", segment=segment, segments=segments)
    urgent = svc.portfolio.urgent(segment or None)
    if urgent.empty:
        return notice("none_at_risk", segment=segment)
    value = f"at-risk {segment}".strip()
    return list_message(
        svc, "at-risk", urgent, AT_RISK_LIMIT, shared, segment=segment, share_value=value
    )


def list_message(
    svc: Services, kind: str, frame: pd.DataFrame, limit: int, shared: bool, **context: Any
) -> Message:
    items = [list_item(svc.model, r) for r in frame.head(limit).to_dict("records")]
    return render_message(
        "health_list",
        **({"email": "", "segment": "", "share_value": ""} | context),
        kind=kind,
        items=items,
        more=max(len(frame) - limit, 0),
        total=len(frame),
        period=svc.portfolio.snapshot().view.period,
        shared=shared,
    )


def safe_answer(svc: Services, text: str | None, user_id: str, shared: bool = False) -> Message:
    """`answer`, turning any failure into a message with a reference to find it in the log."""
    try:
        return answer(svc, parse_command(text), user_id, shared)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("answering /health failed (reference %s)", reference)
        return notice("error", reference=reference)
