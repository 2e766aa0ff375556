"""A replayed week's metric freshness, computed from the rows the replay already holds as the
weekly run computes it from what its scoring pass read (scoring/decisions/freshness.py): the
alert rules need it to tell a stopped feed from a sliding customer (feed_stale.py), so a
replay that skipped it would alert where the weekly run sends a data notice.

Most weeks no feed has stopped, and a full freshness pass (a sort of every row in the look-back)
costs a 52-week backtest of 10,000 accounts about 20 s. So each week first asks the sorted
windows, per watched signal, for every account's latest day (binary searches and one maximum
per row): only signals with a suspect (silent `stale_days` while the account's other data still
arrives) are then read and judged exactly as the weekly run judges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.decisions.feed_stale import watched_metrics
from scoring.decisions.freshness import metric_freshness
from scoring.engine.signal_table import day_number
from scoring.validation.in_place_history import PlacedPeriods
from scoring.validation.windows import SignalWindows

NONE = np.iinfo(np.int64).min


def week_freshness(
    model: Model,
    windows: SignalWindows,
    as_of: date,
    span: Mapping[str, int],
    placed: PlacedPeriods | None = None,
) -> pd.DataFrame | None:
    """The week's freshness (FRESHNESS_COLUMNS) of the signals that may have stopped, or None
    when `alerts.stale_days` is off or none may have. `span`: the look-back per signal the
    weekly run reads; `placed`: signals read in place, whose freshness their backend computes
    over the same span (then every row signal is judged: the account's other data may be
    there). Without them only the accounts of suspect signals are judged, exactly: an
    account's cadence is its own rows' unless it has one date (see _learns_from_others)."""
    days = model.alerts.stale_days
    if days is None:
        return None
    watched = sorted({model.metrics[k].signal for k in watched_metrics(model)} & set(span))
    if placed is not None:
        after = {s: as_of - timedelta(days=d) for s, d in span.items()}
        theirs = placed.placement.freshness(after, as_of)
        mine = [s for s in watched if s not in placed.placement.signals]
        rows = windows.upto(as_of, {s: span[s] for s in mine}) if mine else None
        return metric_freshness(model, _long(model, rows), as_of, theirs)
    if windows.names == [None]:  # wide: the columns share their rows
        return metric_freshness(model, _long(model, windows.upto(as_of, span)), as_of)
    suspects = _suspects(windows, as_of, span, watched, days)
    if not suspects:
        return None
    parts = []
    for signal, accounts in suspects.items():
        rows = windows.upto(as_of, {signal: span[signal]})
        few = rows[rows["account_id"].isin(windows.account_ids[accounts])]
        # A suspect with one date takes its signal's usual cadence: then ask every account.
        parts.append(rows if _learns_from_others(model, few) else few)
    return metric_freshness(model, pd.concat(parts, ignore_index=True), as_of)


def _suspects(
    windows: SignalWindows, as_of: date, span: Mapping[str, int], watched: list[str], days: int
) -> dict[str, np.ndarray]:
    """Per watched signal, the positions (in windows.account_ids) of accounts it is silent
    for `days` or more while they have other data within `days`; signals without any left out."""
    today = day_number(as_of)
    fresh = windows.last_day(as_of, days) != NONE
    out = {}
    for signal in watched:
        latest = windows.last_day(as_of, {signal: span[signal]})
        found = np.flatnonzero((latest != NONE) & (today - latest >= days) & fresh)
        if len(found):
            out[signal] = found
    return out


def _learns_from_others(model: Model, rows: pd.DataFrame) -> bool:
    """Whether an account among `rows` has a single date of a signal without a declared
    cadence: metric_freshness then takes that signal's median over all accounts."""
    if rows.empty:
        return False
    declared = {n for n, s in model.signals.items() if s.cadence_days}
    dates = rows[~rows["signal"].astype(str).isin(declared)]
    per = dates.groupby(["account_id", "signal"], observed=True)["date"].nunique()
    return bool((per == 1).any())


def _long(model: Model, rows: pd.DataFrame | None) -> pd.DataFrame:
    """account_id, signal, date: a wide frame's cells with a value become rows (only the
    columns of the model's signals; freshness reads nothing else)."""
    if rows is not None and "signal" in rows.columns:
        return rows
    wanted = [] if rows is None else sorted({m.signal for m in model.metrics.values()} & set(rows))
    if rows is None or not wanted:
        return pd.DataFrame({"account_id": [], "signal": [], "date": []})
    melted = rows[["account_id", "date", *wanted]].melt(
        id_vars=["account_id", "date"], var_name="signal", value_name="value"
    )
    return melted[melted["value"].notna()][["account_id", "signal", "date"]]
