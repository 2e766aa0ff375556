"""When a blocked period runs again: its sources changed, or a person confirmed the sync.

A run ends `blocked` when its sync refused a mass change (scoring/sync/guards.py). Retrying
the same data cannot help, so the scheduler never retries it on a timer and reports it once;
it runs the period again as soon as either thing a person can do has happened:
- the sources differ from the fingerprint recorded on the blocked run (a corrected export), or
- `healthbot sync --allow-shrink` succeeded after the block (the sync run row records it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.store.runs import RUNS, period_runs
from scoring.sync.fingerprint import fingerprint, sources_changed

SOURCES_KEY = "sources_fingerprint"


def _details(run: dict[str, Any]) -> dict[str, Any]:
    raw = run.get("details")
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if raw else {}


def remember_sources(engine: Engine, period: str, recorded: dict[str, Any]) -> None:
    """Store `recorded` (the fingerprint taken before the run) on the period's latest run if
    it ended blocked, so a later tick can tell whether the sources changed since."""
    runs = period_runs(engine, period)
    if not runs or runs[-1]["status"] != "blocked":
        return
    details = _details(runs[-1]) | {SOURCES_KEY: recorded}
    with engine.begin() as conn:
        conn.execute(
            sa.update(RUNS).where(RUNS.c.id == runs[-1]["id"]).values(details=json.dumps(details))
        )


def confirmed_since(engine: Engine, run_id: int) -> bool:
    """Whether a `healthbot sync --allow-shrink` succeeded after run `run_id`."""
    query = sa.select(RUNS.c.details).where(
        RUNS.c.kind == "sync", RUNS.c.status == "ok", RUNS.c.id > run_id
    )
    with engine.connect() as conn:
        rows = list(conn.execute(query).scalars())
    return any(json.loads(d or "{}").get("allow_shrink") for d in rows)


def unblocked(engine: Engine, model: Model, model_dir: Path, blocked: dict[str, Any]) -> bool:
    """Whether a person has acted since the blocked run: then the period runs again."""
    if confirmed_since(engine, int(blocked["id"])):
        return True
    recorded = _details(blocked).get(SOURCES_KEY)
    return recorded is not None and sources_changed(model, model_dir, recorded)


def sources_now(model: Model, model_dir: Path) -> dict[str, Any] | None:
    """The sources' fingerprint before a run (None when the model has no sources)."""
    return fingerprint(model, model_dir) if model.sources else None
