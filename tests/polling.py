"""Waiting for something another thread or process does (a reply reaching the Slack double,
a worker finishing its run), with a deadline so that a hang fails the test instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def wait_for(
    check: Callable[[], Any], seconds: float = 30, what: str = "condition", every: float = 0.02
) -> Any:
    """Poll `check` every `every` seconds until it returns something truthy, and return that;
    fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        threading.Event().wait(every)
