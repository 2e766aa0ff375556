"""Candidate metrics for the advisor: every aggregate of every signal over a few windows, for
every account and as-of day, behind ONE function (`candidate_frame`).

Nothing else in the advisor knows how these numbers were computed, so the in-memory path here
(the engine's SignalTable and AGGREGATES, the same functions that score) can be swapped for a
compiled one (SQL pushdown) without touching the search. Each signal's rows are cut out of one
SignalTable once and sorted by day; every (as-of day, window) is then a contiguous slice found
by binary search, handed to the aggregate as the engine's own `Window`. Signals whose rows
expire (`valid_until`, e.g. CSM inputs) are read through `SignalTable.window` per day instead,
which applies the expiry as the engine does. Signals read in place (a warehouse `table`, never
copied) are aggregated by their backend instead, one `aggregate` call per as-of day
(placed_candidates.py); they fill the same matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from scoring.decisions.placed_history import InPlaceSignals
from scoring.engine.aggregates import AGGREGATES, Window
from scoring.engine.signal_table import SignalTable, day_number
from scoring.validation.candidate_spec import CandidateSpec
from scoring.validation.placed_candidates import fill_in_place


def candidate_specs(
    signals: Iterable[str], windows: Sequence[int], aggregates: Iterable[str] | None = None
) -> list[CandidateSpec]:
    """Every (signal, aggregate, window), in a stable order."""
    names = sorted(AGGREGATES) if aggregates is None else list(aggregates)
    return [
        CandidateSpec(s, a, w) for s in sorted(set(signals)) for a in names for w in sorted(windows)
    ]


def candidate_frame(
    signals: pd.DataFrame,
    accounts: pd.Index,
    as_ofs: list[date],
    specs: Sequence[CandidateSpec],
    in_place: InPlaceSignals | None = None,
) -> pd.DataFrame:
    """Raw candidate values (float32; NaN = no value), one row per (as_of, account_id), as-of
    days in order and accounts in `accounts` order within each, one column per spec key.

    `signals`: long layout (account_id, signal, date, value[, valid_until]), dated up to the
    last as-of day; rows after an as-of day never reach that day's values. `in_place`: the
    signals read in place and the source that aggregates them (their rows in `signals`, if
    any, are not read).
    """
    accounts = pd.Index(accounts.astype(str))
    n, days = len(accounts), [day_number(d) for d in as_ofs]
    out = np.full((len(days) * n, len(specs)), np.nan, dtype=np.float32)
    table = SignalTable(signals, accounts, "long")
    expiring = _expiring(signals)
    by_signal: dict[str, list[int]] = {}
    for j, spec in enumerate(specs):
        by_signal.setdefault(spec.signal, []).append(j)
    placed = frozenset() if in_place is None else in_place.signals
    if in_place is not None:
        fill_in_place(out, in_place, specs, accounts, as_ofs)
    for signal, columns in by_signal.items():
        if signal in placed:
            continue
        longest = max(specs[j].window_days for j in columns)
        if signal in expiring:
            windows = (table.window(signal, d, longest) for d in days)
            _fill_each(out, windows, columns, specs, days, n)
            continue
        span = days[-1] - days[0] + longest if days else 0
        rows = table.window(signal, days[-1] if days else 0, span)
        order = np.argsort(rows.days, kind="stable")
        codes, day_of, values = rows.codes[order], rows.days[order], rows.values[order]
        for i, day in enumerate(days):
            hi = int(np.searchsorted(day_of, day, side="right"))
            for j in columns:
                spec = specs[j]
                lo = int(np.searchsorted(day_of, day - spec.window_days, side="right"))
                part = slice(lo, hi)
                window = Window(codes[part], day_of[part], values[part], n, day, spec.window_days)
                out[i * n : (i + 1) * n, j] = _finite(AGGREGATES[spec.aggregate](window))
    index = pd.MultiIndex.from_product(
        [pd.to_datetime(pd.Series(as_ofs)).to_numpy(), accounts], names=["as_of", "account_id"]
    )
    return pd.DataFrame(out, index=index, columns=[s.key for s in specs])


def _expiring(signals: pd.DataFrame) -> set[str]:
    """Signals with at least one row that expires (`valid_until` set)."""
    if "valid_until" not in signals:
        return set()
    has = signals["valid_until"].notna().to_numpy()
    return {str(s) for s in pd.unique(signals["signal"].to_numpy()[has])}


def _fill_each(
    out: np.ndarray,
    windows: Iterable[Window],
    columns: list[int],
    specs: Sequence[CandidateSpec],
    days: list[int],
    n: int,
) -> None:
    """Per-day windows of an expiring signal, cut down to each spec's own window."""
    for i, (day, rows) in enumerate(zip(days, windows, strict=True)):
        for j in columns:
            spec = specs[j]
            keep = rows.days > day - spec.window_days
            window = Window(
                rows.codes[keep], rows.days[keep], rows.values[keep], n, day, spec.window_days
            )
            out[i * n : (i + 1) * n, j] = _finite(AGGREGATES[spec.aggregate](window))


def _finite(values: np.ndarray) -> np.ndarray:
    """An infinite aggregate (an overflowing sum) is no usable value for a candidate."""
    return np.where(np.isfinite(values), values, np.nan)
