"""Alert rules, and the cooldown/snooze filter that keeps them from nagging.

An alert interrupts a CSM, so each rule is a plain threshold from the model file (`alerts:`)
and every alert carries its `reason` in words. Data problems (stale feeds) are kept apart
from health alerts: a broken feed is not an unhealthy customer.

Severity (one mapping for every rule, so channels can filter on it):
    critical  score drop of at least 2 x score_drop; band downgrade into the lowest band
    high      other score drops and band downgrades; champion left; renewal while in the
              lowest band
    medium    metric drop; renewal while in any other band below the top
    data      stale data (a data problem, never a health alert)
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scoring.config import Model
from scoring.config.sections import Alerts
from scoring.frames import accounts_frame

RULES = ("score_drop", "band_downgrade", "metric_drop", "renewal", "champion_left", "stale")
SEVERITIES = ("critical", "high", "medium", "data")
ALERT_COLUMNS = (
    "account_id rule severity reason score_shown previous_score delta band previous_band band_rank"
).split()
HISTORY_COLUMNS = ["account_id", "rule", "sent_on", "score_shown", "band_rank"]
MINUS, ARROW = "\u2212", "\u2192"
_EPS = 1e-9


def _text(values: pd.Series, decimals: int, keep_zero: bool = False) -> pd.Series:
    """Numbers as users read them: half-up, real minus sign; a bare '.0' is dropped from
    scores ('81', '81.3') but kept on raw values (`keep_zero`: '31.0 → 18.0')."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    scale = 10.0**decimals
    x = np.sign(x) * np.floor(np.abs(x) * scale + 0.5 + _EPS) / scale
    out = pd.Series(np.char.mod(f"%.{decimals}f", x + 0.0), index=values.index)
    if decimals and not keep_zero:
        out = out.str.replace(r"\.0$", "", regex=True)
    return out.str.replace("-", MINUS, regex=False).str.replace(f"^{MINUS}0$", "0", regex=True)


def _cat(*parts: pd.Series | np.ndarray | str) -> pd.Series:
    """Concatenate strings and string Series element-wise (a loop over parts, not rows)."""
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return pd.Series(out)


def _band_words(band: pd.Series) -> pd.Series:
    return band.astype(str).str.replace("_", " ", regex=False)


def _renewal_words(days: pd.Series, when: pd.Series) -> pd.Series:
    """'in 45 days (2027-01-05)', 'in 1 day (…)', 'today (…)'."""
    count = _text(days, 0)
    phrase = np.select([days == 0, days == 1], ["today", "in 1 day"], "in " + count + " days")
    return pd.Series(phrase, index=days.index) + " (" + when.dt.strftime("%Y-%m-%d") + ")"


def driver_summary(model: Model, driver_frame: pd.DataFrame, top: int = 3) -> pd.Series:
    """'Product usage −11, Support tickets −5' per account_id: the falling drivers, largest
    first, by label and whole points (moves that round to 0 say nothing and are left out)."""
    if driver_frame is None or driver_frame.empty:
        return pd.Series(dtype=object)
    falling = driver_frame[driver_frame["delta_points"] <= -0.5]
    falling = falling.sort_values(["account_id", "delta_points"], kind="stable")
    falling = falling.groupby("account_id", sort=False).head(top)
    labels = {key: m.label or key for key, m in model.metrics.items()}
    words = falling["metric"].map(labels).fillna(falling["metric"]).astype(str)
    words = words + " " + _text(falling["delta_points"], 0)
    return words.groupby(falling["account_id"].astype(str), sort=False).agg(", ".join)


def _base(
    as_of: date, scores: pd.DataFrame, comparison: pd.DataFrame, accounts: pd.DataFrame
) -> pd.DataFrame:
    """One row per scored account: this week's score, last week's, renewal, and `ok` (may get
    health alerts: a real score, i.e. not insufficient data)."""
    cur = scores.reindex(columns=["account_id", "score_shown", "band", "band_rank", "status"])
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
    mask = np.asarray(mask, dtype=bool)
    sev = np.broadcast_to(np.asarray(severity, dtype=object), mask.shape)[mask]
    ids, words = base["account_id"].to_numpy()[mask], np.asarray(reason, dtype=object)[mask]
    return pd.DataFrame({"account_id": ids, "rule": rule, "severity": sev, "reason": words})


def _metric_drop_reasons(model: Model, drops: pd.DataFrame) -> pd.Series:
    """Reason per account_id: its dropped metrics, biggest move first, joined by '; '."""
    drops = drops.assign(
        account_id=drops["account_id"].astype(str), _size=-drops["change_percent"].abs()
    )
    drops = drops.sort_values(["account_id", "_size"], kind="stable")
    label = drops["metric"].map({k: m.label or k for k, m in model.metrics.items()})
    window = drops["metric"].map({k: str(m.window_days) for k, m in model.metrics.items()})
    way = np.where(drops["change_percent"] < 0, " down ", " up ")
    change = _text(drops["change_percent"].abs(), 0)
    before, now = _text(drops["previous_raw"], 1, True), _text(drops["raw"], 1, True)
    words = _cat(
        label,
        way,
        change,
        "% (",
        before,
        f" {ARROW} ",
        now,
        ") against the previous ",
        window,
        " days",
    )
    return words.groupby(drops["account_id"], sort=False).agg("; ".join)


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
) -> pd.DataFrame:
    """Every rule that fired this week, one row per account x rule (ALERT_COLUMNS).

    scores: the engine's account frame (SCORE_COLUMNS); comparison: `history.compare()`;
    driver_frame: `history.drivers()`; accounts: the accounts frame (renewal_date);
    metric_drop_frame: `metric_drops()` output (already past the threshold); last_signal:
    last signal date per account (Series by account_id, or a frame account_id + one date
    column); champion: `champion_values()` output (account_id, current, previous).
    Rules whose model key or input is missing do not run. Accounts with insufficient data,
    and accounts whose data is stale, get no health alerts: their scores say more about the
    feed than about the customer, so only the stale data problem is reported for them.
    """
    cfg = model.alerts
    base = _base(as_of, scores, comparison, accounts)
    parts: list[pd.DataFrame] = []
    if cfg.stale_days is not None and last_signal is not None:
        last = _last_signal(last_signal, base["account_id"])
        days = (pd.Timestamp(as_of) - last).dt.days
        stale = last.isna() | (days >= cfg.stale_days)
        reason = pd.Series(
            np.where(
                last.isna(), "No data received yet", "No data for " + _text(days, 0) + " days"
            ),
            index=base.index,
        )
        parts.append(_rows(base, stale, "stale", "data", reason))
        base = base.assign(ok=base["ok"] & ~stale.to_numpy(dtype=bool))
    ok, delta = base["ok"], base["delta"]
    lowest = base["band_rank"] == len(model.bands) - 1
    if cfg.score_drop > 0:
        drivers = base["account_id"].map(driver_summary(model, driver_frame)).astype(object)
        mostly = np.where(drivers.notna(), ", mostly " + drivers.fillna("").astype(str), "")
        before, now = _text(base["previous_score"], 1), _text(base["score_shown"], 1)
        reason = _cat("Score ", before, f" {ARROW} ", now, " (", _text(delta, 1), ")", mostly)
        fired = ok & (delta <= -cfg.score_drop + _EPS)
        severity = np.where(delta <= -2 * cfg.score_drop + _EPS, "critical", "high")
        parts.append(_rows(base, fired, "score_drop", severity, reason))
    if cfg.band_downgrade:
        reason = (
            "Band " + _band_words(base["previous_band"]) + f" {ARROW} " + _band_words(base["band"])
        )
        fired = ok & (base["band_change"] == "down")
        parts.append(
            _rows(base, fired, "band_downgrade", np.where(lowest, "critical", "high"), reason)
        )
    if cfg.metric_drop is not None and metric_drop_frame is not None:
        reason = base["account_id"].map(_metric_drop_reasons(model, metric_drop_frame))
        parts.append(_rows(base, ok & reason.notna(), "metric_drop", "medium", reason))
    if cfg.renewal_days is not None:
        days = base["renewal_days"]
        soon = (days >= 0) & (days <= cfg.renewal_days)
        when = _renewal_words(days, base["renewal_date"])
        reason = _cat("Renews ", when, " while ", _band_words(base["band"]))
        fired = ok & soon & (base["band_rank"] > 0)
        parts.append(_rows(base, fired, "renewal", np.where(lowest, "high", "medium"), reason))
    if cfg.champion_left is not None and champion is not None:
        parts.append(_champion_rows(cfg, base, champion))
    return _finish(base, parts)


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
        reason = reason + "; renews " + _renewal_words(days, base["renewal_date"])
    return _rows(base, fired, "champion_left", "high", reason)


def _finish(base: pd.DataFrame, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return base.iloc[:0].assign(rule="", severity="", reason="")[ALERT_COLUMNS]
    fired = pd.concat(parts, ignore_index=True)
    out = fired.merge(base.drop(columns=["reason"], errors="ignore"), on="account_id", how="left")
    out = out.assign(_rule=out["rule"].map({r: i for i, r in enumerate(RULES)}))
    out = out.sort_values(["account_id", "_rule"], kind="stable")
    return out[ALERT_COLUMNS].reset_index(drop=True)


def apply_cooldown(
    alerts: pd.DataFrame,
    history: pd.DataFrame | None,
    snoozes: pd.DataFrame | None,
    as_of: date,
    alerts_config: Alerts,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split alerts into (to_send, suppressed); suppressed rows get a `why`.

    history: alerts sent before (HISTORY_COLUMNS). The same account and rule stay quiet for
    `cooldown_days` after the last one was sent (sent on day X: quiet until X + cooldown_days)
    unless the score has since fallen at least `score_drop` below its value at that alert
    (never, when score_drop is 0) or the band is lower (higher band_rank) than it was.
    snoozes: (account_id, until). Snoozed accounts stay quiet until the snooze ends: every
    alert of the account is held while as_of <= until, the `until` day included.
    """
    day = pd.Timestamp(as_of)
    why = pd.Series(None, index=alerts.index, dtype=object)
    if snoozes is not None and not snoozes.empty:
        until = pd.to_datetime(snoozes["until"]).dt.normalize()
        latest = until.groupby(snoozes["account_id"].astype(str).to_numpy()).max()
        end = alerts["account_id"].astype(str).map(latest)
        snoozed = (end >= day).fillna(False).to_numpy(dtype=bool)
        why[snoozed] = ("snoozed until " + end[snoozed].dt.strftime("%Y-%m-%d")).to_numpy()
    if history is not None and not history.empty and alerts_config.cooldown_days > 0:
        sent = history.assign(
            account_id=history["account_id"].astype(str),
            sent_on=pd.to_datetime(history["sent_on"]).dt.normalize(),
        )
        sent = sent.sort_values("sent_on", kind="stable").drop_duplicates(
            ["account_id", "rule"], keep="last"
        )
        sent = sent.rename(
            columns={"sent_on": "_sent_on", "score_shown": "_score", "band_rank": "_rank"}
        )[["account_id", "rule", "_sent_on", "_score", "_rank"]]
        keys = alerts[["account_id", "rule"]].assign(account_id=alerts["account_id"].astype(str))
        last = keys.merge(sent, on=["account_id", "rule"], how="left")
        quiet = (day - last["_sent_on"]).dt.days < alerts_config.cooldown_days
        score = pd.to_numeric(alerts["score_shown"], errors="coerce").to_numpy(dtype=float)
        drop = alerts_config.score_drop
        fell = (drop > 0) & (score <= last["_score"].astype(float).to_numpy() - drop + _EPS)
        rank = pd.to_numeric(alerts.get("band_rank", np.nan), errors="coerce")
        lower = np.asarray(rank, dtype=float) > last["_rank"].astype(float).to_numpy()
        held = quiet.fillna(False).to_numpy(dtype=bool) & ~fell & ~lower & why.isna().to_numpy()
        n = alerts_config.cooldown_days
        why[held] = (
            "cooldown: same alert sent on "
            + last["_sent_on"][held].dt.strftime("%Y-%m-%d")
            + f" ({n}-day cooldown)"
        ).to_numpy()
    quiet_rows = why.notna().to_numpy()
    to_send = alerts[~quiet_rows].reset_index(drop=True)
    suppressed = alerts[quiet_rows].assign(why=why[quiet_rows]).reset_index(drop=True)
    return to_send, suppressed
