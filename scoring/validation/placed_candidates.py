"""Candidate values of signals read in place (a warehouse `table` source), computed by their
backend through the compiled path (`scoring.pushdown`), never a row fetched: per signal ONE
query for every as-of day (`aggregate_days`: the rows of the whole span grouped by account and
segment between window edges, added up into each day's windows in numpy;
`scoring.pushdown.segments`). The advisor's 52 weekly periods asked one query per signal and
day (364 queries for 7 signals, ~5 s each at 10,000 accounts) read each row of a 90-day window
13 times; one query per signal takes 2.5-3 s there. A source that cannot answer many days at once
(rows that expire, `valid_until`, are valid or not depending on the day) is asked per day.

Signals are asked one at a time (the placement's source holds a query per signal, and a
signal's 52 days x accounts x 24 candidates stay a few hundred MB at 10,000 accounts).

An aggregate that is not a finite number (a stored NaN or infinity, an overflowing sum) is
refused there in one line naming the candidate, as scoring refuses it, where the in-memory
path turns it into "no value"; sync's bounds keep such values out of a validated table.

`Aggregated.raw` already means what `candidate_frame`'s matrix means (no `fill` is asked for):
NaN without a value (mean, min, max, last, sum over no rows, trend without two distinct
dates), a count of 0 over no rows, `days_since` = the window without a positive row; these are
the engine's own formulas applied to sums the database added up (`scoring.pushdown.results`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from scoring.decisions.placed_history import InPlaceSignals
from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.window_aggregates import aggregate_days
from scoring.validation.candidate_spec import CandidateSpec


def fill_in_place(
    out: np.ndarray,
    in_place: InPlaceSignals,
    specs: Sequence[CandidateSpec],
    accounts: pd.Index,
    as_ofs: Sequence[date],
) -> None:
    """The columns of `out` (as-of days in order, `accounts` within each, one column per spec)
    whose signal is in place, from their source: every as-of day at once, signal by signal
    (one call per as-of day where the source cannot)."""
    n, ids = len(accounts), accounts.to_numpy(dtype=object)
    for signal in sorted(in_place.signals):
        columns = [j for j, s in enumerate(specs) if s.signal == signal]
        if not columns:
            continue
        asked = [
            AggregateSpec(specs[j].key, signal, specs[j].aggregate, specs[j].window_days)
            for j in columns
        ]
        days = aggregate_days(in_place.source, asked, ids, as_ofs)
        for i, as_of in enumerate(as_ofs):
            got = in_place.source.aggregate(asked, ids, as_of) if days is None else days[i]
            out[i * n : (i + 1) * n, columns] = np.where(np.isfinite(got.raw), got.raw, np.nan)
