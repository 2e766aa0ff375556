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
from scoring.config import INSUFFICIENT_DATA
from scoring.errors import HealthbotError
from scoring.matching import Match
from scoring.store import alert_log

log = logging.getLogger("healthbot.slack")
PAGE_SIZE = 25  # accounts a page of a list shows (a section and its Card button each)
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


def paged(text: str, page: int) -> str:
    """A list's button value: the page and the command that lists it ("2|at-risk Enterprise")."""
    return f"{page}|{text}"


def unpaged(value: str) -> tuple[str, int]:
    """(command text, page) of a button value; a bare command is its first page."""
    page, bar, text = value.partition("|")
    return (text, max(int(page), 1)) if bar and page.isdigit() else (value, 1)


def page_of(total: int, page: int, size: int = PAGE_SIZE) -> tuple[int, int, int]:
    """(page, pages, first row) with `page` moved into 1..pages (a list may have shrunk since
    its buttons were drawn)."""
    pages = max(-(-total // size), 1)
    page = min(max(page, 1), pages)
    return page, pages, (page - 1) * size


def answer(
    svc: Services, command: Command, user_id: str, shared: bool = False, page: int = 1
) -> Message:
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
            return mine(svc, user_id, shared, page)
        if kind == "at-risk":
            return at_risk(svc, command.arg, shared, page)
        if kind == "alerts":
            return owner_alerts(svc, user_id, command.arg, shared, page)
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


def mine(svc: Services, user_id: str, shared: bool = False, page: int = 1) -> Message:
    email = svc.users.email(user_id)
    if not email:
        return notice("no_email")
    owned = svc.portfolio.owned(email)
    if owned.empty:
        return notice("none_owned", email=email)
    return list_message(svc, "mine", owned, page, shared, "mine", email=email)


def at_risk(svc: Services, segment: str, shared: bool = False, page: int = 1) -> Message:
    segments = svc.portfolio.segments()
    if segment and segment.casefold() not in {s.casefold() for s in segments}:
        return notice("no_segment", segment=segment, segments=segments)
    urgent = svc.portfolio.urgent(segment or None)
    if urgent.empty:
        return notice("none_at_risk", segment=segment)
    text = f"at-risk {segment}".strip()
    return list_message(svc, "at-risk", urgent, page, shared, text, segment=segment)


def owner_alerts(
    svc: Services, user_id: str, period: str, shared: bool = False, page: int = 1
) -> Message:
    """`/health alerts [PERIOD]` (the alert DM's "and N more" button): every account of the
    user's with an alert in that week (default: the latest), worst score first, each with its
    reasons and a button that opens its card (and counts its alert as shown)."""
    email = svc.users.email(user_id)
    if not email:
        return notice("no_email")
    owned = svc.portfolio.owned(email)
    ids = svc.portfolio.owned_ids(email)  # scored this period or not
    week, alerts = alert_log.owner_alerts(svc.engine, ids, period.strip() or None)
    if alerts.empty:
        return notice("no_alerts", email=email, period=week or "")
    reasons = alerts.groupby("account_id", sort=False)["reason"].agg(list)
    listed = owned[owned["account_id"].astype(str).isin(reasons.index).to_numpy()]
    unscored = reasons.index.difference(listed["account_id"].astype(str), sort=False)
    if len(unscored):  # no row this period: listed last, without a score, like unscored ones
        names = [svc.portfolio.name_of(a) for a in unscored]
        rows = {"account_id": list(unscored), "name": names, "band": INSUFFICIENT_DATA}
        listed = pd.concat([listed, pd.DataFrame(rows)], ignore_index=True)
    text = f"alerts {week}"
    return list_message(
        svc, "alerts", listed, page, shared, text, email=email, alert_period=week, reasons=reasons
    )


def list_message(
    svc: Services,
    kind: str,
    frame: pd.DataFrame,
    page: int,
    shared: bool,
    text: str,
    **context: Any,
) -> Message:
    """One page of a list: PAGE_SIZE accounts, numbered through the whole list, with buttons
    for the previous and next page (values: `paged(text, n)`) unless it is shared."""
    page, pages, first = page_of(len(frame), page)
    rows = frame.iloc[first : first + PAGE_SIZE].to_dict("records")
    reasons = context.pop("reasons", {})
    items = [list_item(svc.model, r) for r in rows]
    for item in items:
        item["reasons"] = list(reasons.get(item["account_id"], []))
    return render_message(
        "health_list",
        **({"email": "", "segment": "", "alert_period": ""} | context),
        kind=kind,
        items=items,
        first=first,
        page=page,
        pages=pages,
        total=len(frame),
        previous_value=paged(text, page - 1) if page > 1 else None,
        next_value=paged(text, page + 1) if page < pages else None,
        share_value=paged(text, page),
        period=svc.portfolio.snapshot().view.period,
        shared=shared,
    )


def safe_answer(
    svc: Services, text: str | None, user_id: str, shared: bool = False, page: int = 1
) -> Message:
    """`answer`, turning any failure into a message with a reference to find it in the log."""
    try:
        return answer(svc, parse_command(text), user_id, shared, page)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("answering /health failed (reference %s)", reference)
        return notice("error", reference=reference)
