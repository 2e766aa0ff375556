"""A Runner from a URL: the compiled model run where a warehouse source's signals live
(the backend itself, Spark included, comes from `scoring.store.backends`)."""

from __future__ import annotations

from scoring.pushdown.runners import BackendRunner, Runner
from scoring.store.backends import backend_for


def runner_for(url: str) -> Runner:
    """The Runner for the signals behind `url` (an ibis backend URL, or a Spark master)."""
    return BackendRunner(backend_for(url))
