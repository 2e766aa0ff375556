"""The weekly job: sync → score → compare → decide alerts → render → outbox → deliver.

Every message leaves through the outbox (bot/delivery/outbox_pass.py), one DM per owner and
period (bot/jobs/owner_dms.py) and one digest per target, so a rerun for the same period sends
only what was not delivered before and updates a DM whose alerts changed. The run keeps
delivering for up to `delivery.in_run_seconds` (backing off, honouring Retry-After), then
leaves what is left to the worker's sweep (bot/jobs/sweep.py). Its status in the run ledger
tells the truth: succeeded, delivering, failed, blocked or interrupted (scoring/store/runs.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import DeliveryReport, PassOptions, deliver_pending
from bot.delivery.transport_types import Transport
from bot.jobs.control import Interrupted, RunControl
from bot.jobs.digest import collect_outcomes, enqueue_digests
from bot.jobs.notices import expiry_notices, report_failure
from bot.jobs.owner_dms import owner_dms
from scoring.batch.jobs import load_model_signals, placement_of, score_and_store
from scoring.batch.model_checks import check_model_data
from scoring.batch.views import PeriodView, latest_signal_dates, load_period, recent_scores
from scoring.config import Model
from scoring.decisions.band_hysteresis import runs_needed
from scoring.decisions.placed_history import InPlaceSignals
from scoring.decisions.weekly import decide_week
from scoring.errors import Blocked
from scoring.periods import period_of
from scoring.pushdown.in_place import Placement
from scoring.store import finish_run, load_accounts, start_run
from scoring.store.alert_log import record_alerts
from scoring.store.alert_shown import shown_alert_history
from scoring.store.clicks import snoozes
from scoring.store.freshness import stale_freshness
from scoring.store.outbox import OutboxMessage, enqueue
from scoring.store.runs import open_rows

log = logging.getLogger("healthbot.pipeline")


@dataclass
class WeeklyResult:
    period: str
    as_of: date
    run_id: int | None = None
    status: str = "running"
    accounts_scored: int = 0
    alerts: int = 0  # health alerts (HEALTH_RULES); renewal and data notices are counted apart
    notices: int = 0
    suppressed: int = 0
    messages: int = 0
    delivery: DeliveryReport | None = None
    waiting: list[dict[str, Any]] = field(default_factory=list)  # open rows when it ended
    texts: list[str] = field(default_factory=list)
    digest_text: str = ""
    digest: Any = None  # bot.jobs.digest.DigestResult: each digest's and chart's outcome
    # in-place sources: the sync run that validated each, and what changed since (warnings)
    in_place: dict[str, Any] = field(default_factory=dict)


def pass_options(model: Model, control: RunControl | None = None) -> PassOptions:
    """The delivery pass settings of the model file, for this worker."""
    control = control or RunControl()
    return PassOptions(
        redirect=model.delivery.redirect,
        fallback_channel=model.alerts.fallback_channel,
        holder=control.holder,
        grace=timedelta(seconds=model.delivery.read_back_grace_seconds),
        stale=timedelta(seconds=model.schedule.stale_after_seconds),
        should_stop=control.should_stop,
    )


def run_weekly(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    transport: Transport,
    sync: bool = True,
    today: date | None = None,
    control: RunControl | None = None,
    attempt: int = 1,
) -> WeeklyResult:
    """One full weekly run for the period of `as_of`; raises on failure after recording it."""
    control = control or RunControl()
    period = period_of(as_of)
    run_id = start_run(
        engine, "weekly", period, transport=transport.via, holder=control.holder, attempt=attempt
    )
    result = WeeklyResult(period, as_of, run_id=run_id)
    try:
        _prepare(engine, model, model_dir, as_of, sync, today, control, result)
        result.delivery = deliver_in_run(engine, transport, model, control, period)
        if open_rows(engine, period, transport.via):
            control.checkpoint()  # stopped with messages still out: interrupted, rerun next
        result.digest = collect_outcomes(engine, result.digest)
        result.digest_text = result.digest.text
    except BaseException as exc:
        status = _failure_status(exc)
        result.status = status
        error = f"{type(exc).__name__}: {exc}"[:2000]
        finish_run(engine, run_id, status, **_counts(result), error=error)
        raise
    result.waiting = open_rows(engine, period, transport.via)
    result.status = "delivering" if result.waiting else "succeeded"
    details = _delivery_details(result.delivery) | result.digest.details() | result.in_place
    finish_run(engine, run_id, result.status, **_counts(result), details=details)
    return result


def _failure_status(exc: BaseException) -> str:
    if isinstance(exc, Interrupted | KeyboardInterrupt | SystemExit):
        return "interrupted"
    return "blocked" if isinstance(exc, Blocked) else "failed"


def _counts(result: WeeklyResult) -> dict[str, int]:
    return {"accounts_scored": result.accounts_scored, "alerts": result.alerts}


def _prepare(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    sync: bool,
    today: date | None,
    control: RunControl,
    result: WeeklyResult,
) -> None:
    """Everything up to the outbox: sync, score, decide, render and enqueue.

    The model is checked against the data after the sync (which checks it against what it is
    about to commit), so a model that no longer fits the data fails the run (ConfigError)
    instead of scoring without a segment's rules or a metric's weight."""
    if sync and model.sources:
        from scoring.sync import run_sync

        run_sync(engine, model, model_dir, today or as_of + timedelta(days=1))
    from scoring.store.in_place import in_place_record

    check_model_data(engine, model, "model file")
    result.in_place = in_place_record(engine, model)  # it reads those tables as they are now
    control.checkpoint()
    placement = placement_of(model)  # signals of in-place sources: asked, never read as rows
    signals = load_model_signals(
        engine, model, as_of, as_of, for_alerts=True, skip=placement.signals
    )
    scored = score_and_store(engine, model, [as_of], signals, placement=placement, for_alerts=True)[
        0
    ]
    result.accounts_scored = len(scored.scores.accounts)
    control.checkpoint()
    view = load_period(engine, result.period)  # once: alerts, notices and digests read it
    accounts = load_accounts(engine)
    messages = weekly_messages(
        engine, model, view, accounts, as_of, result, result.run_id, signals, placement
    )
    enqueue(engine, messages)
    result.digest = enqueue_digests(
        engine, model, view, as_of=as_of, run_id=result.run_id, accounts=accounts
    )
    result.messages = len(messages) + result.digest.messages
    control.checkpoint()


def deliver_in_run(
    engine: Engine, transport: Transport, model: Model, control: RunControl, period: str
) -> DeliveryReport:
    """Delivery passes until the period's messages are out or `in_run_seconds` are spent:
    between passes it waits for the earliest next attempt (Retry-After, the read-back grace)
    or backs off (1, 2, 4 ... s) while Slack is unreachable."""
    options = pass_options(model, control)
    deadline = time.monotonic() + model.delivery.in_run_seconds
    backoff = 1.0
    while True:
        report = deliver_pending(engine, transport, options)
        waiting = open_rows(engine, period, transport.via)
        if not waiting or report.paused or control.should_stop():
            return report
        wait = _next_wait(waiting, backoff, options.grace.total_seconds())
        backoff = min(backoff * 2, 30.0) if report.stopped else 1.0
        if time.monotonic() + wait > deadline or control.sleep(wait):
            return report


def _next_wait(waiting: list[dict[str, Any]], backoff: float, grace: float) -> float:
    """Seconds until the first waiting row may be tried again (at least a short backoff)."""
    from scoring.store.tables import utcnow

    now = utcnow()
    due = []
    for row in waiting:
        at = row["next_attempt_at"]
        if at is None and row["status"] == "sending":  # a post in flight elsewhere
            at = row["updated_at"] + timedelta(seconds=grace)
        due.append(0.0 if at is None else (at - now).total_seconds())
    return max(min(due, default=0.0), backoff)


def _delivery_details(report: DeliveryReport | None) -> dict[str, Any]:
    if report is None:
        return {}
    names = ("sent", "updated", "failed", "unknown", "pending", "in_doubt")
    return {k: getattr(report, k) for k in names}


def weekly_messages(
    engine: Engine,
    model: Model,
    view: PeriodView,
    accounts: pd.DataFrame,
    as_of: date,
    result: WeeklyResult,
    run_id: int | None = None,
    signals: pd.DataFrame | None = None,
    placement: Placement | None = None,
) -> list[OutboxMessage]:
    """One DM per owner for `view`'s period (alerts and notices), rendered and keyed for the
    outbox (digests: bot/jobs/digest.py).

    The cooldown compares against alerts that were shown (scoring/store/alert_shown.py), so an
    alert whose DM never arrived, or that sat in "and N more", is considered again. `signals`
    is what the scoring pass already read; it is read again only when the caller has none.
    Signals of in-place sources (`placement`) are never rows here: their latest dates, weekly
    windows and champion value are aggregates their backend computes.
    """
    placement = placement_of(model) if placement is None else placement
    if signals is None:
        signals = load_model_signals(
            engine, model, as_of, as_of, for_alerts=True, skip=placement.signals
        )
    in_place = None
    if placement:
        in_place = InPlaceSignals(
            placement.signals, placement.aggregate_source(), placement.first_day()
        )
    latest = placement.latest_dates(as_of) if placement else None
    last = latest_signal_dates(engine, signals, accounts["account_id"], latest)
    history = shown_alert_history(engine, before=as_of)
    recent = recent_scores(engine, view.period, runs_needed(model), first=2)  # 1: the view
    decision = decide_week(
        model,
        as_of,
        view,
        accounts,
        signals,
        last,
        history,
        snoozes(engine),
        recent=recent,
        lost_scores=True,
        in_place=in_place,
        freshness=stale_freshness(engine, view.period),
    )
    result.alerts = len(decision.health_alerts)
    result.notices = len(decision.alerts) - result.alerts
    result.suppressed = len(decision.suppressed)
    record_alerts(engine, decision.alerts, view.period, as_of, run_id, decision.keys_by_account)
    names = dict(zip(view.scores["account_id"].astype(str), view.scores["name"], strict=True))
    notices = expiry_notices(engine, view, as_of)
    dms = owner_dms(engine, view.period, decision.batches, notices, names, run_id)
    result.texts.extend(m.text for m in dms)
    return dms


def run_weekly_reporting(
    engine: Engine,
    model: Model,
    model_dir: Path,
    as_of: date,
    transport: Transport,
    sync: bool = True,
    control: RunControl | None = None,
    attempt: int = 1,
) -> WeeklyResult:
    """`run_weekly`, and when it fails one short message to `admin_channel` before re-raising
    (a run by hand: a person is waiting for the answer, so it is reported at once)."""
    try:
        return run_weekly(
            engine, model, model_dir, as_of, transport, sync=sync, control=control, attempt=attempt
        )
    except Interrupted:
        raise
    except Exception as exc:
        report_failure(engine, model, period_of(as_of), exc, transport, control)
        raise
