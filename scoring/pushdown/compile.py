"""The model's window aggregates as one ibis query: every metric in one pass over the signals.

Each metric is a conditional aggregate (`... FILTER (WHERE in its window)`) in a single
GROUP BY account over the union of the windows, so the database reads each signal row once
however many metrics use it. The query returns per-account partial results (counts, sums,
latest dates, the sums a least-squares slope needs), never rows; `scoring.pushdown.results`
finishes them into the engine's (raw, has) arrays with the engine's own formulas.

`last` needs the value on the latest day: an arg-max aggregate where the backend has one
that honours a filter (DuckDB, PostgreSQL), a ranked sub-query joined back elsewhere (SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from scoring.engine.aggregate_specs import AggregateSpec

LARGEST = 1.7976931348623157e308
# Aggregates whose result needs the row count; the others are NULL exactly without rows.
COUNTED = frozenset({"count", "trend"})
# Aggregates whose result can be finite while a row in the window is not.
HIDES_INFINITY = frozenset({"min", "max", "last", "days_since", "trend"})
SCREEN = "screen_"
# Each row's day relative to as_of, computed once per row for every trend (a date difference
# per trend metric and row was most of a query with many trends, e.g. the advisor's).
DAY_X = "healthbot_day_x"
WEEK = 7
ARG_MAX_DIALECTS = frozenset({"duckdb", "postgres", "pyspark", "snowflake", "bigquery", "trino"})


@ibis.udf.scalar.builtin(name="julianday")
def _julianday(value: str) -> float:
    """SQLite's own day count: ibis's portable date difference is a Python UDF there."""


def day_delta(column: ir.Value, as_of: date, dialect: str) -> ir.NumericValue:
    """Whole days from as_of to each row's date (negative inside a window)."""
    if dialect == "sqlite":
        return _julianday(column.cast("string")) - _julianday(ibis.literal(as_of.isoformat()))
    if column.type().is_timestamp():  # a Parquet or warehouse date is often a timestamp
        column = column.cast("date")
    return column.delta(ibis.literal(as_of), unit="day").cast("float64")


def column_names(index: int) -> dict[str, str]:
    """The result columns of the metric at `index` (positional: metric keys are free text)."""
    parts = ("n", "v", "d", "bad", "sx", "sy", "sxx", "sxy")
    return {part: f"m{index}_{part}" for part in parts}


class Compiler:
    """Builds the aggregate query for one table layout and one SQL dialect."""

    def __init__(self, table: ir.Table, layout: str, dialect: str, precise: bool = True) -> None:
        self.table = table
        self.layout = layout
        self.dialect = dialect
        self.valid_until = "valid_until" in table.columns
        # Wide tables screen each signal column once (any infinity or NaN in the rows read?)
        # and are asked again with a check per metric only when the screen trips.
        self.precise = precise or layout == "long"

    def value(self, spec: AggregateSpec) -> ir.FloatingValue:
        return self.table["value"] if self.layout == "long" else self.table[spec.signal]

    def present(self, spec: AggregateSpec) -> ir.BooleanValue:
        """Rows of the spec's signal; in the wide layout an empty cell is no row."""
        if self.layout == "long":
            return self.table["signal"] == spec.signal
        return self.table[spec.signal].notnull()

    def in_window(
        self, spec: AggregateSpec, as_of: date, rows_within: int | None = None
    ) -> ir.BooleanValue:
        """The spec's rows on as_of; `rows_within`: the table holds only rows of the last
        that many days (a date test the query already made is not made again per metric)."""
        t = self.table
        inside = self.present(spec)
        if rows_within is None:
            inside &= t["date"] <= ibis.literal(as_of)
        if rows_within is None or spec.window_days < rows_within:
            inside &= t["date"] > ibis.literal(as_of - timedelta(days=spec.window_days))
        if rows_within is None and self.valid_until:
            inside &= self.valid(as_of)
        return inside

    def valid(self, as_of: date) -> ir.BooleanValue:
        """Rows still valid on as_of (CSM inputs expire; synced rows have no end)."""
        until = self.table["valid_until"]
        return until.isnull() | (until >= ibis.literal(as_of))

    def broken(self, spec: AggregateSpec, value: ir.FloatingValue) -> ir.BooleanValue | None:
        """Rows whose value is no finite number, where the aggregate itself may not show it.
        In the long layout a NULL value is a stored NaN (SQLite keeps NaN as NULL); in the
        wide layout an empty cell is no row, and a sum or mean of an infinity is infinite."""
        if self.layout == "long":
            return None if spec.aggregate == "count" else value.isnull() | (value.abs() > LARGEST)
        return value.abs() > LARGEST if spec.aggregate in HIDES_INFINITY else None

    def has_signal(self, spec: AggregateSpec) -> bool:
        return self.layout == "long" or spec.signal in self.table.columns

    def aggregates(
        self, specs: Sequence[AggregateSpec], as_of: date, rows_within: int
    ) -> dict[str, ir.Scalar]:
        out: dict[str, ir.Scalar] = {}
        for j, spec in enumerate(specs):
            if not self.has_signal(spec):
                continue
            names = column_names(j)
            where = self.in_window(spec, as_of, rows_within)
            value = self.value(spec)
            if spec.aggregate in COUNTED:
                out[names["n"]] = self.table.count(where=where)
            broken = self.broken(spec, value) if self.precise else None
            if broken is not None:
                out[names["bad"]] = ibis.ifelse(where & broken, 1, 0).max()
            out.update(self._value(spec, j, value, where, as_of))
        return out

    def screen(
        self, specs: Sequence[AggregateSpec], as_of: date, first: date | None = None
    ) -> ir.Table | None:
        """One row: for each wide column whose metrics would not show it, is any value read
        not a finite number? A plain scan without GROUP BY: far cheaper than a check per
        metric and account, which runs only when this trips. None: nothing to screen.
        `first`: the earliest of several as-of dates read at once (`weekly_query`)."""
        columns = sorted(
            {s.signal for s in specs if s.aggregate in HIDES_INFINITY and self.has_signal(s)}
        )
        if self.precise or not columns:
            return None
        rows = self.rows(specs, as_of, first)
        # MAX and MIN rather than MAX(ABS()): the same test (NaN sorts above every number on
        # each engine either way), but one a columnar store can answer from its statistics.
        return rows.aggregate(
            **{
                f"{SCREEN}{k}": (rows[name].max() > LARGEST) | (rows[name].min() < -LARGEST)
                for k, name in enumerate(columns)
            }
        )

    def rows(
        self, specs: Sequence[AggregateSpec], as_of: date, first: date | None = None
    ) -> ir.Table:
        """The rows any spec reads: within the longest window, still valid on as_of. `first`:
        the earliest of several as-of dates whose windows are read too."""
        t = self.table
        longest = max((s.window_days for s in specs), default=1)
        start = as_of if first is None else first
        recent = (t["date"] > ibis.literal(start - timedelta(days=longest))) & (
            t["date"] <= ibis.literal(as_of)
        )
        return t.filter(recent & self.valid(as_of) if self.valid_until else recent)

    def _value(
        self,
        spec: AggregateSpec,
        j: int,
        value: ir.FloatingValue,
        where: ir.BooleanValue,
        as_of: date,
    ) -> dict[str, ir.Scalar]:
        names = column_names(j)
        kind = spec.aggregate
        if kind in ("sum", "mean", "min", "max"):
            return {names["v"]: getattr(value, kind)(where=where)}
        if kind == "days_since":
            return {names["v"]: self.table["date"].max(where=where & (value > 0))}
        if kind == "last" and self.last_by() == "arg_max":
            return {names["v"]: value.argmax(self.table["date"], where=where)}
        if kind == "last" and self.last_by() == "key":
            return {names["d"]: self.table["date"].max(where=where)}
        if kind == "trend":
            t = self.table
            x = t[DAY_X] if DAY_X in t.columns else day_delta(t["date"], as_of, self.dialect)
            return {
                names["sx"]: x.sum(where=where),
                names["sy"]: value.sum(where=where),
                names["sxx"]: (x * x).sum(where=where),
                names["sxy"]: (x * value).sum(where=where),
            }
        return {}  # count: the row count alone; last by rank: `latest_values`

    def last_by(self) -> str:
        """How `last` finds the value on the latest day. healthbot's own store has one row per
        account, signal and day (its primary key), so the latest date per account is looked
        up again by key: a plain MAX keeps the aggregate parallel on PostgreSQL, where the
        ordered ARRAY_AGG ibis compiles arg-max to is not. DuckDB has a real arg_max; other
        engines rank the window's rows."""
        if self.layout == "long" and self.dialect in ("sqlite", "postgres"):
            return "key"
        return "arg_max" if self.dialect in ARG_MAX_DIALECTS else "rank"

    def value_on(self, spec: AggregateSpec, j: int, result: ir.Table) -> ir.Table:
        """`result` with the spec's value on the date in its `d` column, by primary key."""
        t = self.table
        names = column_names(j)
        rows = t.filter(t["signal"] == spec.signal).select(
            key_account=t["account_id"], key_date=t["date"], **{names["v"]: t["value"]}
        )
        on = [result["account_id"] == rows["key_account"], result[names["d"]] == rows["key_date"]]
        return result.left_join(rows, on).drop("key_account", "key_date")

    def latest_values(
        self, spec: AggregateSpec, j: int, as_of: date, keys: Sequence[str] = ("account_id",)
    ) -> ir.Table:
        """`keys` and the value on the latest day in the window (for `last` without arg-max);
        `keys`: what the result is grouped by (an account, or an account and a segment)."""
        t = self.table
        rows = t.filter(self.in_window(spec, as_of)).select(
            *keys, day=t["date"], value=self.value(spec)
        )
        ranked = rows.mutate(
            place=ibis.row_number().over(group_by=list(keys), order_by=ibis.desc("day"))
        )
        return ranked.filter(ranked["place"] == 0).select(
            *keys, **{column_names(j)["v"]: ranked["value"]}
        )

    def query(self, specs: Sequence[AggregateSpec], as_of: date) -> ir.Table:
        """One row per account with rows in any window: the partial results of every spec."""
        longest = max((s.window_days for s in specs), default=1)
        rows = self.rows(specs, as_of)
        if any(s.aggregate == "trend" and self.has_signal(s) for s in specs):
            rows = rows.mutate(**{DAY_X: day_delta(rows["date"], as_of, self.dialect)})
        measured = Compiler(rows, self.layout, self.dialect, self.precise)
        result = rows.group_by("account_id").aggregate(**measured.aggregates(specs, as_of, longest))
        for j, spec in enumerate(specs):
            if spec.aggregate != "last" or not self.has_signal(spec):
                continue
            if self.last_by() == "key":
                result = self.value_on(spec, j, result)
            elif self.last_by() == "rank":
                latest = measured.latest_values(spec, j, as_of)
                result = result.left_join(latest, "account_id").drop("account_id_right")
        return result

    def weekly_apply(self, specs: Sequence[AggregateSpec]) -> bool:
        """Whether `weekly_query` answers `specs`: 7-day windows only, no `trend` (its x is
        relative to each as-of date), `last` as an aggregate, rows without an expiry."""
        return (
            all(s.window_days == WEEK and s.aggregate != "trend" for s in specs)
            and (self.last_by() == "arg_max" or all(s.aggregate != "last" for s in specs))
            and not self.valid_until
        )

    def weekly_query(self, specs: Sequence[AggregateSpec], as_of: date, weeks: int) -> ir.Table:
        """One row per account and `week` (0 .. weeks): the partial results of 7-day specs on
        as_of - 7 x week. Those windows are the weeks counted back from as_of, so one GROUP
        BY (account, week) answers all of them; each row is read once, not once per week."""
        rows = self.rows(specs, as_of, as_of - timedelta(days=WEEK * weeks))
        back = -day_delta(rows["date"], as_of, self.dialect)
        rows = rows.mutate(week=(back / WEEK).floor().cast("int64"))
        measured = Compiler(rows, self.layout, self.dialect, self.precise)
        return rows.group_by(["account_id", "week"]).aggregate(
            **measured.aggregates(specs, as_of, WEEK)
        )
