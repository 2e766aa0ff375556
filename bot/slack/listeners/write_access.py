"""Who may write what from Slack: one rule, `access.writes`, for every write.

Notes (their sentiment and champion status move the score and fire champion_left), overrides,
acknowledgements, snoozes and logged outreach are each allowed to the roles the model file names
for them (by default the account's owner and the admins). Every write path asks `decide` before
it stores anything, and a refusal is an ephemeral message saying who may do it and why this user
may not, so nobody wonders whether their click counted.

The owner is the account's `owner_email` matched against the user's Slack profile email
(users.info); admins are `access.admins`. Both are cached look-ups (`bot.slack.access`), and
the acknowledgement never waits on them: code inside the ack asks with `wait=0` and, when the
answer is not known yet (`allowed` None), acknowledges anyway and decides after the ack
(`LATE_WAIT`), answering through the modal (views.update) or the payload's response_url.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.messages.render import Message, render_message, render_view
from bot.slack.listeners.command_text import COMMAND
from bot.slack.services import Services
from bot.slack.ttl_cache import MISSING

# Seconds work after the ack may wait on access look-ups (each Web API call has 10 s).
LATE_WAIT = 25.0
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
    admins possibly a user-group or channel read. `wait` bounds all the look-ups together. A
    user outside `access.allow` may write nothing, whatever `access.writes` says."""
    deadline = None if wait is None else time.monotonic() + wait
    roles = svc.model.access.writes.roles(action)
    if "owner" in roles:  # start the profile look-up now, beside the access list's
        svc.users.email(user_id, wait=0)
    listed = svc.access.allowed(user_id, wait=wait)
    if listed is False:
        return Decision(action, account_id, False, roles, "you are not on healthbot's access list")
    unknown = listed is None
    if "anyone" in roles:
        return Decision(action, account_id, None if unknown else True, roles)
    owner = (svc.portfolio.owner_of(account_id) or "").casefold()
    email: Any = None
    if "owner" in roles:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        email = svc.users.email(user_id, wait=left)
        if email is MISSING:
            unknown = True
        elif owner and owner == (email or "").casefold() and not unknown:
            return Decision(action, account_id, True, roles)
    if "admins" in roles:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        admin = svc.access.is_admin(user_id, wait=left)
        if admin:  # admins are always on the access list
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
    return render_message(
        "write_refused",
        verb=VERBS[decision.action],
        name=svc.portfolio.name_of(decision.account_id),
        **_refusal_context(svc, decision),
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


# Seconds a modal-opening listener may wait on access before it opens the modal anyway: Slack's
# trigger_id lasts 3 seconds, and an unknown answer is settled after the modal is open.
TRIGGER_WAIT = 1.0
TITLES = {"note": "Add a CSM note", "override": "Override the score", "outreach": "Log outreach"}


def result_view(svc: Services, kind: str, account_id: str, state: str, **extra: Any) -> dict:
    """The modal after its submission: `checking`, `saved`, or `refused` (pass `decision`)."""
    decision: Decision | None = extra.pop("decision", None)
    refused = {} if decision is None else _refusal_context(svc, decision)
    return render_view(
        "modal_result",
        state=state,
        title=TITLES[kind],
        verb=VERBS[kind],
        name=svc.portfolio.name_of(account_id),
        **(refused | extra),
    )


def open_checked(
    svc: Services, client: WebClient, body: dict[str, Any], kind: str, account_id: str, view: dict
) -> None:
    """Open a CSM-input modal for a user who may submit it. A refusal already known is an
    ephemeral message and no modal; an answer not known within TRIGGER_WAIT opens the modal
    at once (the trigger would expire) and, if the late answer is a refusal, turns the open
    modal into it. The submission is checked again either way."""
    user_id = (body.get("user") or {}).get("id") or body.get("user_id") or ""
    decision = decide(svc, kind, user_id, account_id, wait=TRIGGER_WAIT)
    if decision.allowed is False:
        tell(client, body, refusal(svc, decision))
        return
    opened = client.views_open(trigger_id=body["trigger_id"], view=view)
    if decision.allowed:
        return
    late = decide(svc, kind, user_id, account_id, wait=LATE_WAIT)
    if not late.allowed:
        client.views_update(
            view_id=opened["view"]["id"],
            view=result_view(svc, kind, account_id, "refused", decision=late),
        )


def _refusal_context(svc: Services, decision: Decision) -> dict[str, Any]:
    roles = [ROLE_WORDS[r] for r in decision.roles]
    return {
        "pending": decision.allowed is None,
        "who": " or ".join(roles) if roles else "nobody",
        "why": decision.why,
        "also": [a for a in VERBS if a != decision.action],
        "command": COMMAND,
        "action": decision.action,
    }
