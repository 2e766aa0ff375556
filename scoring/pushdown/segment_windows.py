"""Per-segment partials (`segments.segment_query`) added up into each as-of day's windows.

Each window (as_of - w, as_of] is the segments lo..hi; its partial results are those of the
one-window query (`Compiler.query`) and go through the same `results.finish`, so the engine's
formulas apply unchanged. Counts and sums add up, min and max take the extreme (min skipping a
NaN, max keeping it: NaN sorts above every number in the databases), `last` is the latest
non-empty segment's, `days_since` the latest positive date of any segment. The trend's sums
are kept relative to each segment's end (x <= 0), so moving them to the as-of day adds whole
numbers: sum x' = sum x + n d, sum x'^2 = sum x^2 + 2 d sum x + n d^2, sum x'y = sum xy + d sum y
with d = segment end - as_of; x and its squares are integers, exact in float64.

Float sums are added segment by segment, never as differences of running totals (which would
carry the rounding of everything before the window into it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.signal_table import day_number
from scoring.pushdown.compile import column_names
from scoring.pushdown.results import day_column, numeric_column
from scoring.pushdown.segments import SEGMENT

# What an empty segment adds: nothing to a sum, no candidate to an extreme or a date.
ABSENT = {"n": 0.0, "v": np.nan, "bad": 0.0, "sx": 0.0, "sy": 0.0, "sxx": 0.0, "sxy": 0.0}
EXTREME_ABSENT = {"min": np.inf, "max": -np.inf, "sum": 0.0}


class SegmentPartials:
    """The query's result as (segment x account) grids, one per partial column."""

    def __init__(
        self,
        frame: pd.DataFrame,
        partials: Sequence[AggregateSpec],
        edges: Sequence[date],
        account_ids: np.ndarray,
    ) -> None:
        self.frame = frame
        self.position = {p.key: j for j, p in enumerate(partials)}
        self.ends = np.array([day_number(e) for e in edges], dtype=np.int64)
        self.edge_at = {e: k for k, e in enumerate(edges)}
        self.shape = (len(edges), len(account_ids))
        codes = _account_codes(frame["account_id"], pd.Index(account_ids, dtype=object))
        keep = codes >= 0  # rows of accounts not asked about are not read
        self.codes = codes[keep]
        ends = pd.to_numeric(frame[SEGMENT]).to_numpy(dtype=np.int64)[keep]
        self.segments = np.searchsorted(self.ends - self.ends[0], ends)
        self.keep = keep
        self.grids: dict[tuple[str, str], np.ndarray] = {}
        self.latest: dict[str, np.ndarray] = {}

    def grid(self, signal: str, kind: str, part: str) -> np.ndarray:
        """Partial `part` of the `kind` aggregate of `signal` per (segment, account); an
        empty segment (or a column the query has not: a wide table without the signal, a
        check it does not make) holds what adds nothing."""
        key = f"{signal} {kind}"
        if (key, part) in self.grids:
            return self.grids[(key, part)]
        name = column_names(self.position[key])[part]
        absent = EXTREME_ABSENT.get(kind, ABSENT[part]) if part == "v" else ABSENT[part]
        out = np.full(self.shape, absent)
        if name in self.frame:
            dated = kind == "days_since" and part == "v"
            values = day_column(self.frame, name) if dated else numeric_column(self.frame, name)
            out[self.segments, self.codes] = values[self.keep]
            if part != "n" and kind not in ("days_since", "last"):
                out[self.count(signal) == 0] = absent  # a group of other signals' rows only
        self.grids[(key, part)] = out
        return out

    def count(self, signal: str) -> np.ndarray:
        return self.grid(signal, "count", "n")

    def latest_segment(self, signal: str) -> np.ndarray:
        """Per (segment k, account): the latest segment up to k with rows, -1 without."""
        if signal not in self.latest:
            rows = self.count(signal) > 0
            marks = np.where(rows, np.arange(self.shape[0])[:, None], -1)
            self.latest[signal] = np.maximum.accumulate(marks, axis=0)
        return self.latest[signal]


def _account_codes(column: pd.Series, ids: pd.Index) -> np.ndarray:
    """Each row's position in `ids` (-1: an account not asked about); a categorical column
    (a large result through Arrow) is looked up once per distinct id."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        found = ids.get_indexer(column.cat.categories.astype(str))
        codes = column.cat.codes.to_numpy()
        return np.where(codes >= 0, found[codes], -1)
    return ids.get_indexer(column.astype(str).to_numpy(dtype=object))


def window_frame(
    partials: SegmentPartials, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date
) -> dict[str, np.ndarray]:
    """`results.finish_columns`' input for `as_of`: per spec its partial results over its
    window, one per account (in `account_ids` order), named as `Compiler.query` names them."""
    columns: dict[str, np.ndarray] = {}
    sums: dict[tuple[str, int, str, str], np.ndarray] = {}
    hi = partials.edge_at[as_of] + 1
    today = day_number(as_of)

    def total(signal: str, lo: int, kind: str, part: str) -> np.ndarray:
        """The sum over segments lo..hi-1 of a partial (cached per window)."""
        key = (signal, lo, kind, part)
        if key not in sums:
            sums[key] = partials.grid(signal, kind, part)[lo:hi].sum(axis=0)
        return sums[key]

    for j, spec in enumerate(specs):
        names, signal = column_names(j), spec.signal
        lo = partials.edge_at[date.fromordinal(as_of.toordinal() - spec.window_days)] + 1
        n = total(signal, lo, "count", "n")
        kind = "sum" if spec.aggregate == "mean" else spec.aggregate
        if kind != "count":
            columns[names["bad"]] = total(signal, lo, kind, "bad")
        if kind in ("count", "trend"):
            columns[names["n"]] = n
        if kind in ("sum", "min", "max"):
            columns[names["v"]] = _extreme(partials, spec, lo, hi, n)
        elif kind == "last":
            latest = partials.latest_segment(signal)[hi - 1]
            grid = partials.grid(signal, "last", "v")
            found = latest >= lo
            picked = grid[np.maximum(latest, 0), np.arange(len(latest))]
            columns[names["v"]] = np.where(found, picked, np.nan)
        elif kind == "days_since":
            grid = partials.grid(signal, "days_since", "v")
            columns[names["v"]] = _as_dates(np.fmax.reduce(grid[lo:hi], axis=0))
        elif kind == "trend":
            columns.update(_trend(partials, spec, names, lo, hi, today))
    return columns


def _extreme(
    partials: SegmentPartials, spec: AggregateSpec, lo: int, hi: int, n: np.ndarray
) -> np.ndarray:
    """sum, mean, min or max over segments lo..hi-1; NaN without rows, as SQL's NULL."""
    kind = "sum" if spec.aggregate == "mean" else spec.aggregate
    part = partials.grid(spec.signal, kind, "v")[lo:hi]
    if kind == "min":
        value = np.fmin.reduce(part, axis=0)
    elif kind == "max":
        value = np.maximum.reduce(part, axis=0)
    else:
        value = part.sum(axis=0)
        if spec.aggregate == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                value = value / n
    return np.where(n > 0, value, np.nan)


def _trend(
    partials: SegmentPartials,
    spec: AggregateSpec,
    names: dict[str, str],
    lo: int,
    hi: int,
    today: int,
) -> dict[str, np.ndarray]:
    """The trend's sums over segments lo..hi-1 with x relative to as_of instead of to each
    segment's end (see the module docstring)."""
    grids = {p: partials.grid(spec.signal, "trend", p) for p in ("n", "sx", "sy", "sxx", "sxy")}
    count, sx, sy, sxx, sxy = (g[lo:hi] for g in grids.values())
    shift = (partials.ends[lo:hi] - today).astype(float)[:, None]
    return {
        names["sx"]: (sx + count * shift).sum(axis=0),
        names["sy"]: sy.sum(axis=0),
        names["sxx"]: (sxx + 2.0 * shift * sx + count * shift * shift).sum(axis=0),
        names["sxy"]: (sxy + shift * sy).sum(axis=0),
    }


def _as_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers (NaN: none) as dates, which `results.finish` reads back."""
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    known = np.isfinite(days)
    out[known] = days[known].astype(np.int64).astype("datetime64[D]")
    return out
