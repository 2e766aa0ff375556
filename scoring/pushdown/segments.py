"""Window aggregates on many as-of days from ONE query: a GROUP BY (account, segment).

The as-of days and their windows cut the time line at edges (every as_of, every as_of - window):
between two neighbouring edges lies a segment, and every window (as_of - w, as_of] is a run of
whole segments. So the rows of the whole span are read once, grouped by account and segment,
and the compiler's own aggregates (`Compiler.aggregates`, over the whole segment) give each
segment's partials: count, sum, min, max, last, the latest positive date (`days_since`) and
the trend's sums with x relative to the segment's end. `segment_windows` adds them up into each
window with the engine's formulas. Asked one query per as-of day instead, the advisor's 52
weekly periods read every row of a 90-day window 13 times and paid a query's fixed cost 52
times per signal (10,000 accounts: 4.7-6 s a query on a loaded machine, 364 queries).

Weekly as-of days with 7, 30 and 90-day windows make three segments a week, so the result is
about accounts x 3 x weeks rows per signal: partial sums, never the signal's rows.

Rows that expire (`valid_until`, healthbot's own CSM inputs) are valid or not depending on the
as-of day, not on the row's segment: `applies` says no and the caller asks per as-of day.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from scoring.engine.aggregate_specs import AggregateSpec
from scoring.pushdown.compile import DAY_X, Compiler, day_delta

SEGMENT = "healthbot_segment"
DAY = "healthbot_day"
# The partial aggregates each asked aggregate is added up from (`count` for every signal: it
# tells an empty segment from one whose sum is 0, and finds the latest non-empty segment).
NEEDS: dict[str, tuple[str, ...]] = {
    "count": (),
    "sum": ("sum",),
    "mean": ("sum",),
    "min": ("min",),
    "max": ("max",),
    "last": ("last",),
    "days_since": ("days_since",),
    "trend": ("trend",),
}


def applies(compiler: Compiler, specs: Sequence[AggregateSpec]) -> bool:
    """Whether segments answer `specs`: aggregates it knows, rows without an expiry."""
    return bool(specs) and not compiler.valid_until and all(s.aggregate in NEEDS for s in specs)


def cuts(specs: Sequence[AggregateSpec], as_ofs: Sequence[date]) -> list[date]:
    """The edges, in order: every as_of and as_of - window of every spec's window."""
    windows = {0, *(s.window_days for s in specs)}
    return sorted({a - timedelta(days=w) for a in as_ofs for w in windows})


def partial_specs(specs: Sequence[AggregateSpec], edges: Sequence[date]) -> list[AggregateSpec]:
    """The partials the query computes per (account, segment), keyed "signal kind": `count`
    of every signal asked, and each kind its aggregates need (`NEEDS`). Their window is the
    whole span, so the compiler tests no date per aggregate (the query already cut them)."""
    span = max((edges[-1] - edges[0]).days, 1)
    out: dict[str, AggregateSpec] = {}
    for spec in specs:
        for kind in ("count", *NEEDS[spec.aggregate]):
            key = f"{spec.signal} {kind}"
            out.setdefault(key, AggregateSpec(key, spec.signal, kind, span))
    return list(out.values())


def segment_end(day: ir.IntegerValue, ends: Sequence[int]) -> ir.IntegerValue:
    """The first of `ends` (sorted) on or after `day`: a binary search written as nested
    CASEs, log2(len(ends)) tests a row, the same SQL on every backend (a lookup table would
    be a memtable, which a runner that sends SQL text cannot send along)."""
    if len(ends) == 1:
        return ibis.literal(int(ends[0]), "int64")
    half = len(ends) // 2
    early, late = segment_end(day, ends[:half]), segment_end(day, ends[half:])
    return ibis.ifelse(day <= int(ends[half - 1]), early, late)


def segment_query(
    compiler: Compiler, partials: Sequence[AggregateSpec], edges: Sequence[date]
) -> ir.Table | None:
    """One row per account and segment with rows: the partials' results (`column_names` of
    their positions, as `Compiler.query` names them), and in `SEGMENT` the segment's last
    day, counted from edges[0] (segment k: edges[k-1] < date <= edges[k]).
    None: the table holds none of the signals (a wide table without their columns)."""
    if not any(compiler.has_signal(p) for p in partials):
        return None
    t = compiler.table
    start, end = edges[0], edges[-1]
    within = (t["date"] > ibis.literal(start)) & (t["date"] <= ibis.literal(end))
    counts = [p for p in partials if p.aggregate == "count" and compiler.has_signal(p)]
    # the signals' own rows only: a long table's other signals would each make groups too
    rows = t.filter(within & functools.reduce(operator.or_, map(compiler.present, counts)))
    day = day_delta(rows["date"], start, compiler.dialect).cast("int64")
    rows = rows.mutate(**{DAY: day})
    rows = rows.mutate(**{SEGMENT: segment_end(rows[DAY], [(e - start).days for e in edges[1:]])})
    rows = rows.mutate(**{DAY_X: (rows[DAY] - rows[SEGMENT]).cast("float64")})
    measured = Compiler(rows, compiler.layout, compiler.dialect, compiler.precise)
    span = partials[0].window_days if partials else 1
    keys = ["account_id", SEGMENT]
    result = rows.group_by(keys).aggregate(**measured.aggregates(partials, end, span))
    for j, spec in enumerate(partials):
        if spec.aggregate != "last" or not compiler.has_signal(spec):
            continue
        if compiler.last_by() == "key":  # the latest date's value, by primary key
            result = compiler.value_on(spec, j, result)
        elif compiler.last_by() == "rank":
            latest = measured.latest_values(spec, j, end, keys)
            result = result.left_join(latest, keys).drop(*(f"{k}_right" for k in keys))
    return result
