"""CSM judgement from Slack: `/health note|override ACCOUNT` and the card's "Add note" button
open a modal; its submission is checked inside Slack's 3-second window, so bad input gets an
inline error in the modal and nothing is stored, and good input is stored (audited) at once."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.messages.render import render_view
from bot.slack.cards import today_in
from bot.slack.listeners.answers import no_single_match, notice
from bot.slack.listeners.guard import guarded
from bot.slack.listeners.write_access import ACK_WAIT, decide, refusal, refusal_text, tell
from bot.slack.services import Services
from bot.slack.ttl_cache import MISSING
from scoring.store.csm_inputs import CHAMPION_VALUES, add_note
from scoring.store.overrides import add_override

DEFAULT_DAYS = 30
REASON_LIMIT = 2000


def open_modal(
    svc: Services, client: WebClient, body: dict[str, Any], kind: str, account_id: str
) -> None:
    today = today_in(svc.model)
    view = render_view(
        f"modal_{kind}",
        name=svc.portfolio.name_of(account_id),
        private_metadata=json.dumps({"account_id": account_id}),
        default_until=(today + timedelta(days=DEFAULT_DAYS)).isoformat(),
        reason_limit=REASON_LIMIT,
        champion=list(CHAMPION_VALUES),
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def from_command(
    svc: Services, client: WebClient, body: dict[str, Any], kind: str, query: str, respond: Respond
) -> None:
    """Open the modal for the one account the text names; otherwise say why not."""
    if not query.strip():
        message = notice("csm_usage", subcommand=kind)
    else:
        match = svc.portfolio.find(query)
        if match.found:
            decision = decide(svc, kind, body["user_id"], str(match.account_id))
            if not decision.allowed:  # access.writes: refused before the modal is filled in
                message = refusal(svc, decision)
            else:
                open_modal(svc, client, body, kind, str(match.account_id))
                return
        else:
            message = no_single_match(svc, query, match)
    respond(text=message.text, blocks=message.blocks, response_type="ephemeral")


def _value(view: dict[str, Any], block: str) -> Any:
    element = view["state"]["values"].get(block, {}).get(block, {})
    if "selected_option" in element:
        return (element["selected_option"] or {}).get("value")
    if "selected_date" in element:
        return element["selected_date"]
    return element.get("value")


def check(
    svc: Services, kind: str, view: dict[str, Any], user_id: str, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """(what to store, errors by block id): pure apart from the access.writes look-up, which
    waits ACK_WAIT at most (it is warm from the modal's opening)."""
    errors: dict[str, str] = {}
    account_id = json.loads(view.get("private_metadata") or "{}").get("account_id", "")
    reason = (_value(view, "reason") or "").strip()
    if not reason:
        errors["reason"] = "Say why: the reason is kept with the entry for everyone to see."
    until_text = _value(view, "until")
    try:
        until = date.fromisoformat(until_text) if until_text else None
    except ValueError:
        until = None
    if until is None or until < today:
        errors["until"] = "Pick a date from today on."
    latest = today + timedelta(days=svc.model.access.override_max_days)
    if kind == "override" and until is not None and until > latest:
        errors["until"] = f"An override runs at most until {latest}: pick that day or sooner."
    values: dict[str, Any] = {
        "account_id": account_id,
        "reason": reason[:REASON_LIMIT],
        "valid_until": until,
        "entered_on": today,
    }
    if account_id not in svc.portfolio.snapshot().rows:
        errors["reason"] = "This account is no longer scored; nothing was stored."
    if kind == "note":
        sentiment, champion = _value(view, "sentiment"), _value(view, "champion")
        if sentiment is None and champion is None:
            errors["sentiment"] = "Give a sentiment, a champion status, or both."
        values["sentiment"] = int(sentiment) if sentiment else None
        values["champion_status"] = CHAMPION_VALUES.get(champion) if champion else None
    else:
        try:
            score = float(_value(view, "score") or "")
        except ValueError:
            score = -1.0
        if not 0 <= score <= 100:
            errors["score"] = "A score from 0 to 100."
        values["score"] = score
    decision = decide(svc, kind, user_id, account_id, wait=ACK_WAIT) if account_id else None
    if decision and not decision.allowed:  # checked again: a submission can be forged
        errors["score" if kind == "override" else "reason"] = refusal_text(svc, decision)
    return values, errors


def register(app: App, svc: Services) -> None:
    def submit(kind: str):  # noqa: ANN202
        def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            user_id = body["user"]["id"]
            values, errors = check(svc, kind, view, user_id, today_in(svc.model))
            if errors:
                ack(response_action="errors", errors=errors)
                return
            email = svc.users.email(user_id, wait=ACK_WAIT)  # warm: decide() asked for it
            who = {"user_id": user_id, "user_email": None if email is MISSING else email}
            account_id = values.pop("account_id")
            if kind == "note":
                add_note(svc.engine, account_id, **values, **who)
            else:
                add_override(svc.engine, account_id, **values, **who)
            ack()

        return handle

    def open_from_card(body: dict[str, Any], client: WebClient) -> None:
        account_id = body["actions"][0]["value"]
        decision = decide(svc, "note", body["user"]["id"], account_id)
        if not decision.allowed:
            tell(client, body, refusal(svc, decision))
            return
        open_modal(svc, client, body, "note", account_id)

    app.view("csm_note_modal")(submit("note"))
    app.view("csm_override_modal")(submit("override"))
    app.action("card_note")(ack=lambda ack: ack(), lazy=[guarded(open_from_card)])
