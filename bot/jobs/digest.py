"""The weekly digest job: enqueue and deliver each `digest:` target's digest for a period (as
bot/messages/digest_render.py renders it), then share its chart into the digest's thread.

Three steps, so the weekly pipeline delivers alerts and digests in one pass: enqueue_digests
(the digest and its overflow reply, threaded under it), a delivery pass, share_charts;
post_digests does all three for `healthbot digest`. Messages go through the outbox like every
other message (a rerun for the same period sends nothing new; `force` posts again under new
keys). The chart is recorded in the outbox too, as a row of kind CHART_KIND enqueued once its
digest is sent (the upload needs the digest's channel id and ts) and claimed at once: it is
shared once, and a rerun retries it only when the last attempt certainly shared nothing. A
failed upload never holds back the digest: the digest posts without the picture, and the
reason is returned in DigestResult (the caller writes `details()` into the run) and stored on
the chart's row.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from bot.delivery.outbox_pass import CHART_KIND, DeliveryReport, deliver_pending
from bot.delivery.transport_types import FileUpload, InDoubt, NotSent, Rejected, Transport
from bot.messages.digest_render import RenderedDigest, render_digests
from scoring.batch.digest_inputs import load_digest_inputs
from scoring.batch.views import PeriodView
from scoring.config import Model
from scoring.config.sections import DigestTarget
from scoring.store.outbox import OutboxMessage, enqueue, get_row, is_paused
from scoring.store.outbox_moves import claim, transition
from scoring.store.tables import utcnow

log = logging.getLogger("healthbot.digest")


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
    messages: int = 0  # rendered (digests and overflow replies), new or already enqueued
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
) -> DigestResult:
    """Post each target's digest of `view`'s period (overflow in its thread) and share its
    chart there."""
    result = enqueue_digests(engine, model, view, as_of=as_of, run_id=run_id, force=force)
    result.delivery = deliver_pending(
        engine,
        transport,
        redirect=model.delivery.redirect,
        fallback_channel=model.alerts.fallback_channel,
    )
    return share_charts(engine, transport, result)


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
        rows += _outbox_rows(item, key, view.period, run_id)
    enqueue(engine, rows)
    result.messages = len(rows)
    return result


def share_charts(engine: Engine, transport: Transport, result: DigestResult) -> DigestResult:
    """After a delivery pass: share each sent digest's chart into its thread (see the module
    docstring); the outcome of each lands on `result.posts`."""
    for item, post in zip(result.rendered, result.posts, strict=True):
        _share_chart(engine, transport, item, post, result.run_id)
    for failure in result.chart_failures:
        log.warning("digest chart not shared: %s", failure)
    return result


def digest_key(period: str, target: DigestTarget, suffix: str | None = None) -> str:
    """`digest:<period>:<channel>[:<where>][:<suffix>]`: one digest per target and week."""
    scope = ",".join(f"{k}={v}" for k, v in sorted(target.where.items()))
    return ":".join(["digest", period, target.channel, *filter(None, [scope, suffix])])


def _outbox_rows(
    item: RenderedDigest, key: str, period: str, run_id: int | None
) -> list[OutboxMessage]:
    """The digest and, when a list overflows, its reply in the digest's thread."""
    parts = [("digest", key, item.message, None)]
    if item.thread is not None:
        thread_key = "digest-thread:" + key.removeprefix("digest:")
        parts.append(("digest_thread", thread_key, item.thread, key))
    return [
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


def _share_chart(
    engine: Engine,
    transport: Transport,
    item: RenderedDigest,
    post: DigestPost,
    run_id: int | None,
) -> None:
    """Upload the chart into the sent digest's thread, once; record the outcome on `post`."""
    parent = get_row(engine, post.key)
    if parent is None:  # enqueued above; only a concurrent `forget` could remove it
        post.status, post.chart_error = "missing", "the digest is not in the outbox"
        return
    post.status, post.error = parent["status"], parent["error"]
    post.channel_id, post.ts = parent["channel_id"], parent["ts"]
    if parent["status"] != "sent":
        post.chart_error = f"the digest is {parent['status']}, so there is no thread to share into"
        return
    record = OutboxMessage(
        "digest-chart:" + post.key.removeprefix("digest:"),
        CHART_KIND,
        "channel",
        item.target.channel,
        item.labels["title"],
        period=item.digest.period,
        run_id=run_id,
        thread_key=post.key,
    )
    enqueue(engine, [record])  # a no-op when an earlier run recorded it
    row = get_row(engine, record.key)
    if row is None:
        post.chart, post.chart_error = "missing", "the chart is not in the outbox"
        return
    if row["status"] == "sent":
        post.chart = "already uploaded"
        return
    if row["status"] != "pending":  # failed or unknown in an earlier run: never retried
        post.chart, post.chart_error = row["status"], row["error"] or row["status"]
        return
    retry = f"`healthbot digest --period {item.digest.period}` tries again"
    if not claim(engine, row, parent["channel_id"]):
        if is_paused(engine):
            post.chart, post.chart_error = "pending", f"delivery is paused; {retry}"
        else:  # a concurrent run of the same digest claimed it first: not a failure
            post.chart = "uploading elsewhere"
        return
    upload = FileUpload(
        key=row["key"],
        channel=parent["channel_id"],
        filename=f"healthbot-digest-{item.digest.period}.png",
        data=item.chart,
        title=item.labels["title"],
        alt_text=item.labels["alt_text"],
        thread_ts=parent["ts"],
    )
    try:
        done = transport.upload_file(upload)
    except Rejected as exc:  # Slack said no: retrying would fail the same way
        post.chart, post.chart_error = "failed", exc.reason
        transition(engine, row, "failed", error=exc.reason)
    except NotSent as exc:  # nothing was shared: the next run tries again
        post.chart, post.chart_error = "pending", f"{exc.reason}; {retry}"
        transition(engine, row, "pending", error=exc.reason)
    except InDoubt as exc:  # may be shared: never again automatically
        post.chart, post.chart_error = "unknown", f"in doubt: {exc.reason}"
        transition(engine, row, "unknown", error=post.chart_error)
    except BaseException:
        transition(engine, row, "sending", error="in doubt: upload interrupted")
        raise
    else:
        post.chart = "uploaded"
        transition(engine, row, "sent", channel_id=done.channel_id)
