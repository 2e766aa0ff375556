"""Which model segment applies to each account: the first, in file order, whose `where` matches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.config import Model
from scoring.config.data_checks import where_matches


def _matches(accounts: pd.DataFrame, key: str, wanted: object) -> np.ndarray:
    if key not in accounts:
        return np.zeros(len(accounts), dtype=bool)
    return where_matches(accounts[key], wanted)


def segment_rules(model: Model, accounts: pd.DataFrame) -> pd.Series:
    """The name of the model segment each account falls in, or None for the top level."""
    rule = np.full(len(accounts), None, dtype=object)
    for name, seg in model.segments.items():
        hit = np.ones(len(accounts), dtype=bool)
        for key, wanted in seg.where.items():
            hit &= _matches(accounts, key, wanted)
        rule = np.where(hit & (rule == None), name, rule)  # noqa: E711  (elementwise)
    return pd.Series(rule, index=accounts.index, dtype=object)
