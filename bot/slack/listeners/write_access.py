"""Who may write what from Slack: one rule, `access.writes`, for every write.

Notes (their sentiment and champion status move the score and fire champion_left), overrides,
acknowledgements, snoozes and logged outreach are each allowed to the roles the model file names
for them (by default the account's owner and the admins). Every write path asks `decide` before
it stores anything, and a refusal is an ephemeral message saying who may do it and why this user
may not, so nobody wonders whether their click counted.

The owner is the account's `owner_email` matched against the user's Slack profile email
(users.info); admins are `access.admins`. Both are cached look-ups (`bot.slack.access`): code
that runs before the acknowledgement passes `wait` and may get "not known yet" (`allowed` None),
which it must treat as a refusal that asks the user to try again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.messages.render import Message, render_message
from bot.slack.listeners.command_text import COMMAND
from bot.slack.services import Services
from bot.slack.ttl_cache import MISSING

# Seconds a not-yet-acknowledged request may wait on look-ups, per check (the access list, then
# the write's own check): two of them stay well inside Slack's 3 seconds.
ACK_WAIT = 0.8
VERBS = {
    "note": "add a note to",
    "override": "override the score of",
    "ack": "acknowledge alerts on",
    "snooze": "snooze alerts on",
    "outreach": "log outreach on",
}
ROLE_WORDS = {
    "owner": "the account's owner",
    "admins": "a healthbot admin",
    "anyone": "anyone who may use healthbot",
}


@dataclass(frozen=True)
class Decision:
    """Whether `user_id` may do `action` to `account_id`; `allowed` None: not known yet."""

    action: str
    account_id: str
    allowed: bool | None
    roles: tuple[str, ...]
    why: str = ""


def decide(
    svc: Services, action: str, user_id: str, account_id: str, wait: float | None = None
) -> Decision:
    """Asks the cheap roles first: `anyone` costs nothing, the owner one cached profile look-up,
    admins possibly a user-group or channel read. `wait` bounds all the look-ups together."""
    deadline = None if wait is None else time.monotonic() + wait
    roles = svc.model.access.writes.roles(action)
    unknown = False
    if "anyone" in roles:
        return Decision(action, account_id, True, roles)
    owner = (svc.portfolio.owner_of(account_id) or "").casefold()
    email: Any = None
    if "owner" in roles:
        email = svc.users.email(user_id, wait=wait)
        if email is MISSING:
            unknown = True
        elif owner and owner == (email or "").casefold():
            return Decision(action, account_id, True, roles)
    if "admins" in roles:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        admin = svc.access.is_admin(user_id, wait=left)
        if admin:
            return Decision(action, account_id, True, roles)
        unknown = unknown or admin is None
    if unknown:
        return Decision(action, account_id, None, roles)
    return Decision(action, account_id, False, roles, _why(roles, owner, email))


def _why(roles: tuple[str, ...], owner: str, email: str | None) -> str:
    reasons = []
    if "owner" in roles:
        if not email:
            reasons.append("I cannot read your Slack profile's email to match it to the owner")
        elif not owner:
            reasons.append("the account has no owner on record")
        else:
            reasons.append(f"it belongs to {owner}, not to you ({email})")
    if "admins" in roles:
        reasons.append("you are not a healthbot admin")
    return "; ".join(reasons) or "nobody is allowed to do this (see access.writes)"


def refusal(svc: Services, decision: Decision) -> Message:
    """The ephemeral refusal: who may, and why this user may not (or: not known yet)."""
    roles = [ROLE_WORDS[r] for r in decision.roles]
    who = " or ".join(roles) if roles else "nobody"
    return render_message(
        "write_refused",
        pending=decision.allowed is None,
        action=decision.action,
        verb=VERBS[decision.action],
        name=svc.portfolio.name_of(decision.account_id),
        who=who,
        why=decision.why,
        also=[a for a in VERBS if a != decision.action],
        command=COMMAND,
    )


def refusal_text(svc: Services, decision: Decision) -> str:
    """The refusal as one line, for a modal's inline error (plain text, up to Slack's limit)."""
    return refusal(svc, decision).text.strip()[:2000]


def pending_access() -> Message:
    """The answer to a request whose access look-up Slack has not answered in time."""
    return render_message(
        "write_refused", pending=True, verb="use", name="healthbot", action="", also=[]
    )


def tell(client: WebClient, body: dict[str, Any], message: Message) -> None:
    """An ephemeral reply: through the payload's response_url, else (App Home, which has none)
    as a DM from the bot, which only the user sees."""
    url = body.get("response_url")
    if url:
        Respond(response_url=url)(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )
        return
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    client.chat_postMessage(channel=user_id, text=message.text, blocks=message.blocks)
