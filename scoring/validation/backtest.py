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

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alerts import decide_alerts
from scoring.decisions.history import compare
from scoring.decisions.metric_drop import CHAMPION_SIGNAL, champion_values, metric_drops
from scoring.decisions.portfolio_moves import account_segments
from scoring.engine.score import Scores, score_accounts
from scoring.engine.signal_table import EPOCH
from scoring.errors import HealthbotError
from scoring.frames import accounts_frame
from scoring.periods import period_bounds, period_of
from scoring.validation.windows import SignalWindows, spans

ROW_COLUMNS = [
    "account_id",
    "as_of",
    "period",
    "segment",
    "segment_rule",
    "score",
    "score_shown",
    "band",
    "band_rank",
    "status",
    "churn_date",
    "churned",
    "censored",
]
ALERT_ROW_COLUMNS = ["account_id", "as_of", "rule", "severity"]
DEFAULT_PERIODS = 52


@dataclass(frozen=True)
class Backtest:
    """Every scored account-period (`rows`), its metric sub-scores (`metric_scores`, same index,
    one column per metric key, NaN = no data) and the alert rules that fired on it."""

    rows: pd.DataFrame
    metric_scores: pd.DataFrame
    alerts: pd.DataFrame
    as_ofs: list[date]
    horizon_days: int
    observed_until: date

    def subset(self, mask: np.ndarray) -> Backtest:
        """The same backtest restricted to some rows (a segment), alerts included."""
        rows = self.rows[mask]
        keys = pd.MultiIndex.from_frame(rows[["account_id", "as_of"]])
        alert_keys = pd.MultiIndex.from_frame(self.alerts[["account_id", "as_of"]])
        alerts = self.alerts[alert_keys.isin(keys)].reset_index(drop=True)
        return replace(
            self,
            rows=rows.reset_index(drop=True),
            metric_scores=self.metric_scores[mask].reset_index(drop=True),
            alerts=alerts,
        )


def churn_events(accounts: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Every known churn (account_id, date): `churned` outcomes and the accounts' churned_on."""
    out = outcomes[outcomes["outcome"].astype(str).str.lower() == "churned"]
    acc = accounts_frame(accounts)
    acc = acc.loc[acc["churned_on"].notna(), ["account_id", "churned_on"]]
    events = pd.concat(
        [
            pd.DataFrame(
                {"account_id": out["account_id"].astype(str), "date": pd.to_datetime(out["date"])}
            ),
            acc.rename(columns={"churned_on": "date"}),
        ],
        ignore_index=True,
    )
    events["date"] = events["date"].astype("datetime64[ns]").dt.normalize()
    return events.drop_duplicates().sort_values("date", kind="stable").reset_index(drop=True)


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


def _period_alerts(
    model: Model,
    as_of: date,
    current: Scores,
    previous: Scores | None,
    accounts: pd.DataFrame,
    windows: SignalWindows,
    layout: str,
) -> pd.DataFrame:
    """The alert rules that fire for one period, as the weekly run decides them (no cooldown)."""
    cfg = model.alerts
    cols = ["account_id", "score_shown", "band", "band_rank"]
    cur = current.accounts
    prev = previous.accounts[cols] if previous is not None else cur.iloc[:0][cols]
    comparison = compare(cur[cols], prev)
    no_drivers = pd.DataFrame(columns=["account_id", "metric", "delta_points"])
    ids = cur["account_id"]
    drops = champion = last = None
    if cfg.metric_drop is not None:
        history = spans(model, extra=7 * cfg.metric_drop.history_weeks)
        segments = account_segments(cur)  # as the weekly run judges them
        drops = metric_drops(model, ids, windows.upto(as_of, history), as_of, layout, segments)
    if cfg.champion_left is not None:
        longest = max(m.window_days for m in model.metrics.values())
        span = spans(model, extra=7).get(CHAMPION_SIGNAL, longest + 7)
        champion = champion_values(
            model, ids, windows.upto(as_of, {CHAMPION_SIGNAL: span}), as_of, layout=layout
        )
    if cfg.stale_days is not None:
        day = windows.last_day(as_of, cfg.stale_days)
        seen = day > np.iinfo(np.int64).min
        dates = pd.Series(
            np.where(seen, EPOCH + day.clip(min=0).astype("timedelta64[D]"), np.datetime64("NaT")),
            index=windows.account_ids,
        ).astype("datetime64[ns]")
        last = dates.reindex(ids.to_numpy())
    fired = decide_alerts(model, as_of, cur, comparison, no_drivers, accounts, None, last, champion)
    if drops is not None:
        fired = pd.concat([fired, _metric_drop_rows(cur, drops, fired)], ignore_index=True)
    return fired.assign(as_of=pd.Timestamp(as_of))[ALERT_ROW_COLUMNS]


def _metric_drop_rows(
    scores: pd.DataFrame, drops: pd.DataFrame, fired: pd.DataFrame
) -> pd.DataFrame:
    """The `metric_drop` rule exactly as decide_alerts fires it (a scored account, not stale,
    with a drop), without its reason text: joining the words of ~2,000 accounts a week is most
    of the time a 52-week backtest would otherwise spend on alerts."""
    stale = fired.loc[fired["rule"] == "stale", "account_id"]
    ok = (scores["status"] == "scored") & scores["score_shown"].notna()
    hit = ok & scores["account_id"].isin(drops["account_id"]) & ~scores["account_id"].isin(stale)
    return pd.DataFrame(
        {"account_id": scores.loc[hit, "account_id"], "rule": "metric_drop", "severity": "medium"}
    )


def run_backtest(
    model: Model,
    accounts: pd.DataFrame,
    signals: pd.DataFrame,
    outcomes: pd.DataFrame,
    as_ofs: list[date],
    horizon_days: int | None = None,
    layout: str = "long",
    observed_until: date | None = None,
) -> Backtest:
    """Score every as-of day with `model` and label each scored account with churn ahead.

    `observed_until` is the last day outcomes are known for (default: the latest signal or
    outcome date); an account-period whose horizon reaches past it without a churn is
    `censored` (a churn may simply not have happened yet).
    """
    if not as_ofs:
        raise HealthbotError("no periods to backtest: widen --from/--to")
    horizon = horizon_days or model.backtest.horizon_days
    as_ofs = sorted(set(as_ofs))
    acc = accounts_frame(accounts)
    windows = SignalWindows(signals, pd.Index(acc["account_id"].to_numpy()), layout)
    span = spans(model)
    needs_previous = model.alerts.score_drop > 0 or model.alerts.band_downgrade
    previous = None
    if needs_previous:
        warm_up = _previous_as_of(as_ofs[0])
        previous = score_accounts(model, acc, windows.upto(warm_up, span), warm_up, layout)
    parts, matrices, fired = [], [], []
    for as_of in as_ofs:
        scores = score_accounts(model, acc, windows.upto(as_of, span), as_of, layout)
        parts.append(scores.accounts.assign(as_of=pd.Timestamp(as_of), period=period_of(as_of)))
        matrices.append(_metric_matrix(model, scores))
        fired.append(_period_alerts(model, as_of, scores, previous, acc, windows, layout))
        previous = scores
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
    rows = _label(rows, events, horizon, observed_until)
    matrix = np.vstack(matrices) if matrices else np.empty((0, len(model.metric_keys)))
    metric_scores = pd.DataFrame(matrix, columns=model.metric_keys)
    alerts = pd.concat(fired, ignore_index=True)
    return Backtest(rows, metric_scores, alerts, as_ofs, horizon, observed_until)


def _label(
    rows: pd.DataFrame, events: pd.DataFrame, horizon: int, observed_until: date
) -> pd.DataFrame:
    """First churn strictly after each as-of day (merge_asof forward) and whether it falls
    within the horizon; rows keep their order."""
    left = rows[["account_id", "as_of"]].assign(_row=np.arange(len(rows)))
    left["as_of"] = left["as_of"].astype("datetime64[ns]")
    left = left.sort_values("as_of", kind="stable")
    right = events.rename(columns={"date": "churn_date"}).assign(_on=lambda f: f["churn_date"])
    right = right.sort_values("_on", kind="stable")
    joined = pd.merge_asof(
        left,
        right,
        left_on="as_of",
        right_on="_on",
        by="account_id",
        direction="forward",
        allow_exact_matches=False,
    ).sort_values("_row")
    churn_date = pd.Series(joined["churn_date"].to_numpy(), index=rows.index)
    ahead = (churn_date - rows["as_of"]).dt.days
    churned = (ahead <= horizon).fillna(False).to_numpy(dtype=bool)
    horizon_end = rows["as_of"] + pd.Timedelta(days=horizon)
    censored = ~churned & (horizon_end > pd.Timestamp(observed_until)).to_numpy()
    out = rows.assign(churn_date=churn_date, churned=churned, censored=censored)
    return out[ROW_COLUMNS]


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
