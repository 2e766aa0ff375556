"""The access list, settled after the acknowledgement.

`limit_access` (bot/slack/app.py) never waits on a membership look-up: a user it cannot place
yet gets the request acknowledged with `context["access_pending"]`, and the work after the ack
runs through `gated`, which waits for the answer first (up to LATE_WAIT) and then either does
the work or tells the user, through the payload's response_url, that they may not. Writes are
`self_checked`: `write_access.decide` includes the access list, and they must not wait here
(a modal's trigger_id lasts 3 seconds; a submission answers inside its modal).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from bot.slack.listeners.answers import notice
from bot.slack.listeners.guard import guarded
from bot.slack.listeners.write_access import LATE_WAIT, pending_access, tell
from bot.slack.services import Services

GATE_ARGS = ("body", "context", "client")


def gated(
    svc: Services,
    func: Callable[..., None],
    self_checked: Callable[[dict[str, Any]], bool] = lambda body: False,
) -> Callable[..., None]:
    """`func` as a lazy listener: guarded, and run only once the access list admits the user."""
    work = guarded(func)
    wanted = list(inspect.signature(inspect.unwrap(func)).parameters)

    def run(**given: Any) -> None:
        body, context, client = (given[name] for name in GATE_ARGS)
        if context.get("access_pending") and not self_checked(body):
            allowed = svc.access.allowed(context.user_id, wait=LATE_WAIT)
            if not allowed:
                tell(client, body, notice("not_allowed") if allowed is False else pending_access())
                return
        work(**{name: given[name] for name in wanted})

    names = dict.fromkeys([*GATE_ARGS, *wanted])  # bolt injects what the signature names
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    run.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in names])  # type: ignore[attr-defined]
    run.__name__ = run.__qualname__ = f"gated_{func.__name__}"
    return run
