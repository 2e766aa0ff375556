"""Candidate values of signals read in place (a warehouse `table` source), computed by their
backend through the compiled path (`scoring.pushdown`): one `aggregate` call per as-of day
with every candidate of those signals, never a row fetched. The advisor hands in a source
that runs one query per signal (`Placement.aggregate_source(per_signal=True)`).

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
from scoring.validation.candidate_spec import CandidateSpec


def fill_in_place(
    out: np.ndarray,
    in_place: InPlaceSignals,
    specs: Sequence[CandidateSpec],
    accounts: pd.Index,
    as_ofs: Sequence[date],
) -> None:
    """The columns of `out` (as-of days in order, `accounts` within each, one column per spec)
    whose signal is in place, from their source: one call per as-of day for all of them."""
    columns = [j for j, s in enumerate(specs) if s.signal in in_place.signals]
    if not columns:
        return
    asked = [
        AggregateSpec(specs[j].key, specs[j].signal, specs[j].aggregate, specs[j].window_days)
        for j in columns
    ]
    n, ids = len(accounts), accounts.to_numpy(dtype=object)
    for i, as_of in enumerate(as_ofs):
        got = in_place.source.aggregate(asked, ids, as_of).raw
        out[i * n : (i + 1) * n, columns] = np.where(np.isfinite(got), got, np.nan)
