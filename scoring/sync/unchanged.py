"""Leaving out of the merge every (account, signal) series already stored exactly as staged.

Re-syncing an export that has not changed is the common case, and comparing 20M staged rows
with 20M stored ones by a join is the most expensive thing a sync does. Instead PostgreSQL sums
a 64-bit hash of (day, value bits) per stored series in one scan, numpy does the same for the
staged rows, and only series whose count, hash or source differ are staged and joined.

The hash is computed identically on both sides from integer arithmetic that never overflows a
signed 64-bit integer (32-bit halves times constants below 2^30), mixing day and value
non-linearly, so values swapped between days change it. A series whose hash matches by
accident (about 1 in 2^64) would be left as stored; any other difference is merged as usual.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import sqlalchemy as sa

from scoring.store.bulk import Kind, in_list, read_frame
from scoring.sync.stage import Stage

M32 = 0xFFFFFFFF
K1, K2, K3, K4 = 0x45D9F3B, 0x2C1B3C6D, 0x297A2D39, 0x119DE1F3
EPOCH = np.datetime64("1970-01-01", "D")
MIN_ROWS = 100_000  # below this the merge join is cheap anyway
SERIES_TYPES: dict[str, Kind] = {
    "account_id": "str",
    "signal": "str",
    "source": "str",
    "n": "int",
    "h": "int",
    "expiring": "int",
}


def row_hashes(day: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The per-row hash, in numpy (must match `_sql_hash`)."""
    bits = np.ascontiguousarray(value, dtype=np.float64).view(np.int64)
    lo, hi = bits & M32, (bits >> 32) & M32
    dd = (day.astype("datetime64[D]") - EPOCH).astype(np.int64) & M32
    a = ((lo ^ dd) * K1) & M32
    b = ((hi ^ ((dd * 7919) & M32)) * K2) & M32
    a2 = ((a ^ (b >> 13)) * K3) & M32
    b2 = ((b ^ (a2 >> 11)) * K4) & M32
    return (a2 << 32) | b2


def _sql_hash(bits: str, dd: str) -> str:
    """The per-row hash as a PostgreSQL bigint expression of columns `bits` and `dd`."""
    lo, hi = f"({bits} & {M32})", f"(({bits} >> 32) & {M32})"
    a = f"((({lo} # {dd}) * {K1}) & {M32})"
    b = f"((({hi} # (({dd} * 7919) & {M32})) * {K2}) & {M32})"
    a2 = f"((({a} # ({b} >> 13)) * {K3}) & {M32})"
    b2 = f"((({b} # ({a2} >> 11)) * {K4}) & {M32})"
    return f"(({a2} << 32) | {b2})"


def stored_series(conn: sa.Connection, stage: Stage) -> pd.DataFrame:
    """Count and hash of the stored rows of every (account, signal, source) series within the
    staged days and signals."""
    low, high = stage.day.min(), stage.day.max()
    bits = "(('x' || encode(float8send(value), 'hex'))::bit(64)::bigint)"
    dd = f"((date - DATE '1970-01-01')::bigint & {M32})"
    sql = f"""
        SELECT account_id, signal, source, COUNT(*) AS n, BIT_XOR(h) AS h,
               COUNT(*) FILTER (WHERE valid_until IS NOT NULL) AS expiring
        FROM (
            SELECT account_id, signal, source, valid_until, {_sql_hash("bb", "dd")} AS h
            FROM (
                SELECT account_id, signal, source, valid_until, {bits} AS bb, {dd} AS dd
                FROM signals
                WHERE date >= :low AND date <= :high AND {in_list(conn, "signal", "signals")}
                OFFSET 0
            ) rows
        ) hashed
        GROUP BY account_id, signal, source
    """
    params = {
        "low": pd.Timestamp(low).date(),
        "high": pd.Timestamp(high).date(),
        "signals": [str(s) for s in stage.signals],
    }
    return read_frame(conn, sql, SERIES_TYPES, params)


def drop_unchanged(conn: sa.Connection, stage: Stage, labels: dict[int, str]) -> Stage:
    """The stage without its series that are stored exactly so (PostgreSQL only; the counts of
    staged rows per source, used for "unchanged", stay those of the full stage)."""
    if conn.dialect.name != "postgresql" or not len(stage.value) or len(stage.value) < MIN_ROWS:
        return stage
    stored = stored_series(conn, stage)
    if stored.empty:
        return stage
    n_sig = max(len(stage.signals), 1)
    pair = stage.acc * n_sig + stage.sig  # the stage is sorted by (account, signal, day)
    starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
    staged_pair = pair[starts]
    staged_n = np.diff(np.concatenate((starts, [len(pair)])))
    staged_h = np.bitwise_xor.reduceat(row_hashes(stage.day, stage.value), starts)
    src_min = np.minimum.reduceat(stage.src, starts)
    src_max = np.maximum.reduceat(stage.src, starts)

    acc = pd.Index(stage.accounts).get_indexer(stored["account_id"].astype(object))
    sig = pd.Index(stage.signals).get_indexer(stored["signal"].astype(object))
    by_label = {label: src for src, label in labels.items()}
    src = stored["source"].astype(object).map(by_label).fillna(-1).to_numpy(dtype=np.int64)
    known = (acc >= 0) & (sig >= 0)
    stored_pair = (acc * n_sig + sig)[known]
    single = ~pd.Series(stored_pair).duplicated(keep=False).to_numpy()  # one source only

    def column(name: str) -> np.ndarray:
        return stored[name].to_numpy(dtype=np.int64)[known][single]

    n, h, expiring, source = column("n"), column("h"), column("expiring"), src[known][single]
    pos = pd.Index(stored_pair[single]).get_indexer(staged_pair)  # -1: not stored
    at = np.maximum(pos, 0)
    clean = (pos >= 0) & (n[at] == staged_n) & (h[at] == staged_h) & (expiring[at] == 0)
    clean &= (source[at] == src_min) & (src_min == src_max)
    if not clean.any():
        return stage
    keep = ~np.repeat(clean, staged_n)
    return replace(
        stage,
        acc=stage.acc[keep],
        sig=stage.sig[keep],
        day=stage.day[keep],
        value=stage.value[keep],
        src=stage.src[keep],
    )
