"""Lists that deliver what they promise: the page buttons of `/health mine`, `at-risk` and
`alerts`, the alert DM's "Show all" button, and a card opened from the owner's list of a
week's alerts (which counts its alert as shown, like a DM that listed it).

A page button's value is the command that lists it and the page (`answers.paged`), so a page
is answered again from the latest period: nothing about the list is kept between clicks.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.slack.listeners.answers import card_reply, safe_answer, unpaged
from bot.slack.listeners.gate import gated
from bot.slack.services import Services
from scoring.store.alert_shown import mark_shown


def open_from_alerts(svc: Services, user_id: str, value: str) -> tuple[str, bool]:
    """(account_id, counted as shown) for a click on `PERIOD|ACCOUNT` in an alert list: the
    alert counts as shown only when the account's owner opened it."""
    period, _, account_id = value.partition("|")
    owner = svc.portfolio.owner_of(account_id)
    email = svc.users.email(user_id)
    mine = bool(owner and isinstance(email, str) and owner.casefold() == email.casefold())
    return account_id, mine and mark_shown(svc.engine, period, account_id, "opened")


def register(app: App, svc: Services) -> None:
    def ack_click(ack: Ack) -> None:
        ack()

    def reply(body: dict[str, Any], respond: Respond, replace: bool) -> None:
        text, page = unpaged(body["actions"][0]["value"])
        message = safe_answer(svc, text, body["user"]["id"], page=page)
        respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=replace,
        )

    def turn_page(body: dict[str, Any], respond: Respond) -> None:
        reply(body, respond, replace=True)

    def show_all(body: dict[str, Any], respond: Respond) -> None:
        reply(body, respond, replace=False)  # the DM itself stays as it is

    def open_alert(body: dict[str, Any], respond: Respond) -> None:
        account_id, _ = open_from_alerts(svc, body["user"]["id"], body["actions"][0]["value"])
        message = card_reply(svc, account_id)
        respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )

    clicks = {
        re.compile(r"^health_page_(previous|next)$"): turn_page,
        "alert_show_all": show_all,
        "alert_open": open_alert,
    }
    for action_id, work in clicks.items():
        app.action(action_id)(ack=ack_click, lazy=[gated(svc, work)])
