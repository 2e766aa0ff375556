"""Each `digest:` target's digest for a period, rendered and ready to post or preview.

Kept apart from posting (bot/jobs/digest.py) because `healthbot digest --preview` needs the very
digest the weekly job posts, with no outbox row and no Slack call behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from bot.messages.chart import chart_labels, render_chart
from bot.messages.digest_context import digest_context, overflow_context
from bot.messages.render import Message, render_message
from scoring.batch.views import PeriodView, last_signal_dates, load_period
from scoring.config import Model
from scoring.config.sections import DigestTarget
from scoring.decisions.digest import Digest, build_digest, filter_where
from scoring.decisions.digest_trend import trend_periods, weekly_trend
from scoring.decisions.weekly import stale_days
from scoring.store import load_accounts
from scoring.store.bulk import Kind
from scoring.store.snapshots import snapshot_rows

TREND_TYPES: dict[str, Kind] = {
    "period": "str",
    "account_id": "str",
    "score_shown": "float",
    "band_rank": "int",
}


@dataclass(frozen=True)
class RenderedDigest:
    """One target's digest, ready to post or preview. The chart is drawn when first asked
    for: a rerun whose chart is already shared never draws it."""

    target: DigestTarget
    digest: Digest
    message: Message
    thread: Message | None
    labels: dict[str, Any]
    model: Model = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)

    @cached_property
    def chart(self) -> bytes:
        return render_chart(self.model, self.scores, self.trend, self.labels)


def render_digests(
    engine: Engine, model: Model, period: str | None = None, as_of: date | None = None
) -> tuple[PeriodView, list[RenderedDigest]]:
    """Every target's digest for `period` (default: the latest stored); with no `digest:`
    targets, one portfolio-wide digest (what `--preview` shows before any channel is set)."""
    view = load_period(engine, period)
    as_of = as_of or pd.Timestamp(view.scores["as_of"].max()).date()
    stale = stale_days(last_signal_dates(engine), as_of, model.alerts.stale_days)
    periods = trend_periods(view.period)
    history = _trend_snapshots(engine, periods)
    accounts = load_accounts(engine)
    arr = accounts.set_index("account_id")["arr"]
    out = []
    for target in model.digest or [DigestTarget(channel="preview")]:
        digest = build_digest(model, view, as_of, target.where, target.renewal_days, stale)
        context = digest_context(model, digest, quiet_line=target.quiet_line, where=target.where)
        extra = overflow_context(model, digest)
        scope = _scope(view, accounts, target.where)
        snapshots = history if scope is None else history[history["account_id"].isin(scope)]
        trend = weekly_trend(snapshots, arr, periods)
        out.append(
            RenderedDigest(
                target,
                digest,
                render_message("digest", **context),
                render_message("digest_thread", **extra) if extra else None,
                chart_labels(context, trend, target.where),
                model,
                filter_where(view.scores, target.where)[["score_shown", "band"]],
                trend,
            )
        )
    return view, out


def _scope(view: PeriodView, accounts: pd.DataFrame, where: dict[str, Any]) -> set[str] | None:
    """Account ids a target's trend covers (None: all): this week's accounts in scope, plus
    accounts that match by their own attributes, so one that churned still counts in the
    weeks it was scored."""
    if not where:
        return None
    ids = set(filter_where(view.scores, where)["account_id"])
    if all(key in accounts for key in where):
        ids |= set(filter_where(accounts, where)["account_id"])
    return ids


def _trend_snapshots(engine: Engine, periods: list[str]) -> pd.DataFrame:
    """Only the four snapshot columns the trend needs: twelve weeks of 100,000 accounts stay
    a small read (load_snapshots would bring every metric row along)."""
    with engine.connect() as conn:
        return snapshot_rows(conn, "score_snapshots", TREND_TYPES, periods)
