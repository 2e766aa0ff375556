"""Finding an account from what a person typed: id, name, prefix/substring, then fuzzy.

Shared by `/health` and every CLI command that takes an ACCOUNT, so both behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from rapidfuzz import fuzz, process, utils

FUZZY_MIN = 85
CLEAR_LEAD = 10
MAX_CHOICES = 5


@dataclass(frozen=True)
class Match:
    """`account_id` when one account clearly matches; otherwise candidates (ids), best first."""

    query: str
    account_id: str | None = None
    candidates: list[str] = field(default_factory=list)
    closest: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.account_id is not None


def find_account(query: str, accounts: pd.DataFrame) -> Match:
    """accounts: account_id and name columns. Tiers stop at the first that finds anything."""
    text = query.strip()
    if not text or accounts.empty:
        return Match(query)
    ids = accounts["account_id"].astype(str)
    names = accounts["name"].astype(str)
    exact_id = ids[ids == text]
    if len(exact_id):
        return Match(query, exact_id.iloc[0])
    folded = names.str.casefold()
    needle = text.casefold()
    for mask in (
        folded == needle,
        folded.str.startswith(needle),
        folded.str.contains(needle, regex=False),
    ):
        hits = ids[mask.to_numpy()]
        if len(hits) == 1:
            return Match(query, hits.iloc[0])
        if len(hits) > 1:
            ordered = hits.loc[names[mask.to_numpy()].str.len().sort_values(kind="stable").index]
            return Match(query, candidates=list(ordered.iloc[:MAX_CHOICES]))
    return fuzzy_match(query, ids.tolist(), names.tolist())


def fuzzy_match(
    query: str, ids: Sequence[str], names: Sequence[str], processed: bool = False
) -> Match:
    """The fuzzy tier alone (`names` already through `utils.default_process` when `processed`):
    a caller that has ruled out the other tiers and keeps the processed names skips both."""
    text = query.strip()
    ranked = process.extract(
        utils.default_process(text) if processed else text,
        names,
        scorer=fuzz.partial_ratio,
        processor=None if processed else utils.default_process,
        limit=MAX_CHOICES + 1,
    )
    good = [(score, idx) for _, score, idx in ranked if score >= FUZZY_MIN]
    closest = [ids[idx] for _, _, idx in ranked[:3]]
    if not good:
        return Match(query, closest=closest)
    if len(good) == 1 or good[0][0] - good[1][0] >= CLEAR_LEAD:
        return Match(query, ids[good[0][1]])
    return Match(query, candidates=[ids[idx] for _, idx in good[:MAX_CHOICES]])
