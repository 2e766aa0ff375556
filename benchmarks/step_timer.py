"""Where a benchmark's seconds go: named steps timed by wrapping the functions that do them.

The weekly run is one call into the library (`score_and_store`, `weekly_messages`), so a
benchmark that wants each query, store, compare and render timed apart wraps the functions
those calls look up (`module.name` or `Class.name`) for the length of a `with` block. Times
are exclusive: a step inside another (the metric-drop history inside the weekly decisions) is
taken out of the outer one, so the steps add up to the run. Benchmarks only: the library
itself carries no timing code.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class StepTimer:
    """Exclusive seconds per step name, in the order steps first ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list[float]] = []  # per open step: [start, time in inner steps]

    def _enter(self) -> None:
        self._stack.append([time.perf_counter(), 0.0])

    def _leave(self, name: str) -> None:
        start, inner = self._stack.pop()
        spent = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + spent - inner
        if self._stack:
            self._stack[-1][1] += spent

    def _wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return function(*args, **kwargs)
            finally:
                self._leave(name)

        return timed

    @contextmanager
    def watching(self, steps: dict[str, list[tuple[Any, str]]]) -> Iterator[StepTimer]:
        """Within the block, each (owner, attribute) of a step is timed under its name;
        the originals are put back afterwards, whatever happens."""
        saved = []
        for name, places in steps.items():
            for owner, attribute in places:
                original = owner.__dict__[attribute] if isinstance(owner, type) else None
                function = getattr(owner, attribute)
                saved.append((owner, attribute, original if original is not None else function))
                setattr(owner, attribute, self._wrap(name, function))
        try:
            yield self
        finally:
            for owner, attribute, original in reversed(saved):
                setattr(owner, attribute, original)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a block of the benchmark's own code as a step."""
        self._enter()
        try:
            yield
        finally:
            self._leave(name)
