"""The engine's aggregate source backed by a database: the model compiled, run, finished."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.engine.window_aggregates import Aggregated
from scoring.pushdown.compile import Compiler
from scoring.pushdown.results import finish, finish_columns, screen_tripped, signals_seen
from scoring.pushdown.runners import Runner, large_frame
from scoring.pushdown.segment_windows import SegmentPartials, window_frame
from scoring.pushdown.segments import SEGMENT, applies, cuts, partial_specs, segment_query


class SqlSource:
    """Computes every metric's window aggregate where the signals are stored; only one row
    per account crosses into Python."""

    def __init__(self, runner: Runner, table: str = "signals", layout: str = "long") -> None:
        self.runner = runner
        self.table = table
        self.layout = layout

    def _compiler(self, precise: bool = False) -> Compiler:
        table = self.runner.table(self.table)
        return Compiler(table, self.layout, self.runner.dialect, precise)

    def _query(self, specs: Sequence[AggregateSpec], as_of: date):  # noqa: ANN202
        return self._compiler().query(specs, as_of)

    def aggregate(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date
    ) -> Aggregated:
        compiler = self._compiler()
        screen = compiler.screen(specs, as_of)
        if screen is not None and screen_tripped(self.runner.frame(screen)):
            compiler = self._compiler(precise=True)  # find the metric and the account
        frame = self.runner.frame(compiler.query(specs, as_of))
        raw, has = finish(specs, frame, account_ids, as_of)
        seen = signals_seen(specs, frame)
        return Aggregated(raw, has, seen | self._stored({s.signal for s in specs} - seen))

    def aggregate_weeks(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_of: date, weeks: int
    ) -> list[Aggregated] | None:
        """`aggregate` of 7-day specs on as_of and each of the `weeks` weeks before it, in
        that order, from one query (`Compiler.weekly_query`); None where it does not apply."""
        compiler = self._compiler()
        if not specs or not compiler.weekly_apply(specs):
            return None
        screen = compiler.screen(specs, as_of, as_of - timedelta(days=7 * weeks))
        if screen is not None and screen_tripped(self.runner.frame(screen)):
            compiler = self._compiler(precise=True)
        frame = self.runner.frame(compiler.weekly_query(specs, as_of, weeks))
        week = pd.to_numeric(frame["week"]).to_numpy()
        frame = frame.drop(columns="week")
        finished = []
        for k in range(weeks + 1):
            part = frame[week == k]
            finished.append(finish(specs, part, account_ids, as_of - timedelta(days=7 * k)))
        # Every week's `seen` is the signals the table holds (seen in some week, or found
        # outside every window): asked once, not per week (queries must not grow with the
        # accounts, whose number decides whether a quiet week shows a sparse signal).
        seen = signals_seen(specs, frame)
        seen |= self._stored({s.signal for s in specs} - seen)
        return [Aggregated(raw, has, set(seen)) for raw, has in finished]

    def aggregate_days(
        self, specs: Sequence[AggregateSpec], account_ids: np.ndarray, as_ofs: Sequence[date]
    ) -> list[Aggregated] | None:
        """`aggregate` on each of `as_ofs` (in order), from one query over their whole span
        grouped by account and segment between window edges (`scoring.pushdown.segments`);
        None where it does not apply (rows that expire: ask per as-of day)."""
        compiler = self._compiler()
        if not as_ofs or not applies(compiler, specs):
            return None
        first, last = min(as_ofs), max(as_ofs)
        screen = compiler.screen(specs, last, first)
        if screen is not None and screen_tripped(self.runner.frame(screen)):
            compiler = self._compiler(precise=True)
        edges = cuts(specs, as_ofs)
        partials = partial_specs(specs, edges)
        query = segment_query(compiler, partials, edges)
        empty = pd.DataFrame({"account_id": pd.Series(dtype=object), SEGMENT: []})
        frame = empty if query is None else large_frame(self.runner, query)
        grids = SegmentPartials(frame, partials, edges, account_ids)
        seen = signals_seen(partials, frame)
        seen |= self._stored({s.signal for s in specs} - seen)
        out = []
        for as_of in as_ofs:
            columns = window_frame(grids, specs, account_ids, as_of)
            raw, has = finish_columns(specs, columns, account_ids, as_of)
            out.append(Aggregated(raw, has, set(seen)))
        return out

    def _stored(self, signals: set[str]) -> set[str]:
        """Which of `signals` the table holds at all, outside every window too: a signal
        with old rows only is a gap in the data, not a misspelt name."""
        table = self.runner.table(self.table)
        if self.layout == "wide":
            return signals & set(table.columns)
        if not signals:
            return set()
        found = table.filter(table["signal"].isin(sorted(signals)))[["signal"]].distinct()
        return set(self.runner.frame(found)["signal"])
