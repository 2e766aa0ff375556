"""Signals prepared once for a backtest, so each period reads only its own slice.

A 52-week backtest of 10,000 accounts re-scores from millions of signal rows; building the
engine's tables from the whole frame every period would dominate its time, and would hand the
engine rows dated after the as-of day. Sorting once by (signal, date) makes each period's
slice a few binary searches, and the slice simply cannot contain a later row.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.engine.signal_table import EPOCH, day_number


class SignalWindows:
    """The signals frame sorted once by (signal, date), so a period's slice is binary searches.

    Each signal gets its own look-back (a daily usage signal read over 30 days need not drag
    180 days of rows into every period just because NPS is read over 180). Text columns become
    categorical once, so the engine maps ids through a few categories instead of every row.
    """

    def __init__(self, signals: pd.DataFrame, account_ids: pd.Index, layout: str) -> None:
        frame = signals.copy()
        for column in ("account_id", "signal"):
            if column in frame and not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(str).astype("category")
        frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
        days = (frame["date"].to_numpy(dtype="datetime64[D]") - EPOCH).astype(np.int64)
        if layout == "long":
            self.names: list[str | None] = [str(c) for c in frame["signal"].cat.categories]
            block = frame["signal"].cat.codes.to_numpy().astype(np.int64)
        else:
            self.names, block = [None], np.zeros(len(frame), dtype=np.int64)
        order = np.lexsort((days, block))
        self.frame = frame.iloc[order].reset_index(drop=True)
        self.days = days[order]
        self.starts = np.searchsorted(block[order], np.arange(len(self.names) + 1))
        ids = self.frame["account_id"]
        per_category = account_ids.get_indexer(ids.cat.categories.astype(str))
        codes = ids.cat.codes.to_numpy()
        self.codes = np.where(codes >= 0, per_category[codes], -1)
        self.account_ids = account_ids

    def _rows(self, as_of: date, lookback: int | dict[str, int]) -> np.ndarray:
        """Positions of rows with as_of - lookback < date <= as_of, per signal block."""
        day = day_number(as_of)
        parts = []
        for b, name in enumerate(self.names):
            if isinstance(lookback, int):
                span = lookback
            elif name is None:
                span = max(lookback.values())
            elif name in lookback:
                span = lookback[name]
            else:
                continue
            lo, hi = int(self.starts[b]), int(self.starts[b + 1])
            days = self.days[lo:hi]
            first = lo + int(np.searchsorted(days, day - span, side="right"))
            parts.append(np.arange(first, lo + int(np.searchsorted(days, day, side="right"))))
        return np.concatenate(parts) if parts else np.array([], dtype=np.int64)

    def upto(self, as_of: date, lookback: int | dict[str, int]) -> pd.DataFrame:
        """Rows dated within the look-back and never after the as-of day."""
        return self.frame.take(self._rows(as_of, lookback))

    def last_day(self, as_of: date, lookback: int | dict[str, int]) -> np.ndarray:
        """Latest signal day number per account within the look-back (int64 min: none)."""
        rows = self._rows(as_of, lookback)
        out = np.full(len(self.account_ids), np.iinfo(np.int64).min, dtype=np.int64)
        codes = self.codes[rows]
        keep = codes >= 0
        np.maximum.at(out, codes[keep], self.days[rows][keep])
        return out


def spans(model: Model, factor: int = 1, extra: int = 0) -> dict[str, int]:
    """Look-back per signal: the longest window of the metrics reading it (x factor, + extra)."""
    out: dict[str, int] = {}
    for metric in model.metrics.values():
        need = metric.window_days * factor + extra
        out[metric.signal] = max(out.get(metric.signal, 0), need)
    return out
