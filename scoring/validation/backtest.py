"""Re-score history with the current model and join every score to what happened next.

A score is only worth trusting if low scores came before churn on the customer's own history.
The backtest replays each past period: it scores every account as of that day with the model
file as it is now, from signals dated on or before that day only (each period gets a slice of
the in-memory signals, so a later row cannot leak in even if an aggregate misbehaved), and
labels the account-period "churned" when the account's first churn after that day falls within
the horizon. The same frames drive the alert rules, so their precision and recall come from
exactly what the weekly run would have sent (before cooldown and snoozes).

Account attributes (segment, renewal date, ARR) are the synced ones, i.e. today's values, not
as they were then; the report says so. Manual CSM inputs (issue 9: `csm_sentiment`,
`champion_status`) are signals like any other, with `valid_until`, so a model file that scores
them gets them backtested, per-metric AUC included, with nothing special here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_schema import RULES
from scoring.decisions.band_hysteresis import recent_frame, runs_needed
from scoring.engine.score import Scores, score_accounts
from scoring.engine.window_aggregates import AggregateSource
from scoring.errors import HealthbotError
from scoring.frames import accounts_frame
from scoring.periods import period_bounds, period_of
from scoring.pushdown.in_place import Placement
from scoring.validation.in_place_history import PlacedPeriods, scoring_input
from scoring.validation.labels import churn_events, label_rows
from scoring.validation.period_alerts import ALERT_ROW_COLUMNS, period_alerts
from scoring.validation.replay import Replayer
from scoring.validation.windows import SignalWindows, spans

REPLAY_COLUMNS = ["account_id", "as_of", "owner_email", "rule"]
# Weeks whose decisions a backtest replays (a quarter): the replay runs the weekly run's whole
# decision step, words and DM batches included, which costs about as much as re-scoring; a
# quarter of weeks keeps a 52-week backtest of 10,000 accounts within its minute.
REPLAY_WEEKS = 13
DEFAULT_PERIODS = 52


@dataclass(frozen=True)
class Backtest:
    """Every scored account-period (`rows`), its metric sub-scores (`metric_scores`, same index,
    one column per metric key, NaN = no data) and the alert rules that fired on it.

    `replayed`: the weekly decisions replayed in order (`replay.py`) over `replayed_as_ofs`,
    as `fired` (every rule, before cooldown) and `delivered` (what the owners' DMs would have
    listed) frames of account_id, as_of, owner_email, rule; `owners`: owner per account.
    Empty when not replayed.
    """

    rows: pd.DataFrame
    metric_scores: pd.DataFrame
    alerts: pd.DataFrame
    as_ofs: list[date]
    horizon_days: int
    observed_until: date
    replayed: dict[str, pd.DataFrame] = field(default_factory=dict)
    owners: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    replayed_as_ofs: list[date] = field(default_factory=list)

    def subset(self, mask: np.ndarray) -> Backtest:
        """The same backtest restricted to some rows (a segment), alerts included."""
        rows = self.rows[mask]
        keys = pd.MultiIndex.from_frame(rows[["account_id", "as_of"]])
        alert_keys = pd.MultiIndex.from_frame(self.alerts[["account_id", "as_of"]])
        alerts = self.alerts[alert_keys.isin(keys)].reset_index(drop=True)
        replayed = {
            mode: frame[pd.MultiIndex.from_frame(frame[["account_id", "as_of"]]).isin(keys)]
            for mode, frame in self.replayed.items()
        }
        return replace(
            self,
            rows=rows.reset_index(drop=True),
            metric_scores=self.metric_scores[mask].reset_index(drop=True),
            alerts=alerts,
            replayed={mode: frame.reset_index(drop=True) for mode, frame in replayed.items()},
        )


def lookback_days(model: Model) -> int:
    """How much history one period needs: the longest window (plus the history weeks metric
    drops compare against) plus a week for last week's champion."""
    longest = max(m.window_days for m in model.metrics.values())
    if model.alerts.metric_drop is not None:
        longest = model.alerts.metric_drop.days_read(longest)
    return longest + 7 + (model.alerts.stale_days or 0)


def default_range(
    model: Model, first_signal: date, last_signal: date, observed_until: date, horizon_days: int
) -> tuple[date, date]:
    """The latest period whose horizon is fully observed, and up to a year of weeks before it.

    Starting only once the shortest metric window has filled keeps the first periods from being
    scored on a sliver of data. With too little history to observe a whole horizon the last
    signal day is used, and the report counts the rows whose horizon is not over yet.
    """
    end = min(last_signal, observed_until - timedelta(days=horizon_days))
    if end < first_signal:
        end = last_signal
    shortest = min(m.window_days for m in model.metrics.values())
    start = max(first_signal + timedelta(days=shortest - 1), end - timedelta(weeks=51))
    return min(start, end), end


def _previous_as_of(as_of: date) -> date:
    """The as-of day of the week before: that ISO week's Sunday, as the weekly run has it."""
    monday, _ = period_bounds(period_of(as_of))
    return monday - timedelta(days=1)


def _metric_matrix(model: Model, scores: Scores) -> np.ndarray:
    """The engine's long (account x metric) frame as an (accounts x metrics) matrix."""
    m = len(model.metric_keys)
    values = scores.metrics["metric_score"].to_numpy(dtype=float).reshape(-1, m)
    if m and len(values) and list(scores.metrics["metric"].iloc[:m]) != model.metric_keys:
        raise AssertionError("the engine's metric rows are not in model order")
    return values


def run_backtest(
    model: Model,
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    outcomes: pd.DataFrame,
    as_ofs: list[date],
    horizon_days: int | None = None,
    layout: str = "long",
    observed_until: date | None = None,
    replay_weeks: int | None = REPLAY_WEEKS,
    alert_lookback: dict[str, int] | None = None,
    placement: Placement | None = None,
) -> Backtest:
    """Score every as-of day with `model` and label each scored account with churn ahead.

    `observed_until` is the last day outcomes are known for (default: the latest signal or
    outcome date); an account-period whose horizon reaches past it without a churn is
    `censored` (a churn may simply not have happened yet). The last `replay_weeks` periods
    (long-layout signals only, as the weekly run reads them; 0 or None: none) also replay the
    weekly decisions in order (`replay_range`), so the report can say what would have been
    delivered; `alert_lookback` is the weekly run's signal look-back for its alerts.
    `placement`: signals read in place (not in `signals`), aggregated by their backend per
    period (`in_place_history.py`).
    """
    if not as_ofs:
        raise HealthbotError("no periods to backtest: widen --from/--to")
    horizon = horizon_days or model.backtest.horizon_days
    as_ofs = sorted(set(as_ofs))
    acc = accounts_frame(accounts)
    windows = SignalWindows(signals, pd.Index(acc["account_id"].to_numpy()), layout)
    placed = PlacedPeriods.of(placement)
    span = spans(model)

    def rows(as_of: date) -> pd.DataFrame | AggregateSource:
        """The period's stored rows, plus the in-place signals' aggregates (if any)."""
        return scoring_input(windows.upto(as_of, span), layout, placed)

    needs_previous = model.alerts.score_drop > 0 or model.alerts.band_downgrade
    previous = None
    if needs_previous:
        warm_up = _previous_as_of(as_ofs[0])
        previous = score_accounts(model, acc, rows(warm_up), warm_up, layout)
    replayer = None
    if replay_weeks and layout == "long":
        replayer = Replayer(
            model, acc, windows, with_reasons=False, lookback=alert_lookback, placed=placed
        )
    counted, first_replayed = replay_range(model, as_ofs, replay_weeks or 0)
    parts, matrices, fired, weeks = [], [], [], []
    keep = runs_needed(model)  # band hysteresis reads this many runs back
    earlier = [] if previous is None else [previous.accounts]
    for i, as_of in enumerate(as_ofs):
        scores = score_accounts(model, acc, rows(as_of), as_of, layout)
        parts.append(scores.accounts.assign(as_of=pd.Timestamp(as_of), period=period_of(as_of)))
        matrices.append(_metric_matrix(model, scores))
        recent = recent_frame(earlier[-keep:] if keep else [])
        if replayer is not None and i >= first_replayed:  # the weekly run's own decisions
            week = replayer.step(as_of, scores, previous, recent)
            fired.append(week.fired[ALERT_ROW_COLUMNS])
            weeks += [week] if i >= counted else []
        else:
            args = (model, as_of, scores, previous, acc, windows, layout, recent)
            fired.append(period_alerts(*args, placed=placed))
        previous = scores
        earlier = [*earlier, scores.accounts][-keep:] if keep else []
    rows = pd.concat(parts, ignore_index=True)
    segment = acc.set_index("account_id")["segment"]
    rows["segment"] = rows["account_id"].map(segment).astype(object)
    events = churn_events(acc, outcomes)
    if observed_until is None:
        candidates = [windows.frame["date"].max(), events["date"].max()]
        if len(outcomes):
            candidates.append(pd.to_datetime(outcomes["date"]).max())
        known = [c for c in candidates if pd.notna(c)]
        observed_until = max(known).date() if known else max(as_ofs)
    rows = label_rows(rows, events, horizon, observed_until)
    matrix = np.vstack(matrices) if matrices else np.empty((0, len(model.metric_keys)))
    metric_scores = pd.DataFrame(matrix, columns=model.metric_keys)
    alerts = _in_rule_order(pd.concat(fired, ignore_index=True))
    replayed = {
        mode: pd.concat([getattr(w, mode) for w in weeks], ignore_index=True)[REPLAY_COLUMNS]
        for mode in ("fired", "delivered")
        if weeks
    }
    owners = acc.set_index(acc["account_id"].astype(str))["owner_email"]
    return Backtest(
        rows,
        metric_scores,
        alerts,
        as_ofs,
        horizon,
        observed_until,
        replayed,
        owners,
        [w.as_of for w in weeks],
    )


def _in_rule_order(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts by period, account, then rule (`RULES`), whichever path decided them."""
    order = alerts["rule"].map({r: i for i, r in enumerate(RULES)})
    keys = alerts.assign(_rule=order).sort_values(["as_of", "account_id", "_rule"], kind="stable")
    return alerts.loc[keys.index].reset_index(drop=True)


def replay_range(model: Model, as_ofs: list[date], replay_weeks: int) -> tuple[int, int]:
    """(first counted, first replayed) positions in `as_ofs`: the last `replay_weeks` periods
    are counted, and up to a cooldown's worth of weeks before them are replayed uncounted so
    the first counted week already has a sent-alert history, as a weekly run has."""
    counted = max(len(as_ofs) - replay_weeks, 0)
    warm_up = -(-model.alerts.cooldown_days // 7)
    return counted, max(counted - warm_up, 0)


def segment_mask(backtest: Backtest, model: Model, segment: str | None) -> np.ndarray:
    """Rows in a segment: a model segment name (its `where` rule) or an account `segment` value."""
    rows = backtest.rows
    if segment is None:
        return np.ones(len(rows), dtype=bool)
    if segment in model.segments:
        return (rows["segment_rule"] == segment).to_numpy(dtype=bool)
    values = rows["segment"].astype("string").str.casefold()
    mask = (values == segment.casefold()).fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        known = sorted({str(v) for v in rows["segment"].dropna().unique()})
        ours = ", ".join(model.segments) or "none"
        raise HealthbotError(
            f"no scored account is in segment {segment!r} (model segments: {ours};"
            f" account segments: {', '.join(known) or 'none'})"
        )
    return mask
