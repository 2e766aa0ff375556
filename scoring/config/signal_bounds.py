"""Schema of what a plausible value is: per-signal bounds (`signals:`) and the date limits
(`date_limits:`) that sync holds every row to.

A value that is finite but absurd (1e308 tickets, a negative ticket count, a survey dated 1900)
used to pass sync and then quietly decide a score; these bounds are what sync refuses instead.
Undeclared signals still get the magnitude limit, and nothing more: changes and deltas are
legitimately negative, so a sign rule has to be declared.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from scoring.config.metrics import Strict

DEFAULT_MAX_ABS = 1e12
# Above this, sums and trends over a window of values could overflow to infinity in the engine;
# no real signal needs more.
HIGHEST_MAX_ABS = 1e100


class SignalBounds(Strict):
    """Bounds of one signal's values; every value must also satisfy |x| ≤ max_abs."""

    kind: Literal["number", "count"] = "number"
    min: float | None = None
    max: float | None = None
    max_abs: float = DEFAULT_MAX_ABS
    # Days between two values the source normally sends (a monthly survey: 30); None: learned
    # from the gaps between the account's past values (scoring/decisions/freshness.py).
    cadence_days: float | None = Field(default=None, gt=0, le=3660)

    @model_validator(mode="after")
    def _consistent(self) -> SignalBounds:
        if not 0 < self.max_abs <= HIGHEST_MAX_ABS:  # also refuses NaN
            raise ValueError(
                f"`max_abs` must be above 0 and at most {HIGHEST_MAX_ABS:g}, got {self.max_abs:g}"
            )
        for name in ("min", "max"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"`{name}` must be a finite number, got {value}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min:g}) is above `max` ({self.max:g})")
        if self.kind == "count" and self.min is not None and self.min < 0:
            raise ValueError(f"`kind: count` is never negative, so `min` ({self.min:g}) < 0")
        return self

    def rules(self) -> list[str]:
        """The bounds as a user reads them in a refusal, e.g. `a count: a whole number ≥ 0`."""
        out = ["a whole number ≥ 0"] if self.kind == "count" else []
        if self.min is not None:
            out.append(f"≥ {self.min:g}")
        if self.max is not None:
            out.append(f"≤ {self.max:g}")
        return out


UNDECLARED = SignalBounds()


class DateLimits(Strict):
    """How far back and ahead a date in a source may lie."""

    earliest: date = date(2000, 1, 1)
    renewal_years_ahead: int = Field(default=10, ge=1, le=100)


def bounds_of(signals: dict[str, SignalBounds], name: str) -> SignalBounds:
    return signals.get(name, UNDECLARED)


# The generated reference's entries for these sections (scoring/config/reference.py merges them).
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "signals": (
        "Bounds of each signal's values, by signal name; sync refuses a row outside them."
        " Undeclared signals accept any value within ±1e12 (changes may be negative).",
        "{tickets: {kind: count}, nps: {min: 0, max: 10}}",
    ),
    "signals.<name>.kind": (
        "number, or count: a whole number ≥ 0 (negative or fractional values are refused).",
        "count",
    ),
    "signals.<name>.min": ("Lowest accepted value.", "-100"),
    "signals.<name>.max": ("Highest accepted value.", "100"),
    "signals.<name>.max_abs": ("Largest accepted |value| (at most 1e100).", "1e15"),
    "signals.<name>.cadence_days": (
        "Days between two values the source normally sends (a monthly survey: 30). The card"
        " calls the signal stale once its latest value is 1.5 × this old. Unset: learned from"
        " the median gap between the account's past values in the metric's window.",
        "30",
    ),
    "date_limits": (
        "How far back and ahead a source's dates may lie. Signal dates never after the"
        " sync's today.",
        "{earliest: 2010-01-01}",
    ),
    "date_limits.earliest": ("No date in any source before this day.", "2010-01-01"),
    "date_limits.renewal_years_ahead": (
        "Renewal, churn and outcome dates at most this many years after the sync's today.",
        "10",
    ),
}
