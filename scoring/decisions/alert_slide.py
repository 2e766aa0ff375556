"""A continuing slide is one piece of news: it re-alerts only when it got materially worse.

The cooldown (`alert_cooldown`) keeps the same rule quiet for `cooldown_days`; a slider is
still sliding when that runs out, and re-alerting it by the same rule every fortnight tells
its owner nothing new while crowding out accounts they have not heard about. So an account
shown a health alert in the last `alerts.realert.within_days` is held, whatever slide rule
fires, unless since the alert it was last shown its score fell `worse_by` points more or the
band_downgrade rule takes it below the band it had then. What was shown is read from the
same history as the cooldown (`alert_shown` in the weekly run, the replay's delivered alerts
in backtest and check --history), so every path decides alike. champion_left is an event,
not a slide, and keeps only its cooldown.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config.sections import Realert
from scoring.decisions.alert_schema import EPS
from scoring.decisions.alert_words import ARROW, band_words, number_text

# The health rules that measure a slide (champion_left is an event of its own).
SLIDE_RULES = ("score_drop", "band_downgrade", "metric_drop")


def last_shown_slide(history: pd.DataFrame | None, as_of: date, within_days: int) -> pd.DataFrame:
    """Per account, the latest slide alert shown in the `within_days` before `as_of`
    (index account_id; columns sent_on, score, rank). Empty without such history."""
    empty = pd.DataFrame(columns=["sent_on", "score", "rank"])
    if history is None or history.empty:
        return empty
    day = pd.Timestamp(as_of)
    sent = pd.to_datetime(history["sent_on"]).dt.normalize()
    age = (day - sent).dt.days
    keep = (history["rule"].isin(SLIDE_RULES) & (age > 0) & (age < within_days)).to_numpy()
    if not keep.any():
        return empty
    shown = pd.DataFrame(
        {
            "account_id": history["account_id"].astype(str).to_numpy()[keep],
            "sent_on": sent.to_numpy()[keep],
            "score": pd.to_numeric(history["score_shown"], errors="coerce").to_numpy()[keep],
            "rank": pd.to_numeric(history["band_rank"], errors="coerce").to_numpy()[keep],
        }
    )
    shown = shown.sort_values("sent_on", kind="stable").drop_duplicates("account_id", keep="last")
    return shown.set_index("account_id")


def recovered_since(ref: pd.DataFrame, as_of: date, recent: pd.DataFrame | None) -> pd.Series:
    """Per account of `ref`, whether a run after its alert scored above the score at the
    alert: the slide it was told about ended, so a new fall is a new slide. `recent`: shown
    scores of the runs before this one (band_hysteresis.RECENT_COLUMNS); runs it does not
    hold are not known to have recovered."""
    if recent is None or recent.empty:
        return pd.Series(False, index=ref.index)
    runs_back = ((pd.Timestamp(as_of) - ref["sent_on"]).dt.days // 7).rename("_back")
    since = recent.assign(account_id=recent["account_id"].astype(str)).merge(
        runs_back, left_on="account_id", right_index=True
    )
    since = since[since["runs_ago"] < since["_back"]]
    best = pd.to_numeric(since["score_shown"], errors="coerce").groupby(since["account_id"]).max()
    rose = best.reindex(ref.index).to_numpy(dtype=float) > ref["score"].to_numpy(float) + EPS
    return pd.Series(rose, index=ref.index)


def _runs_before(alerts: pd.DataFrame, recent: pd.DataFrame | None) -> pd.DataFrame | None:
    """The runs before this one: last week's score from the alerts' own comparison
    (`previous_score`), the older ones from `recent` (the weekly run reads those from the
    second week back, a replay holds last week too: both end up alike)."""
    if "previous_score" not in alerts:
        return recent
    last = pd.DataFrame(
        {
            "account_id": alerts["account_id"].astype(str),
            "runs_ago": 1,
            "score_shown": pd.to_numeric(alerts["previous_score"], errors="coerce"),
        }
    ).drop_duplicates("account_id")
    if recent is None or recent.empty:
        return last
    return pd.concat([recent[recent["runs_ago"] >= 2], last], ignore_index=True)


def judge_slides(
    alerts: pd.DataFrame,
    history: pd.DataFrame | None,
    as_of: date,
    config: Realert | None,
    recent: pd.DataFrame | None = None,
) -> tuple[pd.Series, pd.Series]:
    """(why, note) per alert row: `why` holds a slide alert of an account already told about
    a slide that is not materially worse; `note` says, on the account's first slide alert
    that does go out again, what got worse since ("Still sliding …"). Both None elsewhere.
    An account whose score rose above its score at the alert since (`recovered_since`) is on
    a new slide: neither held nor noted."""
    why = pd.Series(None, index=alerts.index, dtype=object)
    note = pd.Series(None, index=alerts.index, dtype=object)
    if config is None or alerts.empty:
        return why, note
    ref = last_shown_slide(history, as_of, config.within_days)
    if ref.empty:
        return why, note
    ref = ref[~recovered_since(ref, as_of, _runs_before(alerts, recent)).to_numpy()]
    ids = alerts["account_id"].astype(str)
    slide = alerts["rule"].isin(SLIDE_RULES).to_numpy() & ids.isin(ref.index).to_numpy()
    if not slide.any():
        return why, note
    then = ref.reindex(ids.to_numpy())
    score = pd.to_numeric(alerts["score_shown"], errors="coerce").to_numpy(dtype=float)
    rank = pd.to_numeric(alerts["band_rank"], errors="coerce").to_numpy(dtype=float)
    then_score, then_rank = then["score"].to_numpy(dtype=float), then["rank"].to_numpy(dtype=float)
    fell = score <= then_score - config.worse_by + EPS
    # A lower band counts when the band_downgrade rule (with its hysteresis) says so.
    downgraded = (alerts["rule"] == "band_downgrade").to_numpy() & (rank > then_rank)
    worse = pd.Series(fell | downgraded).groupby(ids.to_numpy()).transform("any").to_numpy()
    when = pd.Series(then["sent_on"].to_numpy(), index=alerts.index).dt.strftime("%Y-%m-%d")
    moved = (
        " (score "
        + number_text(pd.Series(then_score, index=alerts.index), 1)
        + f" {ARROW} "
        + number_text(pd.Series(score, index=alerts.index), 1)
    )
    held = slide & ~worse
    why[held] = (
        "still the slide alerted on "
        + when[held]
        + moved[held]
        + f", not {number_text(pd.Series([config.worse_by]), 1).iloc[0]} points lower"
        + " nor a lower band)"
    ).to_numpy()
    band_now = np.where(
        pd.Series(downgraded).groupby(ids.to_numpy()).transform("any").to_numpy(),
        ", now " + band_words(alerts.get("band", pd.Series("", index=alerts.index))),
        "",
    )
    again = slide & worse
    first = again & ~pd.Series(again).groupby(ids.to_numpy()).cumsum().gt(1).to_numpy()
    note[first] = (
        "Still sliding since the alert of " + when[first] + moved[first] + ")" + band_now[first]
    ).to_numpy()
    return why, note
