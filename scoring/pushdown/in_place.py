"""Signals read where they are stored: the model's in-place sources (`url` + `table`).

A source with a `table` is never copied into healthbot's database, so everything the weekly
run, `score`, `backtest` and `calibrate` need from it is asked of its backend as aggregates:
the window aggregates through `SqlSource`, and here the few per-account dates the alerts
need (latest date, the usual gap between dates). Only accounts x signals numbers come back.

`Placement` says which of the model's signals each in-place source provides (the first source
that has a signal wins) and hands the engine one source that reads those signals in place
and the rest from the store.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import ibis
import ibis.expr.types as ir
import pandas as pd

from scoring.config import Model
from scoring.config.sources import Source
from scoring.engine.signal_table import day_number
from scoring.engine.window_aggregates import AggregateSource, SplitSource
from scoring.errors import DataError
from scoring.pushdown.connect import runner_for
from scoring.pushdown.runners import Runner, large_frame
from scoring.pushdown.source import SqlSource
from scoring.store.db import first_line
from scoring.store.warehouse import KEYS, long_view, present_signals, read_only, renamed, typed


def connect(url: str) -> Runner:
    """The runner for an in-place source's URL (`scoring.pushdown.connect.runner_for`). A
    DuckDB file is opened read only, so the worker never holds the writer's lock."""
    return runner_for(read_only(url))


class PlacedRunner:
    """A runner whose table is the source's table in healthbot's names and types: `columns:`
    applied, ids as text, dates as dates, values as floats (the store's `renamed` and
    `typed`, as sync validates it: casts only where needed, so a date index still serves
    the window filter)."""

    def __init__(self, runner: Runner, source: Source) -> None:
        self.runner = runner
        self.source = source
        self.dialect = runner.dialect

    def table(self, name: str) -> ir.Table:
        t = self.runner.table(name)
        wide = self.source.layout == "wide"
        needed = [*KEYS, *(self.source.signals or [])] if wide else [*KEYS, "signal", "value"]
        mapped = dict(self.source.columns)
        absent = [c for c in mapped.values() if c not in t.columns]
        absent += [c for c in needed if c not in mapped and c not in t.columns]
        if absent:
            raise DataError(
                f"signals source {self.source.label!r} (read in place): table {name!r} has no"
                f" column {absent[0]} (the columns are: {', '.join(map(str, t.columns))})"
            )
        return typed(renamed(t, self.source), self.source)

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        return self.runner.frame(expr)

    def large_frame(self, expr: ir.Table) -> pd.DataFrame:
        return large_frame(self.runner, expr)


@dataclass
class Placed:
    """One in-place source: its runner (named and typed as healthbot's) and the model signals
    it provides."""

    source: Source
    runner: PlacedRunner
    signals: frozenset[str]

    @property
    def aggregates(self) -> SqlSource:
        return SqlSource(self.runner, self.source.table or "", self.source.layout)

    def rows(
        self,
        after: Mapping[str, date] | None,
        last: date | None,
        only: Collection[str] | None = None,
    ) -> ir.Table:
        """account_id, signal, date of its signals' rows (`only`: of these) up to `last` and,
        per signal, after its day in `after` (None: no bound), long whatever the layout: a
        query, never fetched."""
        names = self.signals if only is None else self.signals & set(only)
        long = long_view(self.runner.table(self.source.table or ""), self.source, names)

        def when(name: str) -> ir.BooleanValue:
            test = long["signal"] == name
            if after is not None and name in after:
                test &= long["date"] > ibis.literal(after[name])
            if last is not None:
                test &= long["date"] <= ibis.literal(last)
            return test

        picked = long.filter(functools.reduce(operator.or_, map(when, sorted(names))))
        return picked.select("account_id", "signal", "date")


@dataclass
class Placement:
    """Which model signals are read in place, and from which source."""

    parts: list[Placed] = field(default_factory=list)

    @property
    def signals(self) -> frozenset[str]:
        return frozenset().union(*(p.signals for p in self.parts))

    def __bool__(self) -> bool:
        return any(p.signals for p in self.parts)

    def source(self, stored: AggregateSource) -> AggregateSource:
        """The engine's source: in-place signals from their backends, the rest from `stored`."""
        if not self:
            return stored
        return SplitSource([(p.signals, p.aggregates) for p in self.parts], stored)

    def aggregate_source(self, per_signal: bool = False) -> AggregateSource:
        """In-place signals only (the alert rules' weekly windows and champion value).
        `per_signal`: one query per signal instead of per source, for many specs of each
        signal (the advisor's ~24 candidates): every row of a query is tested against every
        spec's filter, so 7 signals x 24 specs in one query took 3-4x as long as 7 queries."""
        if not per_signal:
            return SplitSource([(p.signals, p.aggregates) for p in self.parts], None)
        return SplitSource(
            [({s}, p.aggregates) for p in self.parts for s in sorted(p.signals)], None
        )

    def first_day(self) -> int | None:
        """Day number of the earliest row of any in-place signal (where the data starts)."""
        span = self.date_range()
        return None if span is None else day_number(pd.Timestamp(span[0]))

    def date_range(self) -> tuple[date, date] | None:
        """(first, last) date of any in-place signal's rows: one MIN/MAX per source."""
        found = []
        for p in self.parts:
            rows = p.rows(None, None)
            query = rows.aggregate(first=rows["date"].min(), last=rows["date"].max())
            found.append(p.runner.frame(query))
        frame = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
        if not len(frame) or frame["first"].isna().all():
            return None
        first = pd.to_datetime(frame["first"]).min()
        return first.date(), pd.to_datetime(frame["last"]).max().date()

    def latest_dates(self, as_of: date, since: date | None = None) -> pd.Series:
        """Latest date per account of any in-place signal on or before `as_of` (and after
        `since`, when given): one GROUP BY per source."""
        out = []
        for p in self.parts:
            rows = p.rows(None if since is None else dict.fromkeys(p.signals, since), as_of)
            out.append(
                p.runner.frame(rows.group_by("account_id").aggregate(latest=rows["date"].max()))
            )
        if not out:
            return pd.Series(dtype=object)
        frame = pd.concat(out).groupby("account_id")["latest"].max()
        return pd.to_datetime(frame).dt.date

    def freshness(self, after: Mapping[str, date], as_of: date) -> pd.DataFrame:
        """account_id, signal, latest, own, gaps: per account and in-place signal its latest date
        in (after[signal], as_of], the median gap in days between its distinct dates there (NaN
        with one date) and how many such gaps there are — what `metric_freshness` computes from
        rows, computed by the backend.

        One query per source, a branch per signal: its rows only, the gap to the previous row by
        a window partitioned by account alone, and a repeated date's zero gap made NULL, which
        leaves exactly the gaps between distinct dates. So no DISTINCT over the rows and no
        partition by (account, signal) over every signal's rows at once: at 100,000 accounts
        the DISTINCT and the wider window were most of the time (docs/architecture.md)."""
        out = []
        for p in self.parts:
            branches = [_freshness(p, name, after, as_of) for name in sorted(p.signals)]
            query = branches[0] if len(branches) == 1 else ibis.union(*branches, distinct=False)
            out.append(p.runner.frame(query))
        columns = ["account_id", "signal", "latest", "own", "gaps"]
        if not out:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        frame = pd.concat(out, ignore_index=True)
        frame["latest"] = pd.to_datetime(frame["latest"])
        frame["own"] = pd.to_numeric(frame["own"], errors="coerce").astype(float)
        frame["gaps"] = pd.to_numeric(frame["gaps"], errors="coerce").fillna(0).astype(int)
        frame["account_id"] = frame["account_id"].astype(str)
        return frame[columns]


def _freshness(p: Placed, name: str, after: Mapping[str, date], as_of: date) -> ir.Table:
    """account_id, signal, latest, own, gaps for one in-place signal: a query, never fetched
    (`gaps`: how many gaps between distinct dates `own` is the median of)."""
    rows = p.rows(after, as_of, (name,))
    prev = rows["date"].lag().over(group_by="account_id", order_by="date")
    gap = rows["date"].delta(prev, unit="day").cast("float64").nullif(0)
    gaps = rows.mutate(gap=gap)
    per = gaps.group_by("account_id").aggregate(
        latest=gaps["date"].max(), own=gaps["gap"].median(), gaps=gaps["gap"].count()
    )
    return per.select(
        "account_id", signal=ibis.literal(name, "string"), latest="latest", own="own", gaps="gaps"
    )


def place_signals(
    model: Model,
    also: Collection[str] = (),
    connect_to: Callable[[str], Runner] = connect,
    every: bool = False,
) -> Placement:
    """The model's signals (and `also`: an alert rule's) each in-place source provides (first
    source wins), one connection per source; empty without in-place sources. `every`: every
    signal the sources hold, in the model or not (what `calibrate --advise` weighs)."""
    wanted = {m.signal for m in model.metrics.values()} | set(also)
    parts: list[Placed] = []
    taken: set[str] = set()
    for source in model.sources:
        if not source.in_place:
            continue
        runner = PlacedRunner(_reach(connect_to, source), source)
        names = _provided(runner, source, None if every else wanted - taken) - taken
        taken |= names
        if names:
            parts.append(Placed(source, runner, frozenset(names)))
    return Placement(parts)


def _reach(connect_to: Callable[[str], Runner], source: Source) -> Runner:
    """A runner on the source's backend whose table exists, or one line saying which source
    could not be read and why (the driver's words, never the URL: it may hold a password)."""
    url = source.url or ""
    try:
        runner = connect_to(url)
        runner.table(source.table or "")
    except Exception as exc:  # drivers raise their own types; the user needs the one line
        text = first_line(exc)
        password = urlsplit(url).password
        text = text.replace(password, "***") if password else text
        raise DataError(
            f"signals source {source.label!r} (read in place): cannot read table"
            f" {source.table!r}: {text}"
        ) from None
    return runner


def _provided(runner: PlacedRunner, source: Source, wanted: set[str] | None) -> set[str]:
    """Which of `wanted` the source holds: its declared `signals` (trusted: sync checks
    them), else what the store's `present_signals` finds on this connection. `wanted` None:
    every signal it holds, looked up even when declared (a declared signal without rows
    is no candidate for the advisor)."""
    if wanted is not None and not wanted:
        return set()
    if wanted is not None and source.signals is not None:
        return wanted & set(source.signals)
    found = present_signals(
        runner.table(source.table or ""), source, source.signals or wanted or ()
    )
    return found if wanted is None else found & wanted
