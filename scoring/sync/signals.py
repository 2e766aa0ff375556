"""Signals sources: wide or long rows -> one validated batch of coded observations.

Observations are kept as integer codes (account, signal, day) rather than strings: duplicate
detection, `combine` and the cross-source check are then sorts and comparisons of int64 keys,
which is what makes 9M values a matter of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.config.sources import Source
from scoring.errors import DataError
from scoring.sync.parse import Columns, dates, ids, map_columns, numbers
from scoring.sync.readers import RawTable

KEY_COLUMNS = ("account_id", "date")


@dataclass
class SignalBatch:
    """One source's observations, unique per (account, signal, day), sorted by that key."""

    raw: RawTable
    cols: Columns
    accounts: pd.Index  # distinct account ids
    acc: np.ndarray  # int64 codes into accounts
    signals: pd.Index  # distinct signal names
    sig: np.ndarray  # int64 codes into signals
    day: np.ndarray  # datetime64[D]
    value: np.ndarray  # float64
    pos: np.ndarray  # int64 row of raw, for error messages
    value_column: dict[str, str]  # signal -> the column it came from (as the user calls it)
    rows_read: int
    skipped: int = 0
    combined: int = 0

    def __len__(self) -> int:
        return len(self.value)

    def keep(self, mask: np.ndarray) -> None:
        self.acc, self.sig, self.day = self.acc[mask], self.sig[mask], self.day[mask]
        self.value, self.pos = self.value[mask], self.pos[mask]

    def describe(self, i: int) -> str:
        return (
            f"account {self.accounts[self.acc[i]]!r}, signal {self.signals[self.sig[i]]!r},"
            f" {np.datetime_as_string(self.day[i])}"
        )


def prepare_signals(raw: RawTable, source: Source, timezone: str) -> SignalBatch:
    """Validate every cell and code the observations (no duplicate handling yet)."""
    cols = map_columns(raw, source)
    cols.require(*KEY_COLUMNS)
    acc, accounts = ids(cols, "account_id")
    day = dates(cols, "date", timezone, allow_blank=False)
    if source.layout == "wide":
        return _wide(raw, cols, source, acc, accounts, day)
    cols.require("signal", "value")
    sig, signals = ids(cols, "signal")
    value = numbers(cols, "value", allow_blank=False)
    pos = np.arange(len(value), dtype=np.int64)
    batch = SignalBatch(
        raw,
        cols,
        accounts,
        acc,
        signals,
        sig,
        day,
        value,
        pos,
        value_column=dict.fromkeys(signals, cols.shown("value")),
        rows_read=len(value),
    )
    if source.signals is not None:
        wanted = signals.isin(source.signals)[sig]
        batch.skipped += int((~wanted).sum())
        batch.keep(wanted)
    return batch


def _wide(
    raw: RawTable,
    cols: Columns,
    source: Source,
    acc: np.ndarray,
    accounts: pd.Index,
    day: np.ndarray,
) -> SignalBatch:
    """One column per signal; an empty cell is no observation."""
    if source.signals is not None:
        cols.require(*source.signals)
        names = list(source.signals)
    else:
        names = [c for c in cols.frame.columns if c not in KEY_COLUMNS]
    if not names:
        raise raw.fail(
            "a wide signals source needs at least one column besides account_id and date"
        )
    parts_pos, parts_sig, parts_val = [], [], []
    for code, name in enumerate(names):
        values = numbers(cols, name, allow_blank=True)
        present = np.flatnonzero(~np.isnan(values))
        parts_pos.append(present)
        parts_sig.append(np.full(len(present), code, dtype=np.int64))
        parts_val.append(values[present])
    pos = np.concatenate(parts_pos).astype(np.int64)
    order = np.argsort(np.array(names, dtype=object))  # signal codes in name order
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    sig = rank[np.concatenate(parts_sig)]
    signals = pd.Index(np.array(names, dtype=object)[order], dtype=object)
    return SignalBatch(
        raw,
        cols,
        accounts,
        acc[pos],
        signals,
        sig,
        day[pos],
        np.concatenate(parts_val),
        pos,
        value_column={n: cols.shown(n) for n in names},
        rows_read=len(day),
    )


def drop_unknown(batch: SignalBatch, known: pd.Index, policy: str) -> None:
    """Refuse (or, with `unknown_accounts: skip`, drop and count) rows for unknown accounts."""
    known_unique = batch.accounts.isin(known)
    if known_unique.all():
        return
    unknown = ~known_unique[batch.acc]
    if not unknown.any():
        return
    if policy == "skip":
        batch.skipped += int(unknown.sum())
        batch.keep(~unknown)
        return
    i = int(np.flatnonzero(unknown)[np.argmin(batch.pos[unknown])])
    raise batch.raw.fail(
        unknown_account_problem(str(batch.accounts[batch.acc[i]])),
        int(batch.pos[i]),
        batch.cols.shown("account_id"),
    )


def unknown_account_problem(account_id: str) -> str:
    """The words for a row of an unknown account (files and tables read in place)."""
    return (
        f"account {account_id!r} is unknown (not stored and in no accounts source; set"
        " `unknown_accounts: skip` on this source to skip such rows)"
    )


def conflict_problem(value: float, other: float, where: str, described: str, hint: str) -> str:
    """The words for two different values of one account, signal and day."""
    return f"{value:g} conflicts with {other:g}{where} for {described}{hint}"


COMBINE_HINT = " (set `combine: mean | sum | max | last` on this source to merge them)"


def keys(acc: np.ndarray, sig: np.ndarray, day: np.ndarray, n_sig: int) -> np.ndarray:
    """One int64 per (account, signal, day), ordered like the signals primary key."""
    days = day.astype("datetime64[D]").astype(np.int64)
    low = int(days.min()) if len(days) else 0
    span = (int(days.max()) - low + 1) if len(days) else 1
    if (int(acc.max()) + 1 if len(acc) else 1) * max(n_sig, 1) * span >= 2**62:
        raise DataError("too many distinct accounts, signals and days in one sync")
    return (acc * max(n_sig, 1) + sig) * span + (days - low)


def dedupe(batch: SignalBatch, combine: str | None) -> None:
    """Sort by key; merge duplicates with `combine`, else refuse two different values.

    Identical duplicates are harmless (an export that repeats a row) and kept once.
    """
    key = keys(batch.acc, batch.sig, batch.day, len(batch.signals))
    order = np.argsort(key, kind="stable")  # within a key, rows stay in file order
    batch.keep(order)
    key = key[order]
    same = key[1:] == key[:-1]
    if not same.any():
        return
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    if combine is None:
        differs = same & (batch.value[1:] != batch.value[:-1])
        if differs.any():
            later = np.flatnonzero(differs) + 1
            i = int(later[np.argmin(batch.pos[later])])
            first = int(starts[np.searchsorted(starts, i, side="right") - 1])
            column = batch.value_column[batch.signals[batch.sig[i]]]
            raise batch.raw.fail(
                conflict_problem(
                    batch.value[i],
                    batch.value[first],
                    f" at {batch.raw.where(int(batch.pos[first]))}",
                    batch.describe(i),
                    COMBINE_HINT,
                ),
                int(batch.pos[i]),
                column,
            )
        batch.keep(starts)
        return
    ends = np.concatenate((starts[1:], [len(key)]))
    if combine == "mean":
        merged = np.add.reduceat(batch.value, starts) / (ends - starts)
    elif combine == "sum":
        merged = np.add.reduceat(batch.value, starts)
    elif combine == "max":
        merged = np.maximum.reduceat(batch.value, starts)
    else:  # last: the latest row in file order
        merged = batch.value[ends - 1]
    batch.combined += len(key) - len(starts)
    batch.keep(starts)
    batch.value = merged
