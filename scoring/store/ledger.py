"""The run ledger's questions: has a period had a successful weekly run? What ran when?"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.store.outbox import OUTBOX
from scoring.store.tables import Run

RUNS = Run.__table__


def period_done(engine: Engine, period: str, kind: str = "weekly") -> bool:
    query = (
        sa.select(sa.func.count())
        .select_from(RUNS)
        .where(RUNS.c.kind == kind, RUNS.c.period == period, RUNS.c.status == "succeeded")
    )
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def list_runs(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """Recent runs with the fate of the messages each enqueued (sent/failed/unknown/pending)."""
    with engine.connect() as conn:
        runs = (
            conn.execute(sa.select(RUNS).order_by(RUNS.c.id.desc()).limit(limit)).mappings().all()
        )
        counts = conn.execute(
            sa.select(OUTBOX.c.run_id, OUTBOX.c.status, sa.func.count())
            .where(OUTBOX.c.run_id.is_not(None))
            .group_by(OUTBOX.c.run_id, OUTBOX.c.status)
        ).all()
    by_run: dict[int, dict[str, int]] = {}
    for run_id, status, n in counts:
        by_run.setdefault(run_id, {})[status] = int(n)
    rows: list[dict[str, Any]] = []
    for run in runs:
        msgs = by_run.get(run["id"], {})
        details = json.loads(run["details"]) if run["details"] else {}
        rows.append(
            {
                "id": run["id"],
                "kind": run["kind"],
                "period": run["period"],
                "status": run["status"],
                "started_at": run["started_at"],
                "finished_at": run["finished_at"],
                "accounts_scored": run["accounts_scored"],
                "alerts": run["alerts"],
                "sent": msgs.get("sent", 0),
                "failed": msgs.get("failed", 0),
                "unknown": msgs.get("unknown", 0),
                "pending": msgs.get("pending", 0) + msgs.get("sending", 0),
                "error": run["error"],
                "notes": details.get("notes"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
