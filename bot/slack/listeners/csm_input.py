"""CSM judgement from Slack: `/health note|override ACCOUNT` and the card's "Add note" button
open a modal; its submission is checked inside Slack's 3-second window, so bad input gets an
inline error in the modal and nothing is stored, and good input is stored (audited) at once,
or, when Slack has not yet told us who the user is, decided right after the ack with the
answer shown in the modal (`write_access`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.messages.render import render_view
from bot.slack.cards import today_in
from bot.slack.listeners.answers import no_single_match, notice
from bot.slack.listeners.gate import gated
from bot.slack.listeners.write_access import (
    LATE_WAIT,
    decide,
    open_checked,
    refusal_text,
    result_view,
)
from bot.slack.services import Services
from bot.slack.ttl_cache import MISSING
from scoring.store.csm_inputs import CHAMPION_VALUES, add_note
from scoring.store.overrides import add_override, override_problem

DEFAULT_DAYS = 30
REASON_LIMIT = 2000


def open_modal(
    svc: Services, client: WebClient, body: dict[str, Any], kind: str, account_id: str
) -> None:
    """Open the modal for a user who may submit it (`open_checked` settles access)."""
    today = today_in(svc.model)
    view = render_view(
        f"modal_{kind}",
        name=svc.portfolio.name_of(account_id),
        private_metadata=json.dumps({"account_id": account_id}),
        default_until=(today + timedelta(days=DEFAULT_DAYS)).isoformat(),
        reason_limit=REASON_LIMIT,
        champion=list(CHAMPION_VALUES),
    )
    open_checked(svc, client, body, kind, account_id, view)


def from_command(
    svc: Services, client: WebClient, body: dict[str, Any], kind: str, query: str, respond: Respond
) -> None:
    """Open the modal for the one account the text names; otherwise say why not."""
    if not query.strip():
        message = notice("csm_usage", subcommand=kind)
    else:
        match = svc.portfolio.find(query)
        if match.found:  # access.writes: refused before the modal is filled in
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
    svc: Services, kind: str, view: dict[str, Any], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """(what to store, errors by block id): pure, so it runs inside the acknowledgement;
    who may store it is decided apart (`write_access.decide`)."""
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
        return values, errors
    try:
        values["score"] = float(_value(view, "score") or "")
    except ValueError:
        values["score"] = -1.0
    problem = override_problem(
        values["score"], today, until or today, svc.model.access.override_max_days
    )
    if problem:
        errors.setdefault(*problem)
    return values, errors


def store(svc: Services, kind: str, user_id: str, values: dict[str, Any], wait: float) -> None:
    """The note or override, with who entered it (their email when Slack has told us)."""
    email = svc.users.email(user_id, wait=wait)
    who = {"user_id": user_id, "user_email": None if email is MISSING else email}
    fields = {k: v for k, v in values.items() if k != "account_id"}
    if kind == "note":
        add_note(svc.engine, values["account_id"], **fields, **who)
    else:
        cap = svc.model.access.override_max_days
        add_override(svc.engine, values["account_id"], **fields, max_days=cap, **who)


def register(app: App, svc: Services) -> None:
    def submit(kind: str) -> Callable[..., None]:
        field = "score" if kind == "override" else "reason"

        def handle(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
            """Inside the ack: form errors, a known refusal (a submission can be forged), or
            the entry stored; when access is not known yet, `settle` decides after the ack."""
            user_id = body["user"]["id"]
            values, errors = check(svc, kind, view, today_in(svc.model))
            if errors:
                ack(response_action="errors", errors=errors)
                return
            decision = decide(svc, kind, user_id, values["account_id"], wait=0)
            if decision.allowed is False:
                ack(response_action="errors", errors={field: refusal_text(svc, decision)})
            elif decision.allowed and svc.users.email(user_id, wait=0) is not MISSING:
                store(svc, kind, user_id, values, wait=0)
                ack()
            else:
                context["write_pending"] = True
                checking = result_view(svc, kind, values["account_id"], "checking")
                ack(response_action="update", view=checking)

        return handle

    def settle(kind: str) -> Callable[..., None]:
        def settle(body: dict[str, Any], client: WebClient, context: Any) -> None:
            """After the ack: the submission whose access was not known, stored or refused
            inside its modal (the form was valid: the ack checked it)."""
            if not context.get("write_pending"):
                return
            view, user_id = body["view"], body["user"]["id"]
            values, errors = check(svc, kind, view, today_in(svc.model))
            account_id = values["account_id"]
            decision = decide(svc, kind, user_id, account_id, wait=LATE_WAIT)
            if decision.allowed and not errors:
                store(svc, kind, user_id, values, wait=LATE_WAIT)
                answer = result_view(svc, kind, account_id, "saved")
            else:
                answer = result_view(svc, kind, account_id, "refused", decision=decision)
            client.views_update(view_id=view["id"], view=answer)

        return settle

    def open_from_card(body: dict[str, Any], client: WebClient) -> None:
        open_modal(svc, client, body, "note", body["actions"][0]["value"])

    for kind in ("note", "override"):
        modal = app.view(f"csm_{kind}_modal")
        modal(ack=submit(kind), lazy=[gated(svc, settle(kind), self_checked=lambda body: True)])
    app.action("card_note")(
        ack=lambda ack: ack(), lazy=[gated(svc, open_from_card, self_checked=lambda body: True)]
    )
