"""Loading what the engine scores from: accounts, signals and outcomes, as frames.py frames."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from scoring.store.bulk import Kind, in_list, is_pg, read_frame

ACCOUNT_TYPES: dict[str, Kind] = {
    "account_id": "str",
    "name": "str",
    "owner_email": "str",
    "segment": "str",
    "arr": "float",
    "renewal_date": "date",
    "status": "str",
    "churned_on": "date",
    "first_seen": "date",
    "inactive_since": "date",
    "attributes": "str",
    "first_churned": "date",
}
SIGNAL_TYPES: dict[str, Kind] = {
    "account_id": "cat",
    "date": "date",
    "signal": "cat",
    "value": "float",
    "valid_until": "date",
}
OUTCOME_TYPES: dict[str, Kind] = {"account_id": "str", "date": "date", "outcome": "str"}


def load_accounts(engine: Engine) -> pd.DataFrame:
    """Every stored account (inactive ones included: they have history), one row each.

    `churned_on` is resolved so the engine has one answer to "churned when?": the export's
    `churned_on`, else the first `churned` outcome, else `inactive_since` (the day sync first saw
    the account churned, inactive or gone from the export). The export's extra columns come back
    as columns of their own (segment rules match on them) unless they clash with ours.
    """
    sql = (
        "SELECT a.account_id, a.name, a.owner_email, a.segment, a.arr, a.renewal_date, a.status,"
        " a.churned_on, a.first_seen, a.inactive_since, a.attributes, o.first_churned"
        " FROM accounts a LEFT JOIN (SELECT account_id, MIN(date) AS first_churned FROM outcomes"
        " WHERE outcome = 'churned' GROUP BY account_id) o ON o.account_id = a.account_id"
        " ORDER BY a.account_id"
    )
    with engine.connect() as conn:
        frame = read_frame(conn, sql, ACCOUNT_TYPES)
    frame["churned_on"] = (
        frame["churned_on"].fillna(frame.pop("first_churned")).fillna(frame["inactive_since"])
    )
    attributes = frame.pop("attributes")
    present = attributes.notna() & (attributes != "{}")
    if present.any():
        extra = pd.DataFrame.from_records(
            [json.loads(text) for text in attributes[present]], index=frame.index[present]
        )
        extra = extra[[c for c in extra.columns if c not in frame.columns]]
        frame = frame.join(extra)
    return frame


def account_columns(conn: Connection, columns: Sequence[str]) -> pd.DataFrame:
    """Some stored columns of every account: a view that joins names and owners onto 100,000
    scores reads those, not every attribute."""
    types = {c: ACCOUNT_TYPES[c] for c in columns}
    return read_frame(conn, f"SELECT {', '.join(types)} FROM accounts", types)


def load_signals(
    engine: Engine,
    start: date,
    end: date,
    signals: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Observations with start < date <= end (the window that ends on an as-of date).

    account_id and signal come back categorical: a 9M-row frame stays small and the engine maps
    ids through the categories instead of every row.
    """
    where = "date > :start AND date <= :end"
    params: dict[str, object] = {"start": start, "end": end}
    with engine.connect() as conn:
        if signals is not None:
            where += " AND " + in_list(conn, "signal", "signals")
            params["signals"] = list(signals)
        sql = f"SELECT account_id, date, signal, value, valid_until FROM signals WHERE {where}"
        return read_frame(conn, sql, SIGNAL_TYPES, params)


def load_signal_windows(engine: Engine, starts: Mapping[str, date], end: date) -> pd.DataFrame:
    """Each named signal's observations with its own start < date <= end, in one scan.

    One query, not one per signal: on either database a per-signal query walks the whole date
    range again (the index is on date alone), which made five signals cost two to three times
    one read of them all. On SQLite the rows are found through the primary key instead (see
    `_SQLITE_WINDOWS`) and put back in the date index's order, so the frame is the same.
    """
    if not starts:
        return load_signals(engine, end, end)
    names = sorted(starts)
    params: dict[str, object] = {"start": min(starts.values()), "end": end}
    for i, name in enumerate(names):
        params[f"s{i}"], params[f"d{i}"] = name, starts[name]
    with engine.connect() as conn:
        if is_pg(conn):
            windows = " OR ".join(f"(signal = :s{i} AND date > :d{i})" for i in range(len(names)))
            sql = (
                "SELECT account_id, date, signal, value, valid_until FROM signals"
                f" WHERE date > :start AND date <= :end AND ({windows})"
            )
            return read_frame(conn, sql, SIGNAL_TYPES, params)
        wanted = ", ".join(f"(:s{i}, :d{i})" for i in range(len(names)))
        frame = read_frame(conn, _SQLITE_WINDOWS.format(wanted=wanted), SIGNAL_TYPES, params)
    return in_date_order(frame)


# SQLite: every account's (signal, start..end] range is one seek into the primary key
# (account_id, signal, date) and a walk along it. Through the date index, each of millions of
# rows cost a separate primary-key lookup (the index holds no value): 4M rows of 10,000
# accounts took ~30 s of CPU that way, under 1 s this way. The accounts come from the signals
# themselves, one seek each (a skip scan), so rows of an account not in `accounts` still come.
# CROSS JOIN fixes the loop order: otherwise the planner picks the date index again.
_SQLITE_WINDOWS = """
WITH RECURSIVE ids(id) AS (
    SELECT min(account_id) FROM signals
    UNION ALL
    SELECT (SELECT min(account_id) FROM signals WHERE account_id > ids.id) FROM ids
    WHERE ids.id IS NOT NULL
), wanted(signal, start) AS (VALUES {wanted})
SELECT s.account_id, s.date, s.signal, s.value, s.valid_until
FROM ids CROSS JOIN wanted CROSS JOIN signals AS s
WHERE s.account_id = ids.id AND s.signal = wanted.signal
    AND s.date > wanted.start AND s.date <= :end
"""


def in_date_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by (date, account_id, signal), the order a read through the date index gives, with
    categories in order of first appearance as such a read makes them: same frame, same
    downstream results to the last bit (sums follow row order)."""
    keys = [_lexical_codes(frame["signal"]), _lexical_codes(frame["account_id"])]
    order = np.lexsort((*keys, frame["date"].to_numpy()))
    out = frame.take(order).reset_index(drop=True)
    for column in ("account_id", "signal"):
        codes = out[column].cat.codes.to_numpy()
        seen, first = np.unique(codes, return_index=True)
        categories = out[column].cat.categories[seen[np.argsort(first)]]
        out[column] = out[column].cat.reorder_categories(categories)
    return out


def _lexical_codes(column: pd.Series) -> np.ndarray:
    """Each row's rank of its category in byte order (SQLite's BINARY collation for UTF-8)."""
    categories = column.cat.categories.to_numpy(dtype=str)
    rank = np.empty(len(categories), dtype=np.int64)
    rank[np.argsort(categories, kind="stable")] = np.arange(len(categories))
    return rank[column.cat.codes.to_numpy()]


def load_outcomes(engine: Engine) -> pd.DataFrame:
    """Every recorded outcome: account_id, date (datetime64), outcome."""
    sql = "SELECT account_id, date, outcome FROM outcomes ORDER BY date, account_id, outcome"
    with engine.connect() as conn:
        return read_frame(conn, sql, OUTCOME_TYPES)
