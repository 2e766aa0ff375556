"""A signals table read in place (`url` + `table`): connected to, never copied.

Everything here asks the warehouse for aggregates (a count, a max, the signal names) and gets
back a handful of values; no row of the customer's table is ever fetched into healthbot. It
lives at the store's layer so that sync (validation), the model checks (`scoring/batch`) and the
scoring run (drift warnings) can all reach it.

`connect()` is the one place that opens a backend: when `scoring/pushdown/connect.py`
(`runner_for`) lands, it replaces the body of that function.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import ibis
import ibis.expr.types as ir

from scoring.config.sources import Source
from scoring.errors import DataError, HealthbotError
from scoring.store.backends import backend_for, hidden, open_table
from scoring.store.db import first_line, shown_url

KEYS = ("account_id", "date")


def connect(url: str, label: str) -> Any:
    """An ibis backend for `url`; a DuckDB file is opened read-only (healthbot never writes
    to a source, and a read-only handle does not lock out the process that fills it). Any
    failure is one line naming the source, with the password hidden."""
    try:
        return backend_for(read_only(url))
    except HealthbotError as exc:
        raise DataError(f"source {label}: {exc}") from None


def read_only(url: str) -> str:
    """A DuckDB file's URL opened read-only; any other URL unchanged (`duckdb://` alone is a
    DuckDB in memory, which reads Parquet files named as the table)."""
    if not url.startswith("duckdb://") or "read_only" in url:
        return url
    path = url.removeprefix("duckdb://").split("?", 1)[0]
    if not path or "memory" in path:
        return url
    return f"{url}{'&' if '?' in url else '?'}read_only=true"


def raw_table(backend: Any, source: Source, label: str) -> ir.Table:
    """The table as the warehouse holds it (their column names)."""
    assert source.table is not None
    try:
        return open_table(backend, source.table)
    except Exception as exc:
        raise DataError(
            f"source {label}: table {source.table} not found or not readable at"
            f" {shown_url(source.url or '')}: {hidden(first_line(exc), source.url or '')}"
        ) from None


def renamed(table: ir.Table, source: Source) -> ir.Table:
    """Their columns under our names (`columns: {ours: theirs}`); callers check presence."""
    mapping = {ours: theirs for ours, theirs in source.columns.items() if theirs in table.columns}
    clash = [c for c in mapping if c in table.columns and c not in mapping.values()]
    if clash:
        table = table.drop(*clash)
    return table.rename(mapping) if mapping else table


def signal_columns(table: ir.Table, source: Source) -> list[str]:
    """A wide table's signals: those declared, else every column but the keys."""
    if source.signals is not None:
        return list(source.signals)
    return [c for c in table.columns if c not in KEYS]


def typed(table: ir.Table, source: Source) -> ir.Table:
    """The source's columns (keys and signal columns, or keys, signal and value) in
    healthbot's types: ids as text, dates as dates (a timestamp read as its day, in the
    warehouse's own time zone), values as floats. Casts only where the type differs (ibis
    drops a cast to the same type), so a date index still serves the window filter."""
    wide = source.layout == "wide"
    values = signal_columns(table, source) if wide else ["value"]
    table = table.select(*KEYS, *values) if wide else table.select(*KEYS, "signal", "value")
    casts: dict[str, ir.Value] = {}
    if not table.account_id.type().is_string():
        casts["account_id"] = table.account_id.cast("string")
    if not table.date.type().is_date():
        casts["date"] = table.date.cast("date")
    if not wide and not table.signal.type().is_string():
        casts["signal"] = table.signal.cast("string")
    for column in values:
        kind = table[column].type()
        if (kind.is_numeric() or kind.is_boolean()) and not kind.is_floating():
            casts[column] = table[column].cast("float64")
    return table.mutate(**casts) if casts else table


def long_view(table: ir.Table, source: Source, names: Iterable[str] | None = None) -> ir.Table:
    """(account_id, signal, date, value) with one row per observation, whatever the layout,
    typed as `typed` does: a wide table becomes one SELECT per signal column (UNION ALL),
    empty cells dropped; a long one keeps only the declared `signals:` (the others are not
    this source's). `names`: only these signals (a wide table's other columns are not read).
    """
    table = typed(table, source)
    if source.layout == "wide":
        columns = signal_columns(table, source)
        if names is not None:
            columns = [c for c in columns if c in set(names)]
        parts = [
            table.select(
                "account_id",
                signal=ibis.literal(name, "string"),
                date=table.date,
                value=table[name].cast("float64"),
            ).filter(lambda t: t.value.notnull())
            for name in columns
        ]
        return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    long = table
    if source.signals is not None:
        long = long.filter(long.signal.isin(source.signals))
    if names is not None:
        long = long.filter(long.signal.isin(sorted(set(names))))
    return long


def fingerprint(long: ir.Table) -> dict[str, Any]:
    """What identifies the data a sync validated, cheaply: row count, latest date and the
    sum of the values (one aggregate, one scan)."""
    row = long.aggregate(
        rows=long.count(), max_date=long.date.max(), value_sum=long.value.sum()
    ).execute()
    return {
        "rows": int(row["rows"].iloc[0]),
        "max_date": _day(row["max_date"].iloc[0]),
        "value_sum": _float(row["value_sum"].iloc[0]),
    }


def open_long(source: Source, label: str) -> tuple[Any, ir.Table]:
    """Connect and give the source as a long view; for the readers that trust a validated
    table (drift, signal names, forget): missing columns are sync's to report."""
    backend = connect(source.url or "", label)
    table = renamed(raw_table(backend, source, label), source)
    return backend, long_view(table, source)


def signal_names(source: Source, label: str, wanted: Iterable[str]) -> set[str]:
    """The signals present in an in-place source: a wide table's signal columns (from the
    schema alone), or a long table's distinct `signal` values. As `stored_signal_names`,
    each wanted name is looked up first; the full DISTINCT is read only when one is missing
    (its answer feeds the closest-name hint)."""
    backend = connect(source.url or "", label)
    return present_signals(renamed(raw_table(backend, source, label), source), source, wanted)


def present_signals(table: ir.Table, source: Source, wanted: Iterable[str]) -> set[str]:
    """`signal_names` on a table already reached and renamed (a bound ibis table): what the
    scoring run's placement asks of the connection it scores on."""
    if source.layout == "wide":
        return {c for c in signal_columns(table, source) if c in table.columns}
    names = table.signal.cast("string")
    wanted = sorted(set(wanted))
    if source.signals is not None:
        wanted = [w for w in wanted if w in source.signals]
    if wanted:
        present = table.aggregate(
            **{f"n{i}": (names == w).any() for i, w in enumerate(wanted)}
        ).execute()
        found = {w for i, w in enumerate(wanted) if bool(present[f"n{i}"].iloc[0])}
        if len(found) == len(wanted):
            return found
    distinct = table.select(signal=names).distinct().execute()["signal"]
    every = {str(s) for s in distinct if s is not None}
    return every & set(source.signals) if source.signals is not None else every


def account_rows(source: Source, label: str, account_id: str) -> int:
    """Rows of one account in an in-place source (what `forget` cannot delete)."""
    _, long = open_long(source, label)
    return int(long.filter(long.account_id == account_id).count().execute())


def _day(value: Any) -> Any:
    import pandas as pd

    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _float(value: Any) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)


UNIQUE_KEYS = {
    "duckdb": (
        "SELECT constraint_column_names FROM duckdb_constraints()"
        " WHERE table_name = '{table}' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
        " AND schema_name = coalesce({schema}, current_schema())"
    ),
    "postgres": (
        "SELECT array_agg(k.column_name::text) FROM information_schema.table_constraints c"
        " JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name"
        " AND k.table_schema = c.table_schema AND k.table_name = c.table_name"
        " WHERE c.table_name = '{table}' AND c.constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
        " AND c.table_schema = coalesce({schema}, current_schema())"
        " GROUP BY c.constraint_name"
    ),
}


def declared_unique(backend: Any, table: str, columns: set[str]) -> bool:
    """True when the table has a PRIMARY KEY or UNIQUE constraint on exactly these columns in
    a database that enforces it (DuckDB, PostgreSQL): duplicates are then impossible and the
    costliest validation query (one group per row) is skipped. Warehouses that do not enforce
    constraints (Snowflake, BigQuery, ...) are never trusted."""
    template = UNIQUE_KEYS.get(getattr(backend, "name", ""))
    if template is None or "'" in table:
        return False
    schema, _, name = table.rpartition(".")
    try:
        cursor = backend.raw_sql(
            template.format(table=name, schema=f"'{schema}'" if schema else "NULL")
        )
        rows = cursor.fetchall()
        if backend.name == "postgres":  # DuckDB's raw_sql hands back the connection itself
            cursor.close()
    except Exception:  # introspection is an optimisation: when it fails, scan
        return False
    return any(set(row[0] or []) == columns for row in rows)


# The duplicate scan (`scoring/sync/in_place.py`) groups 9M rows into ~400,000 groups. On
# PostgreSQL the planner misjudges groups of expressions and sorts them (spilling to disk);
# hash aggregates with room for their groups (in each parallel worker) take half the time
# (EXPLAIN ANALYZE: /work/notes/place.md). Set on healthbot's own validation connection only,
# for that scan, and reset after.
ONE_HASH_AGGREGATE = {"postgres": {"enable_sort": "off", "work_mem": "64MB"}}


@contextlib.contextmanager
def one_hash_aggregate(backend: Any) -> Iterator[None]:
    """Planner settings for a GROUP BY with about one group per row, on this connection,
    for the duration of the block (nothing on backends without any)."""
    settings = ONE_HASH_AGGREGATE.get(getattr(backend, "name", ""), {})
    done = []
    try:
        for name, value in settings.items():
            backend.raw_sql(f"SET {name} = '{value}'").close()
            done.append(name)
        yield
    finally:
        for name in done:
            with contextlib.suppress(Exception):  # a reset that fails leaves a session we drop
                backend.raw_sql(f"RESET {name}").close()
