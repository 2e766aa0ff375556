"""The alert rules that fire for one backtest period, as the weekly run decides them but
without the cooldown or the DM (the replay, `replay.py`, adds those for the last weeks).

Its own module because the backtest loop and this per-period decision change for different
reasons: new rules and their inputs land here.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_schema import CHAMPION_SIGNAL, EPS
from scoring.decisions.alerts import decide_alerts
from scoring.decisions.feed_stale import stopped_feeds, without_stopped
from scoring.decisions.history import compare
from scoring.decisions.metric_drop import champion_values, metric_drops
from scoring.decisions.portfolio_moves import account_segments
from scoring.engine.score import Scores
from scoring.engine.signal_table import EPOCH
from scoring.validation.in_place_history import PlacedPeriods, decision_signals, last_days
from scoring.validation.replay import alert_spans
from scoring.validation.week_freshness import week_freshness
from scoring.validation.windows import SignalWindows, spans

ALERT_ROW_COLUMNS = ["account_id", "as_of", "rule", "severity"]


def period_alerts(
    model: Model,
    as_of: date,
    current: Scores,
    previous: Scores | None,
    accounts: pd.DataFrame,
    windows: SignalWindows,
    layout: str,
    recent: pd.DataFrame | None = None,
    placed: PlacedPeriods | None = None,
) -> pd.DataFrame:
    """The alert rules that fire for one period, as the weekly run decides them (no cooldown);
    `recent`: the scores of the runs before (band hysteresis); `placed`: signals read in
    place, asked of their backend for this period."""
    cfg = model.alerts
    cols = ["account_id", "score_shown", "band", "band_rank"]
    cur = current.accounts
    prev = previous.accounts[cols] if previous is not None else cur.iloc[:0][cols]
    comparison = compare(cur[cols], prev)
    no_drivers = pd.DataFrame(columns=["account_id", "metric", "delta_points"])
    ids = cur["account_id"]
    drops = champion = last = stopped = None
    if cfg.metric_drop is not None:
        history = spans(model, extra=7 * cfg.metric_drop.history_weeks)
        segments = account_segments(cur)  # as the weekly run judges them
        rows = windows.upto(as_of, history)
        drops = metric_drops(model, ids, rows, as_of, layout, segments, decision_signals(placed))
    if cfg.champion_left is not None:
        longest = max(m.window_days for m in model.metrics.values())
        span = spans(model, extra=7).get(CHAMPION_SIGNAL, longest + 7)
        champion = champion_values(
            model,
            ids,
            windows.upto(as_of, {CHAMPION_SIGNAL: span}),
            as_of,
            layout=layout,
            in_place=decision_signals(placed),
        )
    if cfg.stale_days is not None:
        day = last_days(windows, as_of, cfg.stale_days, placed)
        seen = day > np.iinfo(np.int64).min
        dates = pd.Series(
            np.where(seen, EPOCH + day.clip(min=0).astype("timedelta64[D]"), np.datetime64("NaT")),
            index=windows.account_ids,
        ).astype("datetime64[ns]")
        last = dates.reindex(ids.to_numpy())
        span = alert_spans(model)
        stopped = stopped_feeds(model, week_freshness(model, windows, as_of, span, placed))
        # Accounts whose data stopped altogether get that notice instead (decide_alerts).
        silent = last.isna() | ((pd.Timestamp(as_of) - last).dt.days >= cfg.stale_days)
        stopped = stopped[~stopped["account_id"].isin(ids[silent.to_numpy(dtype=bool)])]
    fired = decide_alerts(
        model, as_of, cur, comparison, no_drivers, accounts, None, last, champion, recent, stopped
    )
    if drops is not None:
        rows = metric_drop_rows(cur, drops, fired, comparison, model, stopped)
        fired = pd.concat([fired, rows], ignore_index=True)
    return fired.assign(as_of=pd.Timestamp(as_of))[ALERT_ROW_COLUMNS]


def metric_drop_rows(
    scores: pd.DataFrame,
    drops: pd.DataFrame,
    fired: pd.DataFrame,
    comparison: pd.DataFrame,
    model: Model,
    stopped: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The `metric_drop` rule exactly as decide_alerts fires it (a scored account, not stale,
    with a drop of a metric whose feed did not stop, its score not risen unless the key says
    so), without its reason text: joining the words of ~2,000 accounts a week is most of the
    time a backtest would spend on alerts."""
    stale = fired.loc[fired["rule"] == "stale", "account_id"]
    if stopped is not None and len(stopped):  # accounts with the stopped-feed notice only
        stale = stale[~stale.isin(stopped["account_id"])]
        drops = without_stopped(drops, stopped)
    ok = (scores["status"] == "scored") & scores["score_shown"].notna()
    hit = ok & scores["account_id"].isin(drops["account_id"]) & ~scores["account_id"].isin(stale)
    rule = model.alerts.metric_drop
    if rule is not None and not rule.when_score_rises:
        delta = scores["account_id"].map(comparison.set_index("account_id")["delta"])
        hit &= ~(pd.to_numeric(delta, errors="coerce") > EPS)
    return pd.DataFrame(
        {"account_id": scores.loc[hit, "account_id"], "rule": "metric_drop", "severity": "medium"}
    )
