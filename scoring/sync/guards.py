"""Guardrails on mass changes: a sync that would shrink what scoring reads needs a person.

A truncated CRM export would mark most of the portfolio inactive; a broken usage pipeline would
leave most accounts without recent data; a truncated file under `replace: window` would delete
most of a source's rows. Each such sync is refused with `Blocked` (one line: the source, what
would change with numbers, the flag) before the merge transaction starts, so nothing is
changed; `healthbot sync --allow-shrink` confirms it. The removal guard needs the staged rows
in the database and lives in `corrections.py`; these two need only reads.

"Latest 7 days" of a signals source means the latest 7 days of its signals *after the merge*
(stored rows plus the file's): an incremental export of only the new days then never looks
like a drop, while a full export that lost most accounts (or a new week that has them missing)
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from scoring.config.sources import Source
from scoring.errors import Blocked
from scoring.store.bulk import execute, in_list, read_frame
from scoring.sync.accounts import INACTIVE_STATUSES
from scoring.sync.collect import Collected
from scoring.sync.signals import SignalBatch

RECENT_DAYS = 7
MIN_RECENT_ACCOUNTS = 100  # below this a drop is normal noise (sparse signals such as NPS)
CONFIRM = "if this export is complete, run: healthbot sync --allow-shrink"


@dataclass
class RecentAccounts:
    """Accounts with data in the latest 7 days of one signals source, before and after."""

    before: int
    after: int


@dataclass
class Window:
    """One signals source's claim: its signals, the dates its file covers, and its rules."""

    src: int
    label: str
    signals: list[str]
    low: date
    high: date
    replace: bool
    max_removed_percent: float

    def params(self) -> dict[str, object]:
        return {"signals": self.signals, "low": self.low, "high": self.high, "src": self.src}


def percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def refuse_removals(
    subject: str, noun: str, counts: tuple[int, int], dated: str, limit: float, confirmed: bool
) -> None:
    """The removal guard of `replace: window`, for signals and outcomes alike: `counts` is
    (removed, stored) within the file's dates, `dated` that range as text."""
    removed, stored = counts
    share = percent(removed, stored)
    if not confirmed and share > limit:
        raise Blocked(
            f"{subject} would remove {removed:,} of {stored:,} stored {noun} dated {dated}"
            f" ({share:.0f}%, limit {limit:g}%); {CONFIRM}"
        )


def check_accounts(
    conn: sa.Connection,
    export: pd.DataFrame,
    sources: list[tuple[str, Source]],
) -> None:
    """Refuse an accounts export that would mark too many active accounts inactive."""
    stored = read_frame(
        conn,
        "SELECT account_id FROM accounts WHERE inactive_since IS NULL",
        {"account_id": "str"},
    )
    active = pd.Index(stored["account_id"].astype(object))
    if not len(active):
        return
    status = export["status"].astype(object).where(export["status"].notna(), "")
    closed = status.astype(str).str.strip().str.lower().isin(INACTIVE_STATUSES).to_numpy()
    staying = pd.Index(export["account_id"].astype(object)[~closed])
    missing = int((~active.isin(staying)).sum())  # left out of the export, or closed in it
    limit = min(source.max_inactive_percent for _, source in sources)
    share = percent(missing, len(active))
    if share > limit:
        names = " + ".join(f'"{label}"' for label, _ in sources)
        raise Blocked(
            f"accounts source {names} would mark {missing:,} of {len(active):,} active accounts"
            f" inactive ({share:.0f}%, limit {limit:g}%); {CONFIRM}"
        )


def source_signals(batch: SignalBatch, source: Source) -> list[str]:
    """The signals a source speaks for: those it declares, else those its file delivers."""
    names = set(batch.signals[np.unique(batch.sig)]) if len(batch) else set()
    return sorted(names | set(source.signals or []))


def recent_accounts(
    conn: sa.Connection, batch: SignalBatch, source: Source, window: tuple[date, date] | None
) -> RecentAccounts:
    """Accounts with data in the latest 7 days of the source's signals, now and after the
    merge (`window`: the file's dates, whose stored rows `replace: window` removes)."""
    names = source_signals(batch, source)
    if not names:
        return RecentAccounts(0, 0)
    params = {"signals": names}
    cursor = execute(
        conn, f"SELECT MAX(date) FROM signals WHERE {in_list(conn, 'signal', 'signals')}", params
    )
    stored_max = cursor.fetchone()[0]
    cursor.close()
    stored_max = None if stored_max is None else pd.Timestamp(stored_max).date()
    before = _stored_ids(conn, params, stored_max, None) if stored_max else pd.Index([])
    file_max = pd.Timestamp(batch.day.max()).date() if len(batch) else None
    known = [d for d in (stored_max, file_max) if d is not None]
    if not known:
        return RecentAccounts(0, 0)
    latest = max(known)
    kept = _stored_ids(conn, params, latest, window if source.replace else None)
    start = np.datetime64(latest - timedelta(days=RECENT_DAYS - 1), "D")
    fresh = batch.day >= start
    from_file = pd.Index(batch.accounts[np.unique(batch.acc[fresh])].astype(object))
    return RecentAccounts(len(before), len(kept.union(from_file)))


def _stored_ids(
    conn: sa.Connection,
    params: dict[str, object],
    latest: date,
    removed: tuple[date, date] | None,
) -> pd.Index:
    """Distinct stored accounts with the signals in the 7 days ending `latest`, leaving out
    rows dated within `removed` (which a `replace: window` sync takes away)."""
    where = f"{in_list(conn, 'signal', 'signals')} AND date >= :start AND date <= :end"
    bounds = {"start": latest - timedelta(days=RECENT_DAYS - 1), "end": latest}
    if removed is not None:
        where += " AND (date < :low OR date > :high)"
        bounds |= {"low": removed[0], "high": removed[1]}
    frame = read_frame(
        conn,
        f"SELECT DISTINCT account_id FROM signals WHERE {where}",
        {"account_id": "str"},
        {**params, **bounds},
    )
    return pd.Index(frame["account_id"].astype(object))


def check_recent(label: str, source: Source, counts: RecentAccounts) -> None:
    """Refuse a signals source whose recent accounts fall by more than its limit."""
    if counts.before < MIN_RECENT_ACCOUNTS or counts.after >= counts.before:
        return
    fall = percent(counts.before - counts.after, counts.before)
    if fall > source.max_drop_percent:
        raise Blocked(
            f'signals source "{label}" would leave {counts.after:,} accounts with data in the'
            f" latest {RECENT_DAYS} days, down from {counts.before:,} ({fall:.0f}% fewer,"
            f" limit {source.max_drop_percent:g}%); {CONFIRM}"
        )


def file_window(batch_days: np.ndarray) -> tuple[date, date] | None:
    """The min..max date a file covers (None when it has no rows)."""
    if not len(batch_days):
        return None
    return pd.Timestamp(batch_days.min()).date(), pd.Timestamp(batch_days.max()).date()


def check_mass_changes(
    conn: sa.Connection,
    sources: Collected,
    model_sources: list[Source],
    labels: list[str],
    allow_shrink: bool,
) -> list[Window]:
    """The checks that need only reads (accounts, recent signal accounts), then each signals
    source's window for `corrections.py`. Raises Blocked unless `allow_shrink`."""
    if sources.export is not None and not allow_shrink:
        accounts = [(labels[i], model_sources[i]) for i in sources.account_batches]
        check_accounts(conn, sources.export, accounts)
    windows: list[Window] = []
    for i, batch in sources.signal_batches.items():
        source = model_sources[i]
        dates = file_window(batch.day)
        counts = recent_accounts(conn, batch, source, dates)
        sources.summaries[i].recent_accounts = counts.after
        if not allow_shrink:
            check_recent(labels[i], source, counts)
        if dates is not None:
            windows.append(
                Window(
                    i,
                    labels[i],
                    source_signals(batch, source),
                    *dates,
                    replace=source.replace is not None,
                    max_removed_percent=source.max_removed_percent,
                )
            )
    return windows
