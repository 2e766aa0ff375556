"""All signals sources of a sync as one stage: coded rows in primary-key order.

Two sources may deliver the same (account, signal, day): with the same value the earlier source
keeps it, with a different one the sync refuses, naming both rows. Still in memory, before the
database is touched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.sync.signals import SignalBatch, keys
from scoring.sync.stage import Stage


def build_stage(batches: dict[int, SignalBatch]) -> Stage:
    """All signals sources as one set of coded rows in key order; the same key from two
    sources must carry the same value (then the earlier source keeps it)."""
    batches = {i: b for i, b in batches.items() if len(b)}
    if not batches:
        none = np.zeros(0, dtype=np.int64)
        return Stage(
            np.array([], dtype=str),
            np.array([], dtype=str),
            none,
            none,
            none.astype("datetime64[D]"),
            none.astype(float),
            none,
            {},
        )
    accounts = np.unique(np.concatenate([b.accounts.to_numpy(dtype=str) for b in batches.values()]))
    signals = np.unique(np.concatenate([b.signals.to_numpy(dtype=str) for b in batches.values()]))
    account_index, signal_index = pd.Index(accounts), pd.Index(signals)
    acc = np.concatenate(
        [account_index.get_indexer(b.accounts.to_numpy(dtype=str))[b.acc] for b in batches.values()]
    )
    sig = np.concatenate(
        [signal_index.get_indexer(b.signals.to_numpy(dtype=str))[b.sig] for b in batches.values()]
    )
    day = np.concatenate([b.day for b in batches.values()]).astype("datetime64[D]")
    value = np.concatenate([b.value for b in batches.values()])
    src = np.concatenate([np.full(len(b), i, dtype=np.int32) for i, b in batches.items()])
    row = np.concatenate([np.arange(len(b)) for b in batches.values()])
    if len(batches) > 1:
        key = keys(acc, sig, day, len(signals))
        order = np.argsort(key, kind="stable")
        acc, sig, day, value, src, row, key = (
            a[order] for a in (acc, sig, day, value, src, row, key)
        )
        same = np.concatenate(([False], key[1:] == key[:-1]))
        if same.any():
            _refuse_conflicts(batches, same, value, src, row)
            keep = ~same
            acc, sig, day, value, src = acc[keep], sig[keep], day[keep], value[keep], src[keep]
    sources, sizes = np.unique(src, return_counts=True)
    per_source = {int(i): int(n) for i, n in zip(sources, sizes, strict=True)}
    return Stage(accounts, signals, acc, sig, day, value, src, per_source)


def _refuse_conflicts(
    batches: dict[int, SignalBatch],
    same: np.ndarray,
    value: np.ndarray,
    src: np.ndarray,
    row: np.ndarray,
) -> None:
    """Raise DataError at the first key whose value differs from the earlier source's."""
    differs = np.flatnonzero(same & (value != np.roll(value, 1)))
    if not len(differs):
        return
    i = int(differs[0])
    later, earlier = batches[int(src[i])], batches[int(src[i - 1])]
    j, k = int(row[i]), int(row[i - 1])
    column = later.value_column[later.signals[later.sig[j]]]
    raise later.raw.fail(
        f"{value[i]:g} conflicts with {value[i - 1]:g} from source {earlier.raw.label}"
        f" ({earlier.raw.where(int(earlier.pos[k]))}) for {later.describe(j)}",
        int(later.pos[j]),
        column,
    )
