"""The weekly job: sync → score → compare → decide alerts → render → outbox → deliver → digest.

Every message leaves through the outbox (bot/delivery.py), so a rerun for the same period
sends only what was not delivered before. The run is recorded in the run ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.delivery import deliver_pending
from bot.digest_context import digest_context, overflow_context
from bot.render import render_message, render_text
from scoring.config import Model
from scoring.digest import build_digest
from scoring.jobs import lookback_days, score_and_store
from scoring.periods import period_of
from scoring.store import finish_run, load_accounts, load_signals, start_run
from scoring.store.actions import alert_history, record_alerts, snoozes
from scoring.store.outbox import OutboxMessage, enqueue
from scoring.views import last_signal_dates, load_period
from scoring.weekly import decide_week, stale_days

log = logging.getLogger("healthbot.pipeline")


@dataclass
class WeeklyResult:
    period: str
    as_of: date
    accounts_scored: int = 0
    alerts: int = 0
    suppressed: int = 0
    messages: int = 0
    delivery: Any = None
    texts: list[str] = field(default_factory=list)
    digest_text: str = ""


def run_weekly(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    transport: Any,
    sync: bool = True,
    today: date | None = None,
) -> WeeklyResult:
    """One full weekly run for the period of `as_of`; raises on failure after recording it."""
    period = period_of(as_of)
    run_id = start_run(engine, "weekly", period)
    result = WeeklyResult(period, as_of)
    try:
        if sync and model.sources:
            from scoring.sync import run_sync

            run_sync(engine, model, model_dir, today or as_of + timedelta(days=1))
        scored = score_and_store(engine, model, [as_of])[0]
        result.accounts_scored = len(scored.scores.accounts)
        messages = weekly_messages(engine, model, as_of, result, run_id)
        enqueue(engine, messages)
        result.messages = len(messages)
        result.delivery = deliver_pending(
            engine,
            transport,
            redirect=model.delivery.redirect,
            fallback_channel=model.alerts.fallback_channel,
        )
    except Exception as exc:
        finish_run(
            engine,
            run_id,
            "failed",
            accounts_scored=result.accounts_scored,
            alerts=result.alerts,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    finish_run(
        engine,
        run_id,
        "succeeded",
        accounts_scored=result.accounts_scored,
        alerts=result.alerts,
        details=_delivery_details(result.delivery),
    )
    return result


def _delivery_details(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    return {
        k: getattr(report, k)
        for k in ("sent", "failed", "unknown", "pending")
        if hasattr(report, k)
    }


def weekly_messages(
    engine: Engine, model: Model, as_of: date, result: WeeklyResult, run_id: int | None = None
) -> list[OutboxMessage]:
    """Alert DMs (one per owner) and the digest(s), rendered and keyed for the outbox."""
    view = load_period(engine, period_of(as_of))
    accounts = load_accounts(engine)
    lookback = 2 * lookback_days(model)
    signals = load_signals(engine, as_of - timedelta(days=lookback), as_of)
    last = last_signal_dates(engine)
    history = alert_history(engine, before=as_of)
    decision = decide_week(model, as_of, view, accounts, signals, last, history, snoozes(engine))
    result.alerts = len(decision.alerts)
    result.suppressed = len(decision.suppressed)
    record_alerts(engine, decision.alerts, view.period, as_of, run_id, decision.keys_by_account)
    out: list[OutboxMessage] = []
    for batch in decision.batches:
        context = {
            "period": view.period,
            "owner_name": batch.owner_name,
            "items": batch.items,
            "more": batch.more,
        }
        message = render_message("alert_dm", **context)
        result.texts.append(message.text)
        out.append(
            OutboxMessage(
                key=batch.key,
                run_id=run_id,
                kind="alert_dm",
                period=view.period,
                target_kind="email",
                target=batch.owner_email,
                text=message.text,
                blocks=message.blocks,
            )
        )
    stale = stale_days(last, as_of, model.alerts.stale_days)
    for target in model.digest:
        digest = build_digest(model, view, as_of, target.where, target.renewal_days, stale)
        context = digest_context(model, digest)
        message = render_message("digest", **context)
        result.digest_text = render_text("digest", **context)
        out.append(
            OutboxMessage(
                key=f"digest:{view.period}:{target.channel}",
                kind="digest",
                period=view.period,
                target_kind="channel",
                target=target.channel,
                text=message.text,
                blocks=message.blocks,
            )
        )
        extra = overflow_context(model, digest)
        if extra:
            thread = render_message("digest_thread", **extra)
            out.append(
                OutboxMessage(
                    key=f"digest-thread:{view.period}:{target.channel}",
                    kind="digest_thread",
                    period=view.period,
                    target_kind="channel",
                    target=target.channel,
                    text=thread.text,
                    blocks=thread.blocks,
                )
            )
    return out


def run_weekly_reporting(
    engine: Engine, model: Model, model_dir: Path, as_of: date, transport: Any, sync: bool = True
) -> WeeklyResult:
    """`run_weekly`, and when it fails one short message to `admin_channel` before re-raising."""
    try:
        return run_weekly(engine, model, model_dir, as_of, transport, sync=sync)
    except Exception as exc:
        report_failure(engine, model, period_of(as_of), exc, transport)
        raise


def report_failure(
    engine: Engine, model: Model, period: str, exc: BaseException, transport: Any
) -> None:
    if not model.admin_channel:
        return
    error = f"{type(exc).__name__}: {exc}"
    text = render_text("admin_failure", period=period, error=error[:500])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    message = OutboxMessage(
        key=f"admin:{period}:{stamp}",
        kind="admin",
        period=period,
        target_kind="channel",
        target=model.admin_channel,
        text=text,
        blocks=None,
    )
    try:
        enqueue(engine, [message])
        deliver_pending(engine, transport, fallback_channel=None)
    except Exception:  # noqa: BLE001  (the database may be what failed)
        log.exception("could not report the failed run to %s", model.admin_channel)
