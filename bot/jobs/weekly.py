"""The weekly job: sync → score → compare → decide alerts → render → outbox → deliver → digest.

Every message leaves through the outbox (bot/delivery/outbox_pass.py), so a rerun for the same
period sends only what was not delivered before. The run is recorded in the run ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import deliver_pending
from bot.jobs.digest import enqueue_digests, share_charts
from bot.messages.render import render_message, render_text
from scoring.batch.jobs import load_model_signals, score_and_store
from scoring.batch.views import PeriodView, latest_signal_dates, load_period
from scoring.config import Model
from scoring.decisions.overrides import expired_overrides
from scoring.decisions.weekly import decide_week
from scoring.periods import period_of
from scoring.store import finish_run, load_accounts, start_run
from scoring.store.alert_log import alert_history, record_alerts
from scoring.store.clicks import snoozes
from scoring.store.csm_inputs import load_csm_inputs
from scoring.store.outbox import OutboxMessage, enqueue

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
    digest: Any = None  # bot.jobs.digest.DigestResult: each digest's and chart's outcome


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
        signals = load_model_signals(engine, model, as_of, as_of, for_alerts=True)
        scored = score_and_store(engine, model, [as_of], signals)[0]
        result.accounts_scored = len(scored.scores.accounts)
        view = load_period(engine, period)  # once: alerts, notices and digests all read it
        accounts = load_accounts(engine)
        messages = weekly_messages(engine, model, view, accounts, as_of, result, run_id, signals)
        messages += expiry_notices(engine, view, as_of, run_id)
        enqueue(engine, messages)
        result.digest = enqueue_digests(
            engine, model, view, as_of=as_of, run_id=run_id, accounts=accounts
        )
        result.digest_text = result.digest.text
        result.messages = len(messages) + result.digest.messages
        result.delivery = deliver_pending(
            engine,
            transport,
            redirect=model.delivery.redirect,
            fallback_channel=model.alerts.fallback_channel,
        )
        share_charts(engine, transport, result.digest)
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
        details=_delivery_details(result.delivery) | result.digest.details(),
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
    engine: Engine,
    model: Model,
    view: PeriodView,
    accounts: pd.DataFrame,
    as_of: date,
    result: WeeklyResult,
    run_id: int | None = None,
    signals: pd.DataFrame | None = None,
) -> list[OutboxMessage]:
    """Alert DMs (one per owner) for `view`'s period, rendered and keyed for the outbox
    (digests: bot/jobs/digest.py).

    `signals` is what the scoring pass already read (with the alert rules' longer windows);
    it is read again only when the caller has none.
    """
    if signals is None:
        signals = load_model_signals(engine, model, as_of, as_of, for_alerts=True)
    last = latest_signal_dates(engine, signals, accounts["account_id"])
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


def expiry_notices(
    engine: Engine, view: PeriodView, as_of: date, run_id: int | None = None
) -> list[OutboxMessage]:
    """Tell owners whose override ran out since last week that the computed score is back."""
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
        context = {
            "name": info["name"],
            "until": str(row["valid_until"])[:10],
            "score": info["score_shown"],
            "band": str(info["band"]).replace("_", " "),
            "by": row["user_email"] or row["user_id"] or "someone",
            "reason": row["reason"],
        }
        message = render_message("override_expired", **context)
        out.append(
            OutboxMessage(
                key=f"override-expired:{row['id']}",
                kind="notice",
                period=view.period,
                run_id=run_id,
                target_kind="email",
                target=info["owner_email"],
                text=message.text,
                blocks=message.blocks,
            )
        )
    return out
