"""What a worker tells the job it runs: who it is (its lease holder id) and when to stop.

SIGTERM sets `stop`; the job checks it between stages and before each send (no new sends
after it), and raises Interrupted at the next checkpoint, which the run records as
`interrupted`. A heartbeat that finds its leases taken over sets `lost`, which stops the job
the same way: another worker owns the period now.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass, field


class Interrupted(Exception):
    """The worker was asked to stop (or lost its lease) before the run finished."""


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunControl:
    holder: str = field(default_factory=holder_id)
    stop: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    leases: set[str] = field(default_factory=set)  # held now: the heartbeat checks them

    def should_stop(self) -> bool:
        return self.stop.is_set() or self.lost.is_set()

    def checkpoint(self) -> None:
        if self.lost.is_set():
            raise Interrupted("this worker's lease was taken over by another worker")
        if self.stop.is_set():
            raise Interrupted("the worker was asked to stop (SIGTERM)")

    def sleep(self, seconds: float) -> bool:
        """Wait, unless asked to stop first; True when the wait was cut short."""
        return self.stop.wait(max(seconds, 0)) or self.lost.is_set()
