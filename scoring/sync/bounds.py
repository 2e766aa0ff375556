"""Plausible values: every number and date of a source within its bounds, or the sync refuses.

A value can be a perfectly good number and still be nonsense: 1e308 tickets (two of them sum to
infinity, which the engine used to read as "no tickets", the best score), a negative ticket
count, negative ARR, a survey dated 1900 or next year. The bounds come from the model file
(`signals:` per signal, `date_limits:`; scoring/config/signal_bounds.py). Every check is a mask
over whole arrays; a refusal names the first offending row in file order, like parse.py's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.config.signal_bounds import DEFAULT_MAX_ABS, SignalBounds, bounds_of
from scoring.sync.accounts import AccountBatch
from scoring.sync.outcomes import OutcomeBatch
from scoring.sync.readers import RawTable
from scoring.sync.signals import SignalBatch


def _day(value: date) -> np.datetime64:
    return np.datetime64(value, "D")


def _first(bad: np.ndarray, pos: np.ndarray) -> int | None:
    """Index of the offending entry that comes first in the file, or None."""
    if not bad.any():
        return None
    where = np.flatnonzero(bad)
    return int(where[np.argmin(pos[where])])


def latest_signal_day(model: Model, today: date) -> date:
    """The sync's today, or the real one if later: a sync for a past day (`sync --today`, or a
    weekly run retried days after its as-of, whose today is as_of + 1) must not refuse data
    that exists by now; only a day still to come is impossible."""
    return max(today, datetime.now(ZoneInfo(model.timezone)).date())


def latest_allowed(model: Model, today: date) -> date:
    """Renewal, churn and outcome dates may lie this far ahead (contracts run for years)."""
    years = model.date_limits.renewal_years_ahead
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years) - timedelta(days=1)


def _ahead(model: Model) -> str:
    years = model.date_limits.renewal_years_ahead
    return f"{years} years after the sync's today, `date_limits.renewal_years_ahead`"


def check_dates(
    raw: RawTable,
    days: np.ndarray,
    pos: np.ndarray,
    column: str,
    earliest: date,
    latest: date,
    after_rule: str,
) -> None:
    """Refuse the first day before `earliest` or after `latest` (NaT: no date, allowed)."""
    days = np.asarray(days, dtype="datetime64[D]")
    numbers = days.view(np.int64)  # day numbers compare several times faster; NaT is int64 min
    early = (numbers < _day(earliest).astype(np.int64)) & ~np.isnat(days)
    late = numbers > _day(latest).astype(np.int64)
    i = _first(early | late, pos)
    if i is None:
        return
    problem = date_problem(
        np.datetime_as_string(days[i]), bool(early[i]), earliest, latest, after_rule
    )
    raise raw.fail(problem, int(pos[i]), column)


def date_problem(shown: str, early: bool, earliest: date, latest: date, after_rule: str) -> str:
    """The words for a date out of `date_limits` (files and tables read in place alike)."""
    if early:
        return f"{shown} is before {earliest} (`date_limits.earliest`)"
    return f"{shown} is after {latest} ({after_rule})"


FUTURE_RULE = "today: a signal cannot be observed in the future"


def check_signals(batch: SignalBatch, model: Model, today: date, combined: bool = False) -> None:
    """Dates not after `today` nor before `date_limits.earliest`; values within each signal's
    bounds (`combined`: the values after `combine: sum`, which can leave them)."""
    if not len(batch):
        return
    if not combined:
        check_dates(
            batch.raw,
            batch.day,
            batch.pos,
            batch.cols.shown("date"),
            model.date_limits.earliest,
            latest_signal_day(model, today),
            FUTURE_RULE,
        )
    bounds = [bounds_of(model.signals, str(name)) for name in batch.signals]
    i = _first(_out_of_bounds(batch.value, batch.sig, bounds), batch.pos)
    if i is None:
        return
    value, name = float(batch.value[i]), str(batch.signals[batch.sig[i]])
    raise batch.raw.fail(
        bound_problem(value, name, bounds[batch.sig[i]], combined),
        int(batch.pos[i]),
        batch.value_column[name],
    )


def bound_problem(value: float, name: str, b: SignalBounds, combined: bool = False) -> str:
    """The words for a value out of its signal's bounds (files and tables read in place)."""
    key = f"`signals.{name}"
    if not np.isfinite(value) or abs(value) > b.max_abs:
        rule = f"beyond ±{b.max_abs:g} ({key}.max_abs` raises the limit)"
    elif b.kind == "count" and (value < 0 or value != np.floor(value)):
        rule = f"not a count ({key}.kind: count`: a whole number ≥ 0)"
    elif b.min is not None and value < b.min:
        rule = f"below the minimum {b.min:g} ({key}.min`)"
    else:
        rule = f"above the maximum {b.max:g} ({key}.max`)"
    after = " (after `combine: sum`)" if combined else ""
    return f"{value:g}{after} is out of bounds for signal {name!r}: {rule}"


def _out_of_bounds(value: np.ndarray, sig: np.ndarray, bounds: list[SignalBounds]) -> np.ndarray:
    """Rows breaking their signal's bounds. Per-signal limits are gathered by signal code only
    when signals differ, and rules only for the signals that declare them: on 9M values the
    common case (nothing declared) is one comparison."""
    limits = np.array([b.max_abs for b in bounds])
    magnitude = np.abs(value)
    bad = magnitude > (limits[0] if (limits == limits[0]).all() else limits[sig])
    low = np.array([-np.inf if b.min is None else b.min for b in bounds])
    high = np.array([np.inf if b.max is None else b.max for b in bounds])
    count = np.array([b.kind == "count" for b in bounds])
    if np.isfinite(low).any() or count.any():
        bad |= value < np.where(count, np.maximum(low, 0), low)[sig]
    if np.isfinite(high).any():
        bad |= value > high[sig]
    if count.any():
        bad |= count[sig] & (value != np.floor(value))
    return bad


def check_accounts(batch: AccountBatch, model: Model, today: date) -> None:
    """ARR is an amount of money a year: finite, ≥ 0 and within the magnitude limit; renewal and
    churn dates within `date_limits`."""
    frame, cols = batch.frame, batch.cols
    if cols.has("arr"):
        arr = frame["arr"].to_numpy(dtype=float)
        negative, huge = arr < 0, np.abs(arr) > DEFAULT_MAX_ABS
        i = _first(negative | huge, batch.pos)
        if i is not None:
            rule = "negative (ARR is ≥ 0)" if negative[i] else f"beyond ±{DEFAULT_MAX_ABS:g}"
            raise batch.raw.fail(f"{arr[i]:g} is {rule}", int(batch.pos[i]), cols.shown("arr"))
    latest = latest_allowed(model, today)
    for field in ("renewal_date", "churned_on"):
        if cols.has(field):
            check_dates(
                batch.raw,
                frame[field].to_numpy(dtype="datetime64[D]"),
                batch.pos,
                cols.shown(field),
                model.date_limits.earliest,
                latest,
                _ahead(model),
            )


def check_outcomes(batch: OutcomeBatch, model: Model, today: date) -> None:
    """Outcome dates within `date_limits` (an outcome may be dated at a future renewal)."""
    frame = batch.frame
    check_dates(
        batch.raw,
        pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[D]"),
        frame["_pos"].to_numpy(),
        batch.cols.shown("date"),
        model.date_limits.earliest,
        latest_allowed(model, today),
        _ahead(model),
    )
