"""Window aggregates, one vectorised function per name (the registry the model file names).

Each function gets the rows of one signal inside one metric's window, as parallel arrays
(`codes`: account position 0..n-1, `days`: day number, `values`), and returns one float per
account: NaN where the account has no value. Count-like aggregates never return NaN.

`aggregate()` is how scoring calls them: it refuses an aggregate that is not a finite number
(an infinite sum, or a window holding a stored NaN/inf), which the engine would otherwise read
as "no data" and fill, e.g. with 0 tickets: the best score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.errors import DataError

Array = np.ndarray


@dataclass(frozen=True)
class Window:
    """The rows of one signal with as_of - window_days < day <= as_of."""

    codes: Array
    days: Array
    values: Array
    n: int
    as_of: int
    window_days: int

    def count(self) -> Array:
        return np.bincount(self.codes, minlength=self.n).astype(float)


def _sum(w: Window) -> Array:
    total = np.bincount(w.codes, weights=w.values, minlength=w.n)
    return np.where(w.count() > 0, total, np.nan)


def _mean(w: Window) -> Array:
    count = w.count()
    total = np.bincount(w.codes, weights=w.values, minlength=w.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _extreme(ufunc: np.ufunc, start: float) -> Callable[[Window], Array]:
    def aggregate(w: Window) -> Array:
        out = np.full(w.n, start)
        ufunc.at(out, w.codes, w.values)
        return np.where(w.count() > 0, out, np.nan)

    return aggregate


def _latest_day(codes: Array, days: Array, n: int) -> Array:
    latest = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, codes, days.astype(np.int64))
    return latest


def _last(w: Window) -> Array:
    latest = _latest_day(w.codes, w.days, w.n)
    on_latest = w.days == latest[w.codes]
    out = np.full(w.n, np.nan)
    out[w.codes[on_latest]] = w.values[on_latest]
    return out


def _trend(w: Window) -> Array:
    """7 x least-squares slope per day: the weekly change, needing two distinct dates."""
    x = (w.days - w.as_of).astype(float)
    y = w.values
    n = w.count()
    sx = np.bincount(w.codes, weights=x, minlength=w.n)
    sy = np.bincount(w.codes, weights=y, minlength=w.n)
    sxx = np.bincount(w.codes, weights=x * x, minlength=w.n)
    sxy = np.bincount(w.codes, weights=x * y, minlength=w.n)
    denom = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * sxy - sx * sy) / denom
    return np.where((n >= 2) & (denom > 0), 7.0 * slope, np.nan)


def _count(w: Window) -> Array:
    return w.count()


def _days_since(w: Window) -> Array:
    positive = w.values > 0
    latest = _latest_day(w.codes[positive], w.days[positive], w.n)
    seen = latest > np.iinfo(np.int64).min
    return np.where(seen, w.as_of - latest, w.window_days).astype(float)


AGGREGATES: dict[str, Callable[[Window], Array]] = {
    "mean": _mean,
    "sum": _sum,
    "min": _extreme(np.fmin, np.inf),
    "max": _extreme(np.fmax, -np.inf),
    "last": _last,
    "count": _count,
    "trend": _trend,
    "days_since": _days_since,
}
ALWAYS_HAS_DATA = frozenset({"count", "days_since"})


def aggregate(spec: AggregateSpec, window: Window, accounts: Sequence[str]) -> Array:
    """`AGGREGATES[spec.aggregate]` over the window; DataError naming the metric and the first
    account whose value is not finite (vectorised: one mask over accounts, one over the rows)."""
    value = AGGREGATES[spec.aggregate](window)
    bad = np.isinf(value)
    if spec.aggregate != "count":  # every other aggregate reads the values themselves
        broken = ~np.isfinite(window.values)
        if broken.any():
            bad |= np.bincount(window.codes[broken], minlength=window.n) > 0
    if bad.any():
        raise not_finite_error(spec, bad, accounts, window.as_of)
    return value


def not_finite_error(
    spec: AggregateSpec, bad: Array, accounts: Sequence[str], as_of: int
) -> DataError:
    """The error for a metric whose aggregate is not a finite number, naming the first account.

    DataError, not OutputCheckFailed: the engine is not at fault, the stored data is (values
    synced before the bounds existed, or written around `healthbot sync`), and a person fixes it
    by correcting the source and syncing again.
    """
    where = np.flatnonzero(bad)
    more = f" (and {len(where) - 1} more)" if len(where) > 1 else ""
    day = np.datetime_as_string(np.datetime64(int(as_of), "D"))
    return DataError(
        f"metric {spec.key!r} ({spec.aggregate} of signal {spec.signal!r} over"
        f" {spec.window_days} days) is not a finite number for account"
        f" {accounts[int(where[0])]!r}{more} as of {day}: its stored values are infinite, NaN"
        " or too large to add up; correct them in the source and run `healthbot sync` again"
    )
