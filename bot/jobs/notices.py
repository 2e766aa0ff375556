"""What a run tells people besides alerts: override-expired notices for owners (carried in
their DM) and failure reports for the admin channel (always also in the log).

Reports go through the outbox like every message, delivered when Slack takes it. Each is
made once by the event it reports, which happens once: a run ending failed or blocked, a run
marked abandoned (a compare-and-set), messages claimed as unreported (outbox_moves).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import PassOptions, deliver_pending
from bot.delivery.transport_types import Transport
from bot.jobs.control import RunControl
from bot.messages.render import render_text
from scoring.batch.views import PeriodView
from scoring.config import Model
from scoring.decisions.overrides import expired_overrides
from scoring.store.csm_inputs import load_csm_inputs
from scoring.store.outbox import OutboxMessage, enqueue
from scoring.store.runs import period_runs

log = logging.getLogger("healthbot.pipeline")


def expiry_notices(engine: Engine, view: PeriodView, as_of: date) -> list[dict[str, Any]]:
    """Owners whose override ran out since last week: the computed score is back. Each notice
    is a dict for the override_notice template, with the owner's email."""
    expired = expired_overrides(load_csm_inputs(engine), as_of - timedelta(days=7), as_of)
    if expired.empty:
        return []
    scores = view.scores.set_index("account_id")
    out = []
    for row in expired.to_dict("records"):
        account = row["account_id"]
        if account not in scores.index or not isinstance(scores.loc[account, "owner_email"], str):
            continue
        info = scores.loc[account]
        out.append(
            {
                "owner_email": info["owner_email"],
                "account_id": account,
                "name": info["name"],
                "until": str(row["valid_until"])[:10],
                "score": info["score_shown"],
                "band": str(info["band"]).replace("_", " "),
                "by": row["user_email"] or row["user_id"] or "someone",
                "reason": row["reason"],
            }
        )
    return out


def report_to_admins(
    engine: Engine,
    model: Model,
    key: str,
    text: str,
    transport: Transport | None = None,
    period: str | None = None,
    control: RunControl | None = None,
    run_id: int | None = None,
) -> bool:
    """Log `text`, and queue it for `admin_channel` (when set) under `key`; with a transport,
    deliver it now. False when it could not be queued (the database may be what failed)."""
    log.error("report: %s", text)
    if not model.admin_channel:
        return True
    message = OutboxMessage(
        key, "admin", "channel", model.admin_channel, text, period=period, run_id=run_id
    )
    try:
        enqueue(engine, [message])
        if transport is not None:
            holder = (control or RunControl()).holder
            deliver_pending(engine, transport, PassOptions(holder=holder))
        return True
    except Exception:  # noqa: BLE001
        log.exception("could not report to %s", model.admin_channel)
        return False


def report_failure(
    engine: Engine,
    model: Model,
    period: str,
    exc: BaseException,
    transport: Transport | None,
    control: RunControl | None = None,
    attempt: str = "",
) -> None:
    error = f"{type(exc).__name__}: {exc}"
    text = render_text("admin_failure", period=period, error=error[:500])
    key = f"admin:{period}:failed:{attempt}:{_stamp()}"
    try:  # the failed run, so `healthbot runs` shows its report
        run_id = period_runs(engine, period)[-1]["id"]
    except Exception:  # noqa: BLE001  (no run, or the database is what failed)
        run_id = None
    report_to_admins(engine, model, key, text, transport, period, control, run_id)


def _stamp() -> str:
    from scoring.store.tables import utcnow

    return f"{utcnow():%Y%m%dT%H%M%S%f}"
