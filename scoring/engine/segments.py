"""Which model segment applies to each account: the first, in file order, whose `where` matches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Model


def _matches(accounts: pd.DataFrame, key: str, wanted: object) -> np.ndarray:
    if key not in accounts:
        return np.zeros(len(accounts), dtype=bool)
    column = accounts[key]
    text = column.astype("string").str.casefold()
    target = str(wanted).casefold()
    if isinstance(wanted, bool):
        target = str(wanted).lower()
    elif isinstance(wanted, float) and wanted.is_integer():
        numeric = pd.to_numeric(column, errors="coerce")
        return (numeric == wanted).fillna(False).to_numpy(dtype=bool)
    return (text == target).fillna(False).to_numpy(dtype=bool)


def segment_rules(model: Model, accounts: pd.DataFrame) -> pd.Series:
    """The name of the model segment each account falls in, or None for the top level."""
    rule = np.full(len(accounts), None, dtype=object)
    for name, seg in model.segments.items():
        hit = np.ones(len(accounts), dtype=bool)
        for key, wanted in seg.where.items():
            hit &= _matches(accounts, key, wanted)
        rule = np.where(hit & (rule == None), name, rule)  # noqa: E711  (elementwise)
    return pd.Series(rule, index=accounts.index, dtype=object)
