"""The words of an alert's `reason`: an alert interrupts a CSM, so it says why in words.

Everything here works on whole columns (one string operation per part, never a loop over
rows), so that wording a large portfolio's alerts stays cheap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.alert_schema import EPS

MINUS, ARROW = "\u2212", "\u2192"


def number_text(values: pd.Series, decimals: int, keep_zero: bool = False) -> pd.Series:
    """Numbers as users read them: half-up, real minus sign; a bare '.0' is dropped from
    scores ('81', '81.3') but kept on raw values (`keep_zero`: '31.0 → 18.0')."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    scale = 10.0**decimals
    x = np.sign(x) * np.floor(np.abs(x) * scale + 0.5 + EPS) / scale
    out = pd.Series(np.char.mod(f"%.{decimals}f", x + 0.0), index=values.index)
    if decimals and not keep_zero:
        out = out.str.replace(r"\.0$", "", regex=True)
    return out.str.replace("-", MINUS, regex=False).str.replace(f"^{MINUS}0$", "0", regex=True)


def join_text(*parts: pd.Series | np.ndarray | str) -> pd.Series:
    """Concatenate strings and string Series element-wise (a loop over parts, not rows)."""
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return pd.Series(out)


def joined_per_key(words: pd.Series, keys: pd.Series | np.ndarray, sep: str) -> pd.Series:
    """`words` joined by `sep` per key, in row order, as a Series by key: one column per
    place within a key (a handful: an account's metrics) joined column-wise, so the loop runs
    over places, never over the tens of thousands of accounts a `groupby(...).agg(join)` visits
    in Python."""
    keys = np.asarray(keys, dtype=object)
    if not len(keys):
        return pd.Series(dtype=object)
    place = pd.Series(keys).groupby(keys, sort=False).cumcount().to_numpy()
    frame = pd.DataFrame({"key": keys, "place": place, "words": words.to_numpy(dtype=object)})
    wide = frame.pivot(index="key", columns="place", values="words")
    out = wide[0].astype(object)
    for column in wide.columns[1:]:
        more = wide[column]
        out = out.where(more.isna(), out + sep + more.fillna(""))
    out.index.name = None
    return out.rename(None)


def band_words(band: pd.Series) -> pd.Series:
    """'at_risk' → 'at risk': band keys as a sentence reads them."""
    return band.astype(str).str.replace("_", " ", regex=False)


def renewal_words(days: pd.Series, when: pd.Series) -> pd.Series:
    """'in 45 days (2027-01-05)', 'in 1 day (…)', 'today (…)'."""
    count = number_text(days, 0)
    phrase = np.select([days == 0, days == 1], ["today", "in 1 day"], "in " + count + " days")
    return pd.Series(phrase, index=days.index) + " (" + when.dt.strftime("%Y-%m-%d") + ")"


def band_downgrade_words(
    left: pd.Series, band: pd.Series, threshold: np.ndarray, confirmed_runs: np.ndarray
) -> pd.Series:
    """'Band healthy → at risk', and when only the confirmation fired (a slow slide, not a
    clear fall) how long it has stayed below: '… (below 80 for 2 runs)'."""
    words = "Band " + band_words(left) + f" {ARROW} " + band_words(band)
    floor = number_text(pd.Series(threshold, index=band.index), 1)
    runs = pd.Series(confirmed_runs, index=band.index).astype(int).astype(str)
    note = " (below " + floor + " for " + runs + " runs)"
    return words + pd.Series(np.where(confirmed_runs > 0, note, ""), index=band.index)


def segment_note(shift: pd.Series) -> pd.Series:
    """'; its segment moved −4' when the account's change was judged against a segment-wide
    dip of at least half a point (a whole point rounds to something worth saying)."""
    shown = shift <= -0.5
    return pd.Series(
        np.where(shown, "; its segment moved " + number_text(shift, 1), ""), index=shift.index
    )


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
    words = words + " " + number_text(falling["delta_points"], 0)
    return joined_per_key(words, falling["account_id"].astype(str), ", ")


# What a metric's raw value is, after "from a usual 40 to 12", per aggregate ("" for none).
WINDOW_WORDS = {
    "sum": " (last {days} days)",
    "count": " (last {days} days)",
    "mean": " ({days}-day average)",
    "min": " ({days}-day low)",
    "max": " ({days}-day high)",
}
# A segment's common move is worth mentioning from this size on (in percent).
SEGMENT_WORTH_SAYING = 10


def metric_drop_reasons(model: Model, drops: pd.DataFrame) -> pd.Series:
    """Reason per account_id, as what happened: 'Support tickets rose from a usual 1 to 6
    (last 90 days)'; the segment's own move when it was big ('… while its segment fell 30%').
    Several metrics: biggest move first, joined by '; '."""
    drops = drops.assign(
        account_id=drops["account_id"].astype(str), _size=-drops["change_percent"].abs()
    )
    drops = drops.sort_values(["account_id", "_size"], kind="stable")
    metrics = model.metrics
    label = drops["metric"].map({k: m.label or k for k, m in metrics.items()})
    days = drops["metric"].map({k: m.window_days for k, m in metrics.items()})
    if "window_days" in drops:  # judged on a shorter window than the metric's own
        days = drops["window_days"].where(drops["window_days"].notna(), days)
    aggregate = drops["metric"].map({k: m.aggregate for k, m in metrics.items()})
    day_text = pd.Series(number_text(days, 0).to_numpy(dtype=object), index=drops.index)
    window = pd.Series("", index=drops.index, dtype=object)
    for kind, template in WINDOW_WORDS.items():  # a loop over aggregates, not rows
        before, _, after = template.partition("{days}")
        chosen = (aggregate == kind).to_numpy() & days.notna().to_numpy()
        window[chosen] = before + day_text[chosen] + after
    way = np.where(drops["raw"] < drops["usual"], " fell", " rose")
    segment = drops["segment_percent"].fillna(0.0)
    segment_way = np.where(segment < 0, " fell ", " rose ")
    segment_words = np.where(
        segment.abs().round(6) >= SEGMENT_WORTH_SAYING,
        "; its segment" + segment_way + number_text(segment.abs(), 0) + "% this week",
        "",
    )
    words = join_text(
        label,
        way,
        " from a usual ",
        number_text(drops["usual"], 1),
        " to ",
        number_text(drops["raw"], 1),
        window.fillna(""),
        segment_words,
    )
    return joined_per_key(words, drops["account_id"], "; ")
