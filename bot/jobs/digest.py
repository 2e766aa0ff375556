"""The weekly digest job: enqueue each `digest:` target's digest for a period (as
bot/messages/digest_render.py renders it), with its overflow reply threaded under it and its
chart as a file row shared into that thread.

Everything goes through the outbox, so a rerun for the same period sends nothing new (`force`
posts again under new keys) and a digest that could not be posted now is delivered by the
sweep later, chart included: the chart's bytes are stored on its row. A digest is queued once
per period with its thread and chart: a rerun after a data fix adds nothing to it (an overflow
reply that the first digest did not need would contradict it); `healthbot digest --force`
posts a corrected one. The chart is shared at
most once: a share in doubt is `unknown` and reported, never repeated. A failed upload never
holds back the digest: the digest posts without the picture, and the reason is returned in
DigestResult (the caller writes `details()` into the run).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import CHART_KIND, DeliveryReport, PassOptions, deliver_pending
from bot.delivery.transport_types import Transport
from bot.messages.digest_render import RenderedDigest, render_digests
from scoring.batch.digest_inputs import load_digest_inputs
from scoring.batch.views import PeriodView
from scoring.config import Model
from scoring.config.sections import DigestTarget
from scoring.store.outbox import OutboxMessage, enqueue, get_row, get_rows, is_paused
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.digest")
CSV_KIND = "digest_csv"  # a whole digest list as a CSV file in the digest's thread


@dataclass
class DigestPost:
    """What happened to one target's digest and chart in this run."""

    channel: str
    key: str
    status: str = "pending"  # the digest's outbox status after this run
    already_sent: bool = False  # sent by an earlier run (post again with force)
    channel_id: str | None = None
    ts: str | None = None
    error: str | None = None
    chart: str = "waiting"  # uploaded, already uploaded, pending, failed, unknown, waiting
    chart_error: str | None = None


@dataclass
class DigestResult:
    period: str
    posts: list[DigestPost] = field(default_factory=list)
    messages: int = 0  # digests, overflow replies and charts: new or queued by an earlier run
    delivery: DeliveryReport | None = None
    text: str = ""  # the first digest's text, for terminals and logs
    run_id: int | None = None
    rendered: list[RenderedDigest] = field(default_factory=list, repr=False)

    @property
    def chart_failures(self) -> list[str]:
        """Why charts did not reach Slack in this run ("#channel: reason")."""
        return [f"{p.channel}: {p.chart_error}" for p in self.posts if p.chart_error]

    def details(self) -> dict[str, Any]:
        """For the run ledger: per digest its key, status and the chart's outcome; chart
        failures also as `notes`, which `healthbot runs` shows."""
        out: dict[str, Any] = {"digests": [asdict(p) for p in self.posts]}
        if self.chart_failures:
            out["notes"] = "chart not shared: " + "; ".join(self.chart_failures)
        return out


def post_digests(
    engine: Engine,
    model: Model,
    transport: Transport,
    view: PeriodView,
    *,
    as_of: date | None = None,
    run_id: int | None = None,
    force: bool = False,
    options: PassOptions | None = None,
) -> DigestResult:
    """Post each target's digest of `view`'s period (overflow and chart in its thread)."""
    result = enqueue_digests(engine, model, view, as_of=as_of, run_id=run_id, force=force)
    result.delivery = deliver_pending(
        engine,
        transport,
        options
        or PassOptions(
            redirect=model.delivery.redirect, fallback_channel=model.alerts.fallback_channel
        ),
    )
    return collect_outcomes(engine, result)


def enqueue_digests(
    engine: Engine,
    model: Model,
    view: PeriodView,
    *,
    as_of: date | None = None,
    run_id: int | None = None,
    force: bool = False,
    accounts: pd.DataFrame | None = None,
) -> DigestResult:
    """Render every target's digest of `view`'s period and enqueue it with its overflow reply;
    nothing is sent. `force` uses new keys, so digests already sent for the period are posted
    again. `accounts`: the caller's account frame, when it has one (the weekly run does)."""
    if not model.digest:
        return DigestResult(view.period)
    inputs = load_digest_inputs(engine, model, view, as_of, accounts)
    rendered = render_digests(model, inputs)
    suffix = f"forced-{utcnow():%Y%m%dT%H%M%S%f}" if force else None
    text = rendered[0].message.text
    result = DigestResult(view.period, text=text, run_id=run_id, rendered=rendered)
    rows: list[OutboxMessage] = []
    for item in rendered:
        key = digest_key(view.period, item.target, suffix)
        before = get_row(engine, key)
        post = DigestPost(item.target.channel, key)
        post.already_sent = before is not None and before["status"] == "sent"
        result.posts.append(post)
        mine = _outbox_rows(item, key, view.period, run_id)
        result.messages += len(mine)
        if before is None:  # a digest is queued once per period, with its thread and chart
            rows += mine
    enqueue(engine, rows)
    return result


def collect_outcomes(engine: Engine, result: DigestResult) -> DigestResult:
    """After a delivery pass: each digest's and chart's outcome, read from their rows."""
    keys = [p.key for p in result.posts]
    rows = get_rows(engine, keys + [chart_key(k) for k in keys])
    paused = is_paused(engine)
    for post in result.posts:
        _outcome(post, rows.get(post.key), rows.get(chart_key(post.key)), paused)
    for failure in result.chart_failures:
        log.warning("digest chart not shared: %s", failure)
    return result


def chart_key(digest: str) -> str:
    return "digest-chart:" + digest.removeprefix("digest:")


def digest_key(period: str, target: DigestTarget, suffix: str | None = None) -> str:
    """`digest:<period>:<channel>[:<where>][:<suffix>]`: one digest per target and week."""
    scope = ",".join(f"{k}={v}" for k, v in sorted(target.where.items()))
    return ":".join(["digest", period, target.channel, *filter(None, [scope, suffix])])


def thread_keys(digest: str, section: str, first: bool) -> tuple[str, str]:
    """(reply key, CSV file key) of one list's overflow in a digest's thread; the first reply
    keeps the key it has always had, so a rerun finds it."""
    rest = digest.removeprefix("digest:")
    reply = "digest-thread:" + rest if first else f"digest-thread-{section}:{rest}"
    return reply, f"digest-csv-{section}:{rest}"


def _outbox_rows(
    item: RenderedDigest, key: str, period: str, run_id: int | None
) -> list[OutboxMessage]:
    """The digest, one reply in its thread per list it cut short (with the whole list as a CSV
    file when the reply cuts it too), and its chart. Files are rows like the chart's: shared
    once, a share in doubt is `unknown`, never repeated."""
    parts = [("digest", key, item.message, None)]
    files: list[OutboxMessage] = []
    for i, (section, thread) in enumerate(item.threads):
        reply_key, csv_key = thread_keys(key, section, i == 0)
        parts.append(("digest_thread", reply_key, thread, key))
        if section in item.files:
            files.append(
                OutboxMessage(
                    csv_key,
                    CSV_KIND,
                    "channel",
                    item.target.channel,
                    item.files[section],
                    period=period,
                    run_id=run_id,
                    thread_key=key,
                    file_data=item.csv(section),
                    file_name=item.files[section],
                    file_alt=None,
                )
            )
    chart = OutboxMessage(
        chart_key(key),
        CHART_KIND,
        "channel",
        item.target.channel,
        item.labels["title"],
        period=period,
        run_id=run_id,
        thread_key=key,
        file_data=item.chart,
        file_name=f"healthbot-digest-{period}.png",
        file_alt=item.labels["alt_text"],
    )
    return (
        [
            OutboxMessage(
                row_key,
                kind,
                "channel",
                item.target.channel,
                message.text,
                message.blocks,
                period=period,
                run_id=run_id,
                thread_key=parent,
            )
            for kind, row_key, message, parent in parts
        ]
        + files
        + [chart]
    )


def _outcome(
    post: DigestPost, parent: dict[str, Any] | None, chart: dict[str, Any] | None, paused: bool
) -> None:
    if parent is None:  # enqueued above; only a concurrent `forget` could remove it
        post.status, post.chart_error = "missing", "the digest is not in the outbox"
        return
    post.status, post.error = parent["status"], parent["error"]
    post.channel_id, post.ts = parent["channel_id"], parent["ts"]
    if chart is None:
        post.chart, post.chart_error = "missing", "the chart is not in the outbox"
        return
    status = chart["status"]
    if status in ("sent", "printed"):
        post.chart = "already uploaded" if post.already_sent else "uploaded"
    elif status in ("failed", "unknown"):
        post.chart, post.chart_error = status, chart["error"] or status
    elif parent["status"] not in ("sent", "printed"):
        post.chart = "waiting"
        post.chart_error = (
            f"the digest is {parent['status']}, so there is no thread to share into yet;"
            " the delivery sweep shares it once the digest is posted"
        )
    else:
        post.chart = "pending"
        why = "delivery is paused" if paused else (chart["error"] or "not tried yet")
        post.chart_error = f"{why}; the delivery sweep tries again"
