"""Buttons and the outreach modal: show a card, share, acknowledge, snooze, log outreach.

Every click is acknowledged inside the request; the work (store the click with who and when,
then redraw the message it came from) runs in a worker thread. An alert DM keeps its buttons and
gains a state line under the account (chat.update with the channel and ts of the payload); a
card is drawn again with its new state (response_url for an ephemeral card, else chat.update).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.render import (
    MAX_BLOCKS,
    Message,
    check_blocks,
    clip,
    render_message,
    render_text,
    render_view,
)
from bot.slack.cards import current_alert_state, today_in
from bot.slack.listeners.answers import card_reply, notice, safe_answer, unpaged
from bot.slack.listeners.gate import gated
from bot.slack.listeners.origin import Origin
from bot.slack.listeners.write_access import (
    LATE_WAIT,
    decide,
    open_checked,
    refusal,
    refusal_text,
    result_view,
    tell,
)
from bot.slack.services import Services
from bot.slack.ttl_cache import MISSING
from scoring.store.clicks import record_action

log = logging.getLogger("healthbot.slack")
OUTCOMES = ("reached", "meeting_booked", "left_message", "escalated", "other")
NOTE_LIMIT = 3000
SNOOZE_WEEKS = (1, 2, 4)


def with_state(blocks: list[dict[str, Any]], account_id: str, state: dict[str, Any]) -> list[dict]:
    """An alert DM's blocks with the account's state line (replaced if already there) right
    under its buttons; dividers go first if the message would pass Slack's 50 blocks."""
    line = render_message("health_state", account_id=account_id, state=state).blocks[0]
    out = [b for b in blocks if b.get("block_id") != line["block_id"]]
    anchor = clip(f"alert:{account_id}", 255)
    where = next((i + 1 for i, b in enumerate(out) if b.get("block_id") == anchor), len(out))
    out.insert(where, line)
    while len(out) > MAX_BLOCKS and any(b.get("type") == "divider" for b in out):
        out.remove(next(b for b in out if b.get("type") == "divider"))
    check_blocks(out)
    return out


def note_and_outcome(view: dict[str, Any]) -> tuple[str, str | None, dict[str, str]]:
    """(note, outcome, errors by block_id) of a submitted outreach modal."""
    values = (view.get("state") or {}).get("values") or {}
    note = str((values.get("note") or {}).get("note", {}).get("value") or "").strip()
    picked = (values.get("outcome") or {}).get("outcome", {}).get("selected_option") or {}
    outcome = picked.get("value")
    errors = {}
    if not note:
        errors["note"] = render_text("health_notice", kind="note_required").strip()
    if outcome not in OUTCOMES:
        errors["outcome"] = render_text("health_notice", kind="outcome_required").strip()
    return note[:NOTE_LIMIT], outcome, errors


class Actions:
    """The listeners' bodies; each is small: store, render, send."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def known(self, account_id: str) -> bool:
        return account_id in self.svc.portfolio.snapshot().names.by_id

    def record(
        self, body: dict[str, Any], account_id: str, kind: str, wait: float | None = None, **values
    ) -> None:
        origin, user_id = Origin.of(body), body["user"]["id"]
        email = self.svc.users.email(user_id, wait=wait)
        record_action(
            self.svc.engine,
            account_id,
            kind,
            user_id=user_id,
            user_email=None if email is MISSING else email,
            period=self.svc.portfolio.snapshot().view.period,
            channel_id=origin.channel,
            message_ts=origin.ts,
            **values,
        )

    def redraw(self, client: WebClient, account_id: str, origin: Origin) -> None:
        """Show the account's new state in the message the click came from."""
        if origin.alert:
            text, blocks = (
                (origin.text, origin.blocks) if origin.blocks else self._read_back(client, origin)
            )
            state = current_alert_state(self.svc.engine, account_id, today_in(self.svc.model))
            message = Message(text, with_state(blocks, account_id, state))
        else:
            message = card_reply(self.svc, account_id, shared=not origin.ephemeral)
        if not origin.ephemeral and origin.channel and origin.ts:
            try:
                client.chat_update(
                    channel=origin.channel, ts=origin.ts, text=message.text, blocks=message.blocks
                )
                return
            except SlackApiError as exc:
                log.warning("chat.update failed (%s); trying response_url", exc.response["error"])
        if origin.response_url:
            Respond(response_url=origin.response_url)(
                text=message.text, blocks=message.blocks, replace_original=True
            )

    @staticmethod
    def _read_back(client: WebClient, origin: Origin) -> tuple[str, list[dict[str, Any]]]:
        """An alert DM's current text and blocks (a modal submission does not carry them)."""
        found = client.conversations_history(
            channel=origin.channel, latest=origin.ts, inclusive=True, limit=1
        )["messages"]
        if not found or found[0].get("ts") != origin.ts:
            raise LookupError("the alert message is gone")
        return found[0].get("text", ""), found[0].get("blocks") or []

    def show(self, body: dict[str, Any], client: WebClient, respond: Respond, replace: bool):
        message = card_reply(
            self.svc, body["actions"][0]["value"], shared=not body.get("response_url")
        )
        if body.get("response_url"):
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
                replace_original=replace,
            )
        else:  # a button in App Home: no response_url there, so the card comes by DM
            client.chat_postMessage(
                channel=body["user"]["id"], text=message.text, blocks=message.blocks
            )

    def share(self, body: dict[str, Any], client: WebClient, respond: Respond, message: Message):
        channel = Origin.of(body).channel
        try:
            client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            if exc.response["error"] not in ("not_in_channel", "channel_not_found"):
                raise
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel",
                replace_original=False,
            )

    def account_action(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        action = body["actions"][0]
        if action["action_id"] == "alert_snooze":
            weeks, _, account_id = action["selected_option"]["value"].partition("|")
            if not weeks.isdigit() or int(weeks) not in SNOOZE_WEEKS:
                raise ValueError(f"unexpected snooze value {action['selected_option']['value']!r}")
            until = today_in(self.svc.model) + timedelta(weeks=int(weeks))
            values: dict[str, Any] = {"until": until}
        else:
            account_id, values = action["value"], {}
        if not self.known(account_id):
            expired = notice("expired")
            respond(text=expired.text, blocks=expired.blocks, response_type="ephemeral")
            return
        kind = "snooze" if values else "ack"
        decision = decide(self.svc, kind, body["user"]["id"], account_id, wait=LATE_WAIT)
        if not decision.allowed:  # access.writes: who may acknowledge or snooze this account
            tell(client, body, refusal(self.svc, decision))
            return
        self.record(body, account_id, kind, wait=LATE_WAIT, **values)
        self.redraw(client, account_id, Origin.of(body))

    def open_outreach(self, body: dict[str, Any], client: WebClient) -> None:
        account_id = body["actions"][0]["value"]
        view = render_view(
            "modal_outreach",
            name=self.svc.portfolio.name_of(account_id),
            private_metadata=Origin.of(body).metadata(account_id),
            outcomes=OUTCOMES,
            note_limit=NOTE_LIMIT,
        )
        open_checked(self.svc, client, body, "outreach", account_id, view)

    def store_outreach(self, body: dict[str, Any]) -> tuple[dict[str, str], bool]:
        """Inside the acknowledgement: (errors for the modal, whether access is still
        pending). Stored here when access is already known, not in the lazy listener (which
        runs whatever the ack said), so a refusal shown in the modal never has a row; when it
        is not known, nothing is stored and `finish_outreach` decides after the ack."""
        view = body["view"]
        note, outcome, errors = note_and_outcome(view)
        account_id, user_id = Origin.from_metadata(view["private_metadata"])[0], body["user"]["id"]
        if errors or not self.known(account_id):
            return errors, False
        decision = decide(self.svc, "outreach", user_id, account_id, wait=0)
        if decision.allowed is False:
            return {"note": refusal_text(self.svc, decision)}, False
        if decision.allowed is None or self.svc.users.email(user_id, wait=0) is MISSING:
            return {}, True
        self.record(body, account_id, "outreach", wait=0, note=note, outcome=outcome)
        return {}, False

    def finish_outreach(self, body: dict[str, Any], client: WebClient, pending: bool) -> None:
        """After the acknowledgement: a submission whose access was not known is decided now
        (stored, or refused inside the modal); then the new state is shown where the modal was
        opened from (an invalid or refused one stored nothing, so nothing changes)."""
        view = body["view"]
        account_id, origin = Origin.from_metadata(view["private_metadata"])
        note, outcome, errors = note_and_outcome(view)
        if errors or not self.known(account_id):
            return
        if pending:
            decision = decide(self.svc, "outreach", body["user"]["id"], account_id, LATE_WAIT)
            if not decision.allowed:
                why = result_view(self.svc, "outreach", account_id, "refused", decision=decision)
                client.views_update(view_id=view["id"], view=why)
                return
            self.record(body, account_id, "outreach", LATE_WAIT, note=note, outcome=outcome)
            saved = result_view(self.svc, "outreach", account_id, "saved")
            client.views_update(view_id=view["id"], view=saved)
        if origin.channel or origin.response_url:
            self.redraw(client, account_id, origin)


def register(app: App, svc: Services) -> None:
    act = Actions(svc)

    def ack_click(ack: Ack) -> None:
        ack()

    def check_outreach(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        errors, pending = act.store_outreach(body)
        if errors:
            ack(response_action="errors", errors=errors)
        elif pending:
            context["write_pending"] = True
            account_id = Origin.from_metadata(body["view"]["private_metadata"])[0]
            ack(response_action="update", view=result_view(svc, "outreach", account_id, "checking"))
        else:
            ack()

    def pick(body: dict, client: WebClient, respond: Respond) -> None:
        act.show(body, client, respond, replace=True)

    def open_card(body: dict, client: WebClient, respond: Respond) -> None:
        act.show(body, client, respond, replace=False)

    def share_card(body: dict, client: WebClient, respond: Respond) -> None:
        act.share(body, client, respond, card_reply(svc, body["actions"][0]["value"], shared=True))

    def share_list(body: dict, client: WebClient, respond: Respond) -> None:
        (text, page), user_id = unpaged(body["actions"][0]["value"]), body["user"]["id"]
        act.share(body, client, respond, safe_answer(svc, text, user_id, True, page))

    def account_action(body: dict, client: WebClient, respond: Respond) -> None:
        act.account_action(body, client, respond)

    def outreach(body: dict, client: WebClient) -> None:
        act.open_outreach(body, client)

    def save(body: dict, client: WebClient, context: BoltContext) -> None:
        act.finish_outreach(body, client, bool(context.get("write_pending")))

    clicks = {
        re.compile(r"^health_pick(_\d+)?$"): pick,
        "health_open": open_card,
        "card_share": share_card,
        "health_share": share_list,
        re.compile(r"^alert_(ack|snooze)$"): account_action,
        "alert_log_outreach": outreach,
    }
    writes = {account_action, outreach}
    for action_id, work in clicks.items():
        checked = gated(svc, work, self_checked=lambda body, w=work: w in writes)
        app.action(action_id)(ack=ack_click, lazy=[checked])
    app.view("outreach_modal")(ack=check_outreach, lazy=[gated(svc, save, lambda body: True)])
