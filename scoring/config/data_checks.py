"""Checks of the model file against the data it will score: the mistakes that load fine but
silently change scores.

A segment `where:` that names an attribute or value no account has matches nobody, which
switches that segment's weights and bands off without a word; a metric whose signal is never
stored scores every account without that metric's weight; a playbook for a segment no account
is in never fires. Each is a problem here, refused by every command that scores or syncs
(`bot/cli/context.py`, `bot/jobs/weekly.py`, `scoring/sync/run.py`). Pure: the callers read the
accounts and signal names; an empty database has nothing to check against, so it passes.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.config.hints import closest
from scoring.config.model import Model
from scoring.errors import ConfigError

# Columns the store adds to accounts: bookkeeping, not attributes a segment could mean.
NOT_ATTRIBUTES = frozenset(
    {"first_seen", "inactive_since", "updated_at", "attributes", "_batch", "_pos"}
)
MAX_VALUES_FOR_HINTS = 10_000


@dataclass(frozen=True)
class Problem:
    """One mismatch between the model file and the data: where (a key path) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def where_matches(column: pd.Series, wanted: object) -> np.ndarray:
    """Which rows of an account column equal a `where:` value: text without case, whole
    floats as numbers. The engine's segment rules and these checks share it, so "no account
    has this value" means exactly "this segment matches nobody"."""
    if isinstance(wanted, float) and not isinstance(wanted, bool) and wanted.is_integer():
        numeric = pd.to_numeric(column, errors="coerce")
        return (numeric == wanted).fillna(False).to_numpy(dtype=bool)
    target = str(wanted).lower() if isinstance(wanted, bool) else str(wanted).casefold()
    text = column.astype("string").str.casefold()
    return (text == target).fillna(False).to_numpy(dtype=bool)


def with_attributes(accounts: pd.DataFrame) -> pd.DataFrame:
    """Accounts with a JSON `attributes` column (an export's extra columns, as sync holds them)
    spread into columns of their own, the way the store reads them back."""
    if "attributes" not in accounts:
        return accounts
    text = accounts["attributes"]
    present = text.notna() & (text != "{}")
    out = accounts.drop(columns="attributes")
    if present.any():
        extra = pd.DataFrame.from_records(
            [json.loads(t) for t in text[present]], index=accounts.index[present]
        )
        out = out.join(extra[[c for c in extra.columns if c not in out.columns]])
    return out


def check_against_data(
    model: Model,
    account_attributes: pd.DataFrame | None,
    stored_signals: Collection[str],
    synced_signals: Collection[str] = (),
    in_place_signals: Collection[str] = (),
) -> list[Problem]:
    """Every problem of `model` against the accounts and signal names; [] when none.

    `account_attributes`: one row per account, a column per attribute (None or empty: no
    accounts yet, so segments and playbook segments go unchecked). `stored_signals`: the
    signal names in the database; `synced_signals`: those in the sources a sync is about to
    commit; `in_place_signals`: those present in the sources read in place (`table:`), never
    copied, so never stored: a signal present in a source counts as synced. With no signal
    names at all, metrics go unchecked.
    """
    problems: list[Problem] = []
    if account_attributes is not None and len(account_attributes):
        problems += _segment_problems(model, account_attributes)
        problems += _playbook_problems(model, account_attributes)
    known = set(stored_signals) | set(synced_signals) | set(in_place_signals)
    if known:
        if synced_signals:
            place = "stored or in the sources being synced"
        elif any(source.in_place for source in model.sources):
            place = "stored or in a source read in place"
        else:
            place = "stored"
        problems += _signal_problems(model, known, place)
    return problems


def raise_problems(problems: list[Problem], origin: str) -> None:
    """The first problem as one ConfigError line (with how many more there are)."""
    if not problems:
        return
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    raise ConfigError(f"{origin}: {problems[0]}{more}")


def _attribute_columns(accounts: pd.DataFrame) -> list[str]:
    """Columns with at least one value: an attribute every account lacks is no attribute."""
    names = [c for c in accounts.columns if c not in NOT_ATTRIBUTES and c != "account_id"]
    return [c for c in names if accounts[c].notna().any()]


def _values(column: pd.Series) -> list[str]:
    values = column.dropna().astype(str).unique()
    return list(values[:MAX_VALUES_FOR_HINTS])


def _segment_problems(model: Model, accounts: pd.DataFrame) -> list[Problem]:
    columns = _attribute_columns(accounts)
    problems = []
    for name, segment in model.segments.items():
        for key, wanted in segment.where.items():
            where = f"segments.{name}.where.{key}"
            if key not in columns:
                problems.append(
                    Problem(where, f"no account has an attribute {key!r}{closest(key, columns)}")
                )
            elif not where_matches(accounts[key], wanted).any():
                hint = closest(wanted, _values(accounts[key]))
                message = f"no account has {key} = {wanted!r}, so the segment matches nobody"
                problems.append(Problem(where, f"{message}{hint}"))
    return problems


def _playbook_problems(model: Model, accounts: pd.DataFrame) -> list[Problem]:
    problems = []
    column = accounts["segment"] if "segment" in accounts else pd.Series([], dtype=object)
    for i, playbook in enumerate(model.playbooks):
        wanted = playbook.when.segment
        if wanted is not None and not where_matches(column, wanted).any():
            problems.append(
                Problem(
                    f"playbooks[{i}].when.segment",
                    f"no account is in segment {wanted!r}, so the playbook never applies"
                    f"{closest(wanted, _values(column))}",
                )
            )
    return problems


def _signal_problems(model: Model, known: set[str], place: str) -> list[Problem]:
    problems = []
    for key, metric in model.metrics.items():
        if metric.signal not in known:
            problems.append(
                Problem(
                    f"metrics.{key}.signal",
                    f"no signal {metric.signal!r} is {place}, so scores would leave out this"
                    f" metric's weight{closest(metric.signal, sorted(known))}",
                )
            )
    return problems
