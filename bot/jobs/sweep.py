"""The delivery sweep: what the worker does every `delivery.sweep_minutes` so that nothing
waits for next week.

One sweep (under the `sweep` lease, so one worker at a time) marks runs whose worker died as
`abandoned`, stops messages still undelivered after `delivery.give_up_hours`, runs a delivery
pass (sends what is pending, reads back posts in doubt, updates revised DMs), reports the
messages that stopped (once), and turns `delivering` runs whose messages are all out into
`succeeded`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import DeliveryReport, deliver_pending
from bot.delivery.transport_types import Transport
from bot.jobs.control import RunControl
from bot.jobs.notices import report_to_admins
from bot.jobs.weekly import pass_options
from bot.messages.render import render_text
from scoring.config import Model
from scoring.store.leases import live_holders, release_lease, take_lease
from scoring.store.outbox_moves import claim_unreported, give_up_old
from scoring.store.runs import dead_runs, delivering_runs, open_rows, set_status
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.sweep")
SWEEP_LEASE = "sweep"


@dataclass
class SweepReport:
    delivery: DeliveryReport | None = None
    abandoned: list[int] = field(default_factory=list)
    given_up: int = 0
    reported: int = 0
    completed: list[int] = field(default_factory=list)  # delivering → succeeded
    skipped: bool = False  # another worker is sweeping


def sweep(engine: Engine, model: Model, transport: Transport, control: RunControl) -> SweepReport:
    """One sweep (see the module docstring)."""
    stale = timedelta(seconds=model.schedule.stale_after_seconds)
    report = SweepReport()
    if not take_lease(engine, SWEEP_LEASE, control.holder, stale).won:
        report.skipped = True
        return report
    control.leases.add(SWEEP_LEASE)
    try:
        report.abandoned = reap_dead_runs(engine, model, stale, transport, control)
        if control.should_stop():
            return report
        after = timedelta(hours=model.delivery.give_up_hours)  # before sending: too late is late
        report.given_up = len(give_up_old(engine, utcnow(), after))
        report.delivery = deliver_pending(engine, transport, pass_options(model, control))
        report.reported = report_stopped(engine, model, transport, control)
        report.completed = complete_delivered_runs(engine)
    finally:
        control.leases.discard(SWEEP_LEASE)
        release_lease(engine, SWEEP_LEASE, control.holder)
    if report.abandoned or report.given_up or report.completed or report.reported:
        log.info("sweep: %s", report)
    return report


def reap_dead_runs(
    engine: Engine,
    model: Model,
    stale: timedelta,
    transport: Transport | None,
    control: RunControl,
) -> list[int]:
    """Mark `abandoned` every running weekly run whose worker has no live lease, and report
    each once (the compare-and-set decides who reports)."""
    now = utcnow()
    marked = []
    for run in dead_runs(engine, live_holders(engine, stale), now - stale):
        if not set_status(engine, run["id"], "abandoned", was=("running",)):
            continue
        marked.append(run["id"])
        text = render_text(
            "admin_run_state",
            status="abandoned",
            period=run["period"],
            run_id=run["id"],
            holder=run["holder"] or "(unknown)",
        )
        key = f"admin:{run['period']}:abandoned:{run['id']}"
        report_to_admins(engine, model, key, text, None, None, control)
    return marked


def report_stopped(engine: Engine, model: Model, transport: Transport, control: RunControl) -> int:
    """Report the messages that stopped (failed or unknown) since the last report, once."""
    rows = [r for r in claim_unreported(engine) if r["kind"] != "admin"]
    if rows:
        text = render_text("admin_undelivered", rows=rows)
        key = f"admin:undelivered:{rows[0]['id']}-{rows[-1]['id']}:{len(rows)}"
        report_to_admins(engine, model, key, text, transport, None, control)
    return len(rows)


def complete_delivered_runs(engine: Engine) -> list[int]:
    """`delivering` runs whose period has nothing left to deliver are `succeeded`."""
    done = []
    for run in delivering_runs(engine):
        if open_rows(engine, run["period"], run["transport"] or "slack"):
            continue
        if set_status(engine, run["id"], "succeeded", was=("delivering",)):
            done.append(run["id"])
            log.info("run %s (%s): every message delivered", run["id"], run["period"])
    return done
