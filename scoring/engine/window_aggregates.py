"""Where the metrics' raw values come from: the reference pass over signal rows in memory, or
any other source (a database computing them in SQL) that returns the same per-account arrays.

Every source's results are rounded to 12 significant digits before scaling: engines add up in
different orders, and the last bits of a sum must not decide a percentile tie or a band.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.aggregates import ALWAYS_HAS_DATA, aggregate
from scoring.engine.signal_table import SignalTable, day_number

SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True)
class Aggregated:
    """Raw value and has-data flag per (account, spec), `fill` applied, and the signals that
    had any row in their windows (to refuse a metric whose signal is absent everywhere)."""

    raw: np.ndarray
    has: np.ndarray
    seen: set[str]


class AggregateSource(Protocol):
    def aggregate(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date
    ) -> Aggregated: ...


def aggregate_weeks(
    source: AggregateSource,
    specs: Sequence[AggregateSpec],
    account_ids: np.ndarray,
    as_of: date,
    weeks: int,
) -> list[Aggregated] | None:
    """7-day specs on as_of and each of the `weeks` weeks before it, in one go where the
    source can (its own `aggregate_weeks`: one GROUP BY account and week); None elsewhere."""
    many = getattr(source, "aggregate_weeks", None)
    return None if many is None else many(specs, account_ids, as_of, weeks)


def aggregate_days(
    source: AggregateSource,
    specs: Sequence[AggregateSpec],
    account_ids: np.ndarray,
    as_ofs: Sequence[date],
) -> list[Aggregated] | None:
    """`aggregate` on each of `as_ofs`, in one go where the source can (its own
    `aggregate_days`: one query over their span, e.g. the advisor's 52 periods); None
    elsewhere (then ask per day)."""
    many = getattr(source, "aggregate_days", None)
    return None if many is None else many(specs, account_ids, as_ofs)


def significant(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round to `digits` significant digits, elementwise; NaN, inf and 0 pass unchanged."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values) & (values != 0)
    magnitude = np.floor(np.log10(np.abs(np.where(finite, values, 1.0))))
    decimals = (digits - 1 - magnitude).astype(int)
    # Split 10**decimals in two so neither factor overflows for tiny or huge magnitudes.
    half = decimals // 2
    scaled = values * 10.0**half * 10.0 ** (decimals - half)
    rounded = np.round(scaled) / 10.0 ** (decimals - half) / 10.0**half
    return np.where(finite & np.isfinite(rounded), rounded, values)


class FrameSource:
    """The reference: signal rows in a DataFrame (long or wide), aggregated with numpy."""

    def __init__(self, signals: pd.DataFrame, layout: str = "long") -> None:
        self.signals = signals
        self.layout = layout

    def aggregate(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date
    ) -> Aggregated:
        table = SignalTable(self.signals, pd.Index(account_ids), self.layout)
        day = day_number(as_of)
        raw = np.full((table.n, len(specs)), np.nan)
        has = np.zeros((table.n, len(specs)), dtype=bool)
        for j, spec in enumerate(specs):
            window = table.window(spec.signal, day, spec.window_days)
            value = aggregate(spec, window, account_ids)
            present = np.isfinite(value)
            if spec.aggregate not in ALWAYS_HAS_DATA:
                present &= window.count() > 0
            if spec.fill is not None:
                value = np.where(present, value, spec.fill)
                present = np.ones_like(present)
            raw[:, j] = np.where(present, value, np.nan)
            has[:, j] = present
        return Aggregated(raw, has, table.names())


class SplitSource:
    """Specs split by signal between sources, their results put back in spec order: a model
    whose signals live in several places (a warehouse table read in place, the rest in
    healthbot's store) is aggregated by each place for its own signals.

    `parts`: (signal names, source), the first naming a signal serves it; `rest` serves every
    other signal (None: those specs have no data)."""

    def __init__(
        self,
        parts: Sequence[tuple[Collection[str], AggregateSource]],
        rest: AggregateSource | None,
    ) -> None:
        self.parts = list(parts)
        self.rest = rest

    def _owner(self, signal: str) -> AggregateSource | None:
        for names, source in self.parts:
            if signal in names:
                return source
        return self.rest

    def _groups(
        self, specs: Sequence[AggregateSpec]
    ) -> dict[int, tuple[AggregateSource, list[int]]]:
        """Per source (by identity), the positions of the specs it serves."""
        groups: dict[int, tuple[AggregateSource, list[int]]] = {}
        for j, spec in enumerate(specs):
            owner = self._owner(spec.signal)
            if owner is not None:
                groups.setdefault(id(owner), (owner, []))[1].append(j)
        return groups

    def aggregate(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date
    ) -> Aggregated:
        raw = np.full((len(account_ids), len(specs)), np.nan)
        has = np.zeros(raw.shape, dtype=bool)
        seen: set[str] = set()
        for source, columns in self._groups(specs).values():
            part = source.aggregate([specs[j] for j in columns], account_ids, as_of)
            raw[:, columns] = part.raw
            has[:, columns] = part.has
            seen |= part.seen
        return Aggregated(raw, has, seen)

    def aggregate_weeks(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date, weeks: int
    ) -> list[Aggregated] | None:
        """`aggregate_weeks` of every part, put back in spec order; None unless all can."""
        return self._many(
            specs,
            account_ids,
            weeks + 1,
            lambda s, part: aggregate_weeks(s, part, account_ids, as_of, weeks),
        )

    def aggregate_days(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_ofs: Sequence[date]
    ) -> list[Aggregated] | None:
        """`aggregate_days` of every part, put back in spec order; None unless all can."""
        return self._many(
            specs,
            account_ids,
            len(as_ofs),
            lambda s, part: aggregate_days(s, part, account_ids, as_ofs),
        )

    def _many(
        self,
        specs: Sequence[AggregateSpec],
        account_ids: np.ndarray,
        count: int,
        ask: Callable[[AggregateSource, list[AggregateSpec]], list[Aggregated] | None],
    ) -> list[Aggregated] | None:
        """`count` results, each part's `ask` put back in spec order; None unless all can."""
        shape = (len(account_ids), len(specs))
        out = [
            Aggregated(np.full(shape, np.nan), np.zeros(shape, dtype=bool), set())
            for _ in range(count)
        ]
        for source, columns in self._groups(specs).values():
            parts = ask(source, [specs[j] for j in columns])
            if parts is None:
                return None
            for whole, part in zip(out, parts, strict=True):
                whole.raw[:, columns] = part.raw
                whole.has[:, columns] = part.has
                whole.seen.update(part.seen)
        return out
