"""Each `digest:` target's digest for a period, rendered and ready to post or preview.

Kept apart from posting (bot/jobs/digest.py) because `healthbot digest --preview` needs the very
digest the weekly job posts, with no outbox row and no Slack call behind it. Pure: the caller
reads the period once (scoring.batch.digest_inputs) and hands it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from bot.messages.chart import chart_labels, render_chart
from bot.messages.digest_context import digest_context, overflow_contexts, section_csv
from bot.messages.render import Message, render_message
from scoring.batch.digest_inputs import DigestInputs
from scoring.config import Model
from scoring.config.sections import DigestTarget
from scoring.decisions.card import band_thresholds, segments_with_own_bands
from scoring.decisions.digest import Digest, build_digest, filter_where
from scoring.decisions.digest_trend import weekly_trend


@dataclass(frozen=True)
class RenderedDigest:
    """One target's digest, ready to post or preview. The chart is drawn when first asked
    for: a rerun whose chart is already shared never draws it."""

    target: DigestTarget
    digest: Digest
    message: Message
    threads: list[tuple[str, Message]]  # (list key, its reply in the thread), in list order
    labels: dict[str, Any]
    model: Model = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)
    files: dict[str, str] = field(default_factory=dict)  # list key -> its CSV's file name

    @property
    def thread(self) -> Message | None:
        """The first reply in the digest's thread (None: no list was cut short)."""
        return self.threads[0][1] if self.threads else None

    @cached_property
    def chart(self) -> bytes:
        return render_chart(self.model, self.scores, self.trend, self.labels)

    def csv(self, key: str) -> bytes:
        """The whole list `key` as CSV, for a list longer than its thread reply shows."""
        return section_csv(self.digest, key)


def render_digests(model: Model, inputs: DigestInputs) -> list[RenderedDigest]:
    """Every target's digest for the period of `inputs`; with no `digest:` targets, one
    portfolio-wide digest (what `--preview` shows before any channel is set)."""
    view, accounts = inputs.view, inputs.accounts
    arr = accounts.set_index("account_id")["arr"]
    history = inputs.trend_snapshots
    out = []
    for target in model.digest or [DigestTarget(channel="preview")]:
        digest = build_digest(
            model, view, inputs.as_of, target.where, target.renewal_days, inputs.stale
        )
        context = digest_context(model, digest, quiet_line=target.quiet_line, where=target.where)
        extra = overflow_contexts(model, digest)
        scope_scores = filter_where(view.scores, target.where)
        sections = [c["sections"][0] for c in extra]
        scope = _scope(view.scores, accounts, target.where)
        snapshots = history if scope is None else history[history["account_id"].isin(scope)]
        trend = weekly_trend(snapshots, arr, inputs.trend_periods)
        out.append(
            RenderedDigest(
                target,
                digest,
                render_message("digest", **context),
                [(c["sections"][0]["key"], render_message("digest_thread", **c)) for c in extra],
                chart_labels(context, trend, target.where, _thresholds(model, scope_scores)),
                model,
                scope_scores[["score_shown", "band"]],
                trend,
                {s["key"]: s["csv"] for s in sections if s["csv"]},
            )
        )
    return out


def _thresholds(model: Model, scores: pd.DataFrame) -> dict[str, Any]:
    """The chart's dotted lines (the top level's bands) and the segments in the picture whose
    bands differ from them."""
    rules = scores["segment_rule"] if "segment_rule" in scores else []
    return {
        "default": band_thresholds(model, None),
        "segments": segments_with_own_bands(model, pd.unique(pd.Series(rules, dtype=object))),
    }


def _scope(scores: pd.DataFrame, accounts: pd.DataFrame, where: dict[str, Any]) -> set[str] | None:
    """Account ids a target's trend covers (None: all): this week's accounts in scope, plus
    accounts that match by their own attributes, so one that churned still counts in the
    weeks it was scored."""
    if not where:
        return None
    ids = set(filter_where(scores, where)["account_id"])
    if all(key in accounts for key in where):
        ids |= set(filter_where(accounts, where)["account_id"])
    return ids
