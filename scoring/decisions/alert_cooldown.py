"""The cooldown and snooze filter that keeps alerts from nagging.

The rules (`alerts.decide_alerts`) say what fired this week; this filter says what is worth
sending again: an alert a CSM already has, or one for an account they snoozed, is held back
with a `why`, so the run can still show what was suppressed and for what reason.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config.sections import Alerts
from scoring.decisions.alert_schema import EPS
from scoring.decisions.alert_slide import judge_slides


def apply_cooldown(
    alerts: pd.DataFrame,
    history: pd.DataFrame | None,
    snoozes: pd.DataFrame | None,
    as_of: date,
    alerts_config: Alerts,
    recent: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split alerts into (to_send, suppressed); suppressed rows get a `why`.

    history: alerts sent before (HISTORY_COLUMNS). The same account and rule stay quiet for
    `cooldown_days` after the last one was sent (sent on day X: quiet until X + cooldown_days)
    unless the score has since fallen at least `score_drop` below its value at that alert
    (never, when score_drop is 0) or the band is lower (higher band_rank) than it was.
    Past the cooldown, a continuing slide stays quiet unless materially worse since the alert
    last shown (`alerts.realert`, alert_slide.judge_slides); when it does go out again, its
    first slide alert's reason starts with what got worse ("Still sliding since …"). `recent`:
    shown scores of the runs before (band_hysteresis.RECENT_COLUMNS), to tell a slide that
    recovered since its alert (a new slide) from one still going.
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
        fell = (drop > 0) & (score <= last["_score"].astype(float).to_numpy() - drop + EPS)
        rank = pd.to_numeric(alerts.get("band_rank", np.nan), errors="coerce")
        lower = np.asarray(rank, dtype=float) > last["_rank"].astype(float).to_numpy()
        held = quiet.fillna(False).to_numpy(dtype=bool) & ~fell & ~lower & why.isna().to_numpy()
        n = alerts_config.cooldown_days
        why[held] = (
            "cooldown: same alert sent on "
            + last["_sent_on"][held].dt.strftime("%Y-%m-%d")
            + f" ({n}-day cooldown)"
        ).to_numpy()
    open_ = why.isna().to_numpy()
    slide_why, note = judge_slides(alerts[open_], history, as_of, alerts_config.realert, recent)
    why[open_] = why[open_].where(slide_why.isna(), slide_why)
    quiet_rows = why.notna().to_numpy()
    noted = note.reindex(alerts.index)
    reason = alerts["reason"].where(noted.isna(), noted + ". " + alerts["reason"].astype(str))
    alerts = alerts.assign(reason=reason)
    to_send = alerts[~quiet_rows].reset_index(drop=True)
    suppressed = alerts[quiet_rows].assign(why=why[quiet_rows]).reset_index(drop=True)
    return to_send, suppressed
