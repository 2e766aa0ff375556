"""Loading what the engine scores from: accounts, signals and outcomes, as frames.py frames."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from scoring.store.bulk import Kind, in_list, read_frame

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
    one read of them all.
    """
    if not starts:
        return load_signals(engine, end, end)
    names = sorted(starts)
    windows = " OR ".join(f"(signal = :s{i} AND date > :d{i})" for i in range(len(names)))
    params: dict[str, object] = {"start": min(starts.values()), "end": end}
    for i, name in enumerate(names):
        params[f"s{i}"], params[f"d{i}"] = name, starts[name]
    sql = (
        "SELECT account_id, date, signal, value, valid_until FROM signals"
        f" WHERE date > :start AND date <= :end AND ({windows})"
    )
    with engine.connect() as conn:
        return read_frame(conn, sql, SIGNAL_TYPES, params)


def load_outcomes(engine: Engine) -> pd.DataFrame:
    """Every recorded outcome: account_id, date (datetime64), outcome."""
    sql = "SELECT account_id, date, outcome FROM outcomes ORDER BY date, account_id, outcome"
    with engine.connect() as conn:
        return read_frame(conn, sql, OUTCOME_TYPES)
