"""Replay the weekly decisions week by week, as the weekly run would have taken them.

Measuring alert quality on a copy of the rules would measure the copy. This module therefore
builds, for each past week, the same inputs the weekly run hands to
`scoring.decisions.weekly.decide_week` (the period's scores with last week's comparison and
account attributes, the drivers, the signals, the last signal dates, the alerts shown so far)
and keeps what it returns: every rule that fired (`fired`: what the rules say, before cooldown)
and what the owners would have read (`delivered`: after cooldown and the per-DM cap, the
accounts listed in each owner's DM, not those in "and N more"). What was delivered becomes
the cooldown history of the following weeks, exactly as `alert_shown` feeds the weekly run, so
a change to any rule, to the cooldown or to the cap is measured without touching this file.

Pure: frames in, frames out. `healthbot backtest` (delivered measures) and
`healthbot check --history` both drive it; the latter never writes what it replays.
Snoozes and overrides set by CSMs are not replayed: a replay answers "what would the rules
send", not "what did people do".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_schema import CHAMPION_SIGNAL
from scoring.decisions.band_hysteresis import recent_frame, runs_needed
from scoring.decisions.history import compare, drivers
from scoring.decisions.weekly import alert_history_rows, decide_week
from scoring.engine.score import Scores, score_accounts
from scoring.engine.signal_table import EPOCH
from scoring.frames import accounts_frame
from scoring.periods import period_of
from scoring.validation.in_place_history import PlacedPeriods, decision_signals, last_days
from scoring.validation.week_freshness import week_freshness
from scoring.validation.windows import SignalWindows, spans

ACCOUNT_INFO = ["account_id", "name", "owner_email", "segment", "arr", "renewal_date"]
WEEK_COLUMNS = ["as_of", "period", "account_id", "owner_email", "rule", "severity", "reason"]
NO_OWNER = "(no owner)"


def alert_spans(model: Model) -> dict[str, int]:
    """Look-back per signal for the weekly decisions when the caller has none: today's rule of
    the weekly run (`scoring.batch.jobs.signal_windows(model, for_alerts=True)`: each window
    plus the `history_weeks` a metric drop's usual value is taken from, and a week more for
    last week's champion flag). Callers above this layer pass that function's answer, so a
    rule that needs more history gets it here as in the weekly run."""
    rule = model.alerts.metric_drop
    out = spans(model, extra=7 * rule.history_weeks) if rule is not None else spans(model)
    if model.alerts.champion_left is not None:
        longest = max(m.window_days for m in model.metrics.values())
        out[CHAMPION_SIGNAL] = max(out.get(CHAMPION_SIGNAL, 0), longest + 7)
    return out


@dataclass
class WeekReplay:
    """One replayed week: who was scored, what fired, what would have been read."""

    as_of: date
    period: str
    scored: int
    fired: pd.DataFrame  # WEEK_COLUMNS: every rule that fired, before cooldown
    delivered: pd.DataFrame  # WEEK_COLUMNS: alerts of the accounts listed in a DM
    held_back: int  # alerts held by the cooldown
    overflow: int  # accounts alerted but left in "and N more"
    owners: pd.Series = field(repr=False)  # scored accounts per owner this week
    # `delivered` in the weekly run's alert columns (alert_schema.ALERT_COLUMNS), as
    # `record_alerts` stores them: what a history replayed into the store is made of
    shown_alerts: pd.DataFrame = field(repr=False)


@dataclass
class Replay:
    """Every replayed week, in order."""

    weeks: list[WeekReplay]

    def frame(self, which: str) -> pd.DataFrame:
        """All weeks' `fired` or `delivered` rows in one frame."""
        parts = [getattr(w, which) for w in self.weeks]
        return pd.concat(parts, ignore_index=True) if parts else _empty_week()


def _empty_week() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in WEEK_COLUMNS})


class Replayer:
    """Steps through weeks in order, carrying the shown-alert history forward.

    `history`: alerts shown before the first replayed week (HISTORY_COLUMNS), as the weekly
    run reads them from `alert_shown`; None starts with a clean slate. `lookback`: days of
    signals per signal name handed to the decisions (default `alert_spans`). Without
    `with_reasons` the drivers are left out: they only word the reasons and pick playbooks,
    never decide which alert fires or who reads it, and a 52-week backtest that counts
    alerts need not spend a third of its replay wording them. `placed`: signals read in
    place (`in_place_history.py`), asked of their backend week by week.
    """

    def __init__(
        self,
        model: Model,
        accounts: pd.DataFrame,
        windows: SignalWindows,
        history: pd.DataFrame | None = None,
        with_reasons: bool = True,
        lookback: dict[str, int] | None = None,
        placed: PlacedPeriods | None = None,
    ) -> None:
        self.model = model
        self.placed = placed
        self.with_reasons = with_reasons
        self.accounts = accounts_frame(accounts)
        self.windows = windows
        self.history = history
        self.span = lookback or alert_spans(model)
        info = self.accounts.reindex(columns=ACCOUNT_INFO)
        self.info = info.assign(account_id=info["account_id"].astype(str))
        # Last week's delta per account: this week's `previous_delta` (two drops in a row).
        self._last_delta = pd.Series(dtype=float)

    def step(
        self,
        as_of: date,
        current: Scores,
        previous: Scores | None,
        recent: pd.DataFrame | None = None,
    ) -> WeekReplay:
        """Decide one week with `decide_week` and remember what its DMs would have shown;
        `recent`: the scores of the runs before (`band_hysteresis.recent_frame`)."""
        period = period_of(as_of)
        scores, driver_frame = self._view_frames(current, previous)
        view = _View(period, scores, driver_frame)
        signals = self.windows.upto(as_of, self.span)
        last = self._last_signal(as_of)
        decision = decide_week(
            self.model,
            as_of,
            view,
            self.accounts,
            signals,
            last,
            self.history,
            recent=recent,
            in_place=decision_signals(self.placed),
            freshness=week_freshness(self.model, self.windows, as_of, self.span, self.placed),
        )
        owner = scores.set_index("account_id")["owner_email"].fillna("").astype(str)
        owner = owner.where(owner != "", NO_OWNER)
        raw = pd.concat([decision.alerts, decision.suppressed], ignore_index=True)
        listed = [item["account_id"] for b in decision.batches for item in b.items]
        shown = decision.alerts[decision.alerts["account_id"].isin(listed)]
        shown_rows = alert_history_rows(shown, as_of)
        if len(shown_rows):
            earlier = self.history
            self.history = (
                shown_rows.reset_index(drop=True)
                if earlier is None or earlier.empty
                else pd.concat([earlier, shown_rows], ignore_index=True)
            )
        scored = scores["status"].eq("scored") & scores["score_shown"].notna()
        return WeekReplay(
            as_of=as_of,
            period=period,
            scored=int(scored.sum()),
            fired=_week_rows(raw, as_of, period, owner),
            delivered=_week_rows(shown, as_of, period, owner),
            held_back=len(decision.suppressed),
            overflow=sum(b.more for b in decision.batches),
            owners=owner[scored.to_numpy()].value_counts(sort=False),
            shown_alerts=shown,
        )

    def _view_frames(
        self, current: Scores, previous: Scores | None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What `load_period` would read for this week: scores joined with last week's
        comparison (and its own delta, `previous_delta`, from the step before) and the
        accounts, plus the drivers."""
        cols = ["account_id", "score_shown", "band", "band_rank"]
        cur = current.accounts
        prev = previous.accounts[cols] if previous is not None else cur.iloc[:0][cols]
        comparison = compare(cur[cols], prev)
        comparison["previous_delta"] = comparison["account_id"].map(self._last_delta)
        self._last_delta = comparison.set_index("account_id")["delta"]
        joined = (
            cur.drop(columns=["score_shown", "band", "band_rank"])
            .merge(comparison, on="account_id")
            .assign(account_id=lambda f: f["account_id"].astype(str))
            .merge(self.info, on="account_id", how="left")
        )
        point_cols = ["account_id", "metric", "points"]
        driver_frame = pd.DataFrame(columns=["account_id", "metric", "delta_points"])
        if previous is not None and self.with_reasons:
            driver_frame = drivers(current.metrics[point_cols], previous.metrics[point_cols])
        return joined.reset_index(drop=True), driver_frame

    def _last_signal(self, as_of: date) -> pd.Series:
        """Latest signal date per account within the stale look-back (NaT: none, i.e. stale
        either way); the stale rule is all that reads it."""
        days = self.model.alerts.stale_days
        if days is None:
            return pd.Series(dtype="datetime64[ns]")
        day = last_days(self.windows, as_of, days + 1, self.placed)
        seen = day > np.iinfo(np.int64).min
        dates = np.where(
            seen, EPOCH + day.clip(min=0).astype("timedelta64[D]"), np.datetime64("NaT")
        )
        series = pd.Series(dates, index=self.windows.account_ids.astype(str))
        return series.astype("datetime64[ns]")


@dataclass(frozen=True)
class _View:
    """The parts of `scoring.batch.views.PeriodView` that `decide_week` reads."""

    period: str
    scores: pd.DataFrame
    drivers: pd.DataFrame


def _week_rows(alerts: pd.DataFrame, as_of: date, period: str, owner: pd.Series) -> pd.DataFrame:
    ids = alerts["account_id"].astype(str)
    return pd.DataFrame(
        {
            "as_of": pd.Timestamp(as_of),
            "period": period,
            "account_id": ids.to_numpy(),
            "owner_email": ids.map(owner).fillna(NO_OWNER).to_numpy(),
            "rule": alerts["rule"].to_numpy(),
            "severity": alerts["severity"].to_numpy(),
            "reason": alerts["reason"].to_numpy(),
        },
        columns=WEEK_COLUMNS,
    )


def previous_as_of(as_of: date) -> date:
    """The weekly as-of day before `as_of` (its ISO week's Sunday before)."""
    return as_of - timedelta(days=7)


def replay_weeks(
    model: Model,
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    as_ofs: Iterable[date],
    history: pd.DataFrame | None = None,
    layout: str = "long",
    lookback: dict[str, int] | None = None,
    with_reasons: bool = True,
) -> Replay:
    """Score each week (and the week before the first, for its comparison) with `model` from
    `signals` dated on or before that week only, and replay the decisions in order."""
    as_ofs = sorted(set(as_ofs))
    acc = accounts_frame(accounts)
    windows = SignalWindows(signals, pd.Index(acc["account_id"].astype(str).to_numpy()), layout)
    replayer = Replayer(model, acc, windows, history, with_reasons, lookback)
    span = spans(model)
    weeks: list[WeekReplay] = []
    if not as_ofs:
        return Replay(weeks)
    warm_up = previous_as_of(as_ofs[0])
    previous = score_accounts(model, acc, windows.upto(warm_up, span), warm_up, layout)
    keep = runs_needed(model)  # band hysteresis reads this many runs back
    earlier = [previous.accounts] if keep else []
    for as_of in as_ofs:
        current = score_accounts(model, acc, windows.upto(as_of, span), as_of, layout)
        weeks.append(replayer.step(as_of, current, previous, recent_frame(earlier)))
        previous = current
        earlier = [*earlier, current.accounts][-keep:] if keep else []
    return Replay(weeks)
