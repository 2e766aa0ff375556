"""`/health`: acknowledge at once, then answer (or open a CSM modal) from a worker thread.

The command is acknowledged with an empty 200 inside the request (bolt's
`process_before_response` with a lazy listener), so Slack's 3-second limit holds however big the
portfolio or slow the database; the answer follows through the command's `response_url`, POSTed
over a kept-alive connection (`bot.slack.response_url`). What the text means is `command_text`,
what the reply says is `answers`; this module only wires them.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.listeners.answers import safe_answer
from bot.slack.listeners.command_text import parse_command
from bot.slack.listeners.csm_input import from_command
from bot.slack.listeners.gate import gated
from bot.slack.response_url import ResponsePoster
from bot.slack.services import Services


def register(app: App, svc: Services) -> None:
    poster = ResponsePoster()  # one per app, so per web process

    def ack_command(ack: Ack) -> None:
        ack()

    def answer_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        command = parse_command(body.get("text"))
        if command.kind in ("note", "override"):  # a modal, not a message
            from_command(svc, client, body, command.kind, command.arg, respond)
            return
        message = safe_answer(svc, body.get("text"), body.get("user_id", ""))
        reply = {"text": message.text, "blocks": message.blocks, "response_type": "ephemeral"}
        if body.get("response_url"):
            poster.post(body["response_url"], reply)
        else:
            respond(**reply)

    def opens_modal(body: dict[str, Any]) -> bool:  # access settled by write_access
        return parse_command(body.get("text")).kind in ("note", "override")

    answer = gated(svc, answer_command, self_checked=opens_modal)
    app.command(re.compile(r"^/health"))(ack=ack_command, lazy=[answer])
