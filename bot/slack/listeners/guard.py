"""The wrapper every lazy listener runs in: a failure is logged with a short reference and,
when the payload carries a `response_url`, the user gets an error notice quoting it.

Its own module because every listener uses it and it depends only on the notices, so no
listener has to import another to get it.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

from bot.slack.listeners.answers import notice

log = logging.getLogger("healthbot.slack")


def guarded(func: Callable[..., None]) -> Callable[..., None]:
    """A listener that logs its failure with a reference and tells the user, if it can."""

    @functools.wraps(func)
    def run(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("%s failed (reference %s)", func.__name__, reference)
            url = (kwargs.get("body") or {}).get("response_url")
            if url:
                failed = notice("error", reference=reference)
                Respond(response_url=url)(
                    text=failed.text, blocks=failed.blocks, response_type="ephemeral"
                )

    return run
