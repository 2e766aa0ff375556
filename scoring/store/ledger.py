"""The run ledger's questions: has a period had a successful weekly run? What ran when?"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.outbox import OUTBOX
from scoring.store.tables import Run

RUNS = Run.__table__


RUN_COLUMNS = [
    "id",
    "kind",
    "period",
    "status",
    "started_at",
    "finished_at",
    "accounts_scored",
    "alerts",
    "sent",
    "failed",
    "unknown",
    "pending",
    "error",
    "notes",
    # Revision 0007: how it delivered, which try of its period, and what is not in Slack yet.
    "transport",
    "attempt",
    "printed",
    "in_doubt",
]
# A weekly run that ended like this leaves its period not done unless a later run succeeds.
NOT_DONE = ("failed", "blocked", "abandoned", "interrupted")
DONE = ("succeeded", "delivering")  # delivering: all queued, the sweep finishes the sending
UNDELIVERED = ("pending", "sending", "unknown")  # on their way, or waiting for a person


def list_runs(engine: Engine, limit: int = 50, include: Iterable[int] = ()) -> pd.DataFrame:
    """Recent runs (and the runs in `include`, however old) with the fate of the messages each
    enqueued. `sent` counts Slack deliveries only, `printed` the terminal's; `in_doubt` is a
    post whose outcome a read-back must settle and `pending` the rest still on its way."""
    has_error = OUTBOX.c.error.is_not(None)
    with engine.connect() as conn:
        newest = sa.select(RUNS.c.id).order_by(RUNS.c.id.desc()).limit(limit)
        ids = set(conn.execute(newest).scalars()) | set(include)
        query = sa.select(RUNS).where(RUNS.c.id.in_(sorted(ids) or [-1]))
        runs = conn.execute(query.order_by(RUNS.c.id.desc())).mappings().all()
        counts = conn.execute(
            sa.select(OUTBOX.c.run_id, OUTBOX.c.status, has_error, sa.func.count())
            .where(OUTBOX.c.run_id.in_([r["id"] for r in runs] or [-1]))
            .group_by(OUTBOX.c.run_id, OUTBOX.c.status, has_error)
        ).all()
    by_run: dict[int, dict[str, int]] = {}
    for run_id, status, errored, n in counts:
        state = "in_doubt" if status == "sending" and errored else status
        counts_of = by_run.setdefault(run_id, {})
        counts_of[state] = counts_of.get(state, 0) + int(n)
    rows: list[dict[str, Any]] = []
    for run in runs:
        msgs = by_run.get(run["id"], {})
        details = json.loads(run["details"]) if run["details"] else {}
        rows.append(
            {
                **{c: run[c] for c in ("id", "kind", "period", "status", "started_at")},
                "finished_at": run["finished_at"],
                "accounts_scored": run["accounts_scored"],
                "alerts": run["alerts"],
                "sent": msgs.get("sent", 0),
                "failed": msgs.get("failed", 0),
                "unknown": msgs.get("unknown", 0),
                "pending": msgs.get("pending", 0) + msgs.get("sending", 0),
                "error": run["error"],
                "notes": details.get("notes") if isinstance(details, dict) else None,
                "transport": run["transport"],
                "attempt": run["attempt"],
                "printed": msgs.get("printed", 0),
                "in_doubt": msgs.get("in_doubt", 0),
            }
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def pending_messages(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """Messages not in Slack that delivery still owes: queued or waiting to retry (`pending`),
    posting or being read back (`sending`; `in_doubt` when a post's outcome is unknown), or
    stopped in doubt until a person looks (`unknown`). Oldest first, the order they go out.
    Failed rows are not here: nothing retries them until a person does (`outbox retry`)."""
    query = (
        sa.select(
            *(
                OUTBOX.c[c]
                for c in (
                    "id",
                    "key",
                    "run_id",
                    "period",
                    "kind",
                    "target",
                    "status",
                    "attempts",
                    "error",
                    "next_attempt_at",
                    "created_at",
                    "updated_at",
                    "claimed_by",
                )
            )
        )
        .where(OUTBOX.c.status.in_(UNDELIVERED))
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["in_doubt"] = row["status"] == "sending" and row["error"] is not None
    return rows


def periods_not_done(engine: Engine) -> list[dict[str, Any]]:
    """Periods whose latest weekly run ended failed, blocked, abandoned or interrupted: nothing
    after it succeeded, so the period could not run (yet). Newest period first, with that run
    and, if there was one, the earlier run that had succeeded (`earlier_success`)."""
    latest = (
        sa.select(sa.func.max(RUNS.c.id))
        .where(RUNS.c.kind == "weekly", RUNS.c.period.is_not(None))
        .group_by(RUNS.c.period)
    )
    query = (
        sa.select(RUNS)
        .where(RUNS.c.id.in_(latest), RUNS.c.status.in_(NOT_DONE))
        .order_by(RUNS.c.period.desc())
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        periods = [r["period"] for r in rows]
        done = conn.execute(
            sa.select(RUNS.c.period, sa.func.max(RUNS.c.id))
            .where(RUNS.c.kind == "weekly", RUNS.c.status.in_(DONE))
            .where(RUNS.c.period.in_(periods or [""]))
            .group_by(RUNS.c.period)
        ).all()
    succeeded = dict(done)
    return [
        {
            "period": r["period"],
            "run_id": r["id"],
            "status": r["status"],
            "attempt": r["attempt"],
            "transport": r["transport"],
            "holder": r["holder"],
            "error": r["error"],
            "started_at": r["started_at"],
            "finished_at": r["finished_at"],
            "earlier_success": succeeded.get(r["period"]),
        }
        for r in rows
    ]
