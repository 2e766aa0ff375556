"""Alert rules: which accounts a CSM should hear about this week, and why.

An alert interrupts a CSM, so each rule is a plain threshold from the model file (`alerts:`)
and every alert carries its `reason` in words (`alert_words`). Data problems (stale feeds) are
kept apart from health alerts: a broken feed is not an unhealthy customer. Severities and
columns are in `alert_schema`; what is held back as already sent or snoozed is decided after
the rules, by `alert_cooldown`.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scoring.config import Model
from scoring.config.sections import Alerts
from scoring.decisions.alert_schema import ALERT_COLUMNS, EPS, RULES
from scoring.decisions.alert_words import (
    ARROW,
    band_downgrade_words,
    band_words,
    driver_summary,
    join_text,
    metric_drop_reasons,
    number_text,
    renewal_words,
    segment_note,
)
from scoring.decisions.band_hysteresis import band_downgrades
from scoring.decisions.feed_stale import stopped_feed_reasons, without_stopped
from scoring.decisions.portfolio_moves import segment_shift
from scoring.frames import accounts_frame


def _base(
    as_of: date, scores: pd.DataFrame, comparison: pd.DataFrame, accounts: pd.DataFrame
) -> pd.DataFrame:
    """One row per scored account: this week's score, last week's, renewal, and `ok` (may get
    health alerts: a real score, i.e. not insufficient data)."""
    cur = scores.reindex(
        columns=["account_id", "score_shown", "band", "band_rank", "status", "segment_rule"]
    )
    cur = cur.assign(account_id=cur["account_id"].astype(str))
    prev = comparison.reindex(
        columns=["account_id", "previous_score", "previous_band", "delta", "band_change"]
    )
    prev = prev.assign(account_id=prev["account_id"].astype(str))
    acc = accounts_frame(accounts)[["account_id", "renewal_date"]]
    base = cur.merge(prev, on="account_id", how="left").merge(acc, on="account_id", how="left")
    score = pd.to_numeric(base["score_shown"], errors="coerce")
    status_ok = base["status"].isna() | (base["status"] == "scored")
    renewal = base["renewal_date"].dt.normalize()
    return base.assign(
        score_shown=score,
        previous_score=pd.to_numeric(base["previous_score"], errors="coerce"),
        delta=pd.to_numeric(base["delta"], errors="coerce"),
        band_rank=pd.to_numeric(base["band_rank"], errors="coerce").astype(float),
        ok=(score.notna() & status_ok).to_numpy(dtype=bool),
        renewal_date=renewal,
        renewal_days=(renewal - pd.Timestamp(as_of)).dt.days,
    )


def _rows(
    base: pd.DataFrame, mask: ArrayLike, rule: str, severity: ArrayLike | str, reason: ArrayLike
) -> pd.DataFrame:
    """One alert row per account where `mask` holds; severity is one word or one per account."""
    mask = np.asarray(mask, dtype=bool)
    sev = np.broadcast_to(np.asarray(severity, dtype=object), mask.shape)[mask]
    ids, words = base["account_id"].to_numpy()[mask], np.asarray(reason, dtype=object)[mask]
    return pd.DataFrame({"account_id": ids, "rule": rule, "severity": sev, "reason": words})


def _last_signal(last_signal: pd.Series | pd.DataFrame, ids: pd.Series) -> pd.Series:
    """Last signal date per account, aligned to `ids` (NaT: never had any)."""
    if isinstance(last_signal, pd.DataFrame):
        column = next(c for c in last_signal.columns if c != "account_id")
        last_signal = last_signal.set_index(last_signal["account_id"].astype(str))[column]
    series = pd.to_datetime(last_signal).dt.normalize()
    series.index = series.index.astype(str)
    return pd.Series(series.reindex(ids.to_numpy()).to_numpy(), index=ids.index)


def decide_alerts(
    model: Model,
    as_of: date,
    scores: pd.DataFrame,
    comparison: pd.DataFrame,
    driver_frame: pd.DataFrame,
    accounts: pd.DataFrame,
    metric_drop_frame: pd.DataFrame | None = None,
    last_signal: pd.Series | pd.DataFrame | None = None,
    champion: pd.DataFrame | None = None,
    recent: pd.DataFrame | None = None,
    stopped: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every rule that fired this week, one row per account x rule (ALERT_COLUMNS).

    scores: the engine's account frame (SCORE_COLUMNS); comparison: `history.compare()`;
    driver_frame: `history.drivers()`; accounts: the accounts frame (renewal_date);
    metric_drop_frame: `metric_drops()` output (already past the threshold); last_signal:
    last signal date per account (Series by account_id, or a frame account_id + one date
    column); champion: `champion_values()` output (account_id, current, previous);
    recent: shown scores of the runs before (band_hysteresis.RECENT_COLUMNS; None: a first
    run, so a downgrade alerts only by its margin); stopped: `feed_stale.stopped_feeds()`
    output, the accounts one of whose regular feeds went silent.
    Noise-aware by design: a score drop is the account's change beyond its segment's shared
    dip (portfolio_moves.segment_shift), a downgrade needs hysteresis (band_hysteresis), and a
    metric drop is not sent while the score rose unless `metric_drop.when_score_rises`.
    Rules whose model key or input is missing do not run. Accounts with insufficient data,
    and accounts whose data is stale, get no health alerts: their scores say more about the
    feed than about the customer, so only the stale data problem is reported for them. The
    same holds for the score-based alerts (score_drop, band_downgrade) of an account whose data
    still arrives but one regular feed stopped (`stopped`), and for the metric drops of that
    feed: its score moves because a window holds fewer, older days. Its other metrics' drops,
    a champion who left and a renewal are still news.
    """
    cfg = model.alerts
    base = _base(as_of, scores, comparison, accounts)
    parts: list[pd.DataFrame] = []
    score_ok: pd.Series | None = None  # may get score-based alerts (no stopped feed)
    if cfg.stale_days is not None and last_signal is not None:
        last = _last_signal(last_signal, base["account_id"])
        days = (pd.Timestamp(as_of) - last).dt.days
        stale = last.isna() | (days >= cfg.stale_days)
        reason = pd.Series(
            np.where(
                last.isna(), "No data received yet", "No data for " + number_text(days, 0) + " days"
            ),
            index=base.index,
        )
        parts.append(_rows(base, stale, "stale", "data", reason))
        base = base.assign(ok=base["ok"] & ~stale.to_numpy(dtype=bool))
        if stopped is not None and len(stopped):
            parts.append(_stopped_rows(model, base, stale.to_numpy(dtype=bool), stopped))
            score_ok = base["ok"] & ~base["account_id"].isin(stopped["account_id"])
            if metric_drop_frame is not None:
                metric_drop_frame = without_stopped(metric_drop_frame, stopped)
    ok, delta = base["ok"], base["delta"]
    score_ok = ok if score_ok is None else score_ok
    lowest = base["band_rank"] == len(model.bands) - 1
    if cfg.score_drop > 0:
        shift = segment_shift(base, model)
        judged = pd.Series(shift["segment_delta"].to_numpy(), index=base.index)
        fired = (score_ok & (judged <= -cfg.score_drop + EPS)).to_numpy(dtype=bool)
        hit = base[fired]  # words only for the accounts that alert: a week is 100,000 rows
        hit_drivers = (
            driver_frame[driver_frame["account_id"].isin(hit["account_id"])]
            if driver_frame is not None and len(driver_frame)
            else driver_frame
        )
        drivers = hit["account_id"].map(driver_summary(model, hit_drivers)).astype(object)
        mostly = np.where(drivers.notna(), ", mostly " + drivers.fillna("").astype(str), "")
        before, now = number_text(hit["previous_score"], 1), number_text(hit["score_shown"], 1)
        note = segment_note(pd.Series(shift["segment_shift"].to_numpy()[fired], index=hit.index))
        words = join_text(
            "Score ", before, f" {ARROW} ", now, " (", number_text(hit["delta"], 1), note, ")"
        )
        severity = np.where(judged[fired] <= -2 * cfg.score_drop + EPS, "critical", "high")
        parts.append(_rows(hit, np.ones(len(hit), bool), "score_drop", severity, words + mostly))
    if cfg.band_downgrade is not None:
        down = band_downgrades(model, cfg.band_downgrade, base, recent)
        fired = (score_ok & down.fired).to_numpy(dtype=bool)
        hit = base[fired]
        reason = band_downgrade_words(
            down.left_band[fired], hit["band"], down.threshold[fired], down.confirmed_runs[fired]
        )
        severity = np.where(lowest[fired], "critical", "high")
        parts.append(_rows(hit, np.ones(len(hit), bool), "band_downgrade", severity, reason))
    if cfg.metric_drop is not None and metric_drop_frame is not None:
        reason = base["account_id"].map(metric_drop_reasons(model, metric_drop_frame))
        fired = ok & reason.notna()
        if not cfg.metric_drop.when_score_rises:
            fired &= ~(delta > EPS)  # a falling metric under a rising score is not news
        parts.append(_rows(base, fired, "metric_drop", "medium", reason))
    if cfg.renewal_days is not None:
        days = base["renewal_days"]
        soon = (days >= 0) & (days <= cfg.renewal_days)
        when = renewal_words(days, base["renewal_date"])
        reason = join_text("Renews ", when, " while ", band_words(base["band"]))
        fired = ok & soon & (base["band_rank"] > 0)
        parts.append(_rows(base, fired, "renewal", np.where(lowest, "high", "medium"), reason))
    if cfg.champion_left is not None and champion is not None:
        parts.append(_champion_rows(cfg, base, champion))
    return _finish(base, parts)


def _stopped_rows(
    model: Model, base: pd.DataFrame, stale: np.ndarray, stopped: pd.DataFrame
) -> pd.DataFrame:
    """A `stale` notice per account with a stopped feed, unless all its data is stale (that
    notice already says more)."""
    reason = base["account_id"].map(stopped_feed_reasons(model, stopped))
    return _rows(base, reason.notna().to_numpy(dtype=bool) & ~stale, "stale", "data", reason)


def _champion_rows(cfg: Alerts, base: pd.DataFrame, champion: pd.DataFrame) -> pd.DataFrame:
    """Champion flag went to 0 this week (from a known non-zero last week)."""
    assert cfg.champion_left is not None
    values = champion.assign(account_id=champion["account_id"].astype(str))
    values = values.drop_duplicates("account_id", keep="last").set_index("account_id")
    now = pd.to_numeric(base["account_id"].map(values["current"]), errors="coerce")
    was = pd.to_numeric(base["account_id"].map(values["previous"]), errors="coerce")
    fired = base["ok"] & (now == 0) & was.notna() & (was != 0)
    reason = pd.Series("Champion left", index=base.index)
    within = cfg.champion_left.renewal_within_days
    if within is not None:
        days = base["renewal_days"]
        fired &= (days >= 0) & (days <= within)
        reason = reason + "; renews " + renewal_words(days, base["renewal_date"])
    return _rows(base, fired, "champion_left", "high", reason)


def _finish(base: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The fired rules with each account's scores beside them, in account then RULES order
    (so a CSM reads an account's worst news first and runs compare row by row)."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return base.iloc[:0].assign(rule="", severity="", reason="")[ALERT_COLUMNS]
    fired = pd.concat(parts, ignore_index=True)
    base = base.drop(columns=["reason", "segment_rule"], errors="ignore")
    out = fired.merge(base, on="account_id", how="left")
    out = out.assign(_rule=out["rule"].map({r: i for i, r in enumerate(RULES)}))
    out = out.sort_values(["account_id", "_rule"], kind="stable")
    return out[ALERT_COLUMNS].reset_index(drop=True)
