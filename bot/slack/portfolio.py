"""The latest period in memory for the Slack app, which answers hundreds of lookups a second.

`Portfolio` keeps the latest period per process, so a lookup reads only its one account's
history, freshness and button clicks from the database: never the whole portfolio. The cache
notices a new scoring run or a sync with three index lookups (the latest period, when it was
written, the last run in the run ledger) at most every `CHECK_SECONDS`, and reloads in the
background while requests keep using the previous period.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from rapidfuzz import utils
from sqlalchemy.engine import Engine

from bot.slack.cards import WRITTEN_SQL, card_for, not_scored, playbook_names
from scoring.batch.views import PeriodView, latest_period, load_period
from scoring.config import Model
from scoring.decisions.card import AccountRows
from scoring.decisions.playbooks import order_by_urgency
from scoring.matching import Match, find_account, fuzzy_match
from scoring.store import load_accounts

log = logging.getLogger("healthbot.portfolio")
CHECK_SECONDS = 2.0
_SEP = "\x00"


class NameIndex:
    """`scoring.matching.find_account` over 100,000 names at lookup speed, same answers.

    An exact id, or a name only one account has, is a dict hit. The prefix tier is a binary
    search in the sorted folded names; when it finds nothing, the substring tier is one C-level
    scan of all folded names joined by NUL. Either way `find_account` itself then decides, on
    just the rows found (every tier before the fuzzy one only matches those), so the answers are
    its answers; only a query that no name contains goes through every name (the fuzzy tier).
    """

    def __init__(self, accounts: pd.DataFrame) -> None:
        self.accounts = accounts[["account_id", "name"]].reset_index(drop=True)
        self.by_id = {str(a): i for i, a in enumerate(self.accounts["account_id"])}
        folded = [str(n).casefold() for n in self.accounts["name"]]
        self.by_name: dict[str, int | None] = {}
        for i, name in enumerate(folded):  # None marks a name shared by several accounts
            self.by_name[name] = None if name in self.by_name else i
        self.order = sorted(range(len(folded)), key=folded.__getitem__)
        self.sorted_names = [folded[i] for i in self.order]
        self.usable = not any(_SEP in f for f in folded)
        self.joined = _SEP.join(folded)
        self.starts = np.cumsum([0] + [len(f) + 1 for f in folded[:-1]])
        self.ids = [str(a) for a in self.accounts["account_id"]]
        self.processed = [utils.default_process(str(n)) for n in self.accounts["name"]]

    def find(self, query: str) -> Match:
        text = query.strip()
        if not text:
            return Match(query)
        if text in self.by_id:
            return Match(query, text)
        needle = text.casefold()
        row = self.by_name.get(needle)
        if row is not None:
            return Match(query, str(self.accounts["account_id"].iloc[row]))
        start = bisect.bisect_left(self.sorted_names, needle)
        end = bisect.bisect_left(self.sorted_names, needle + "\U0010ffff", lo=start)
        if end - start == 1:  # the one name that starts with it
            return Match(query, str(self.accounts["account_id"].iloc[self.order[start]]))
        if end > start:
            return find_account(query, self.accounts.iloc[sorted(self.order[start:end])])
        if self.usable and _SEP not in needle:
            found = [m.start() for m in re.finditer(re.escape(needle), self.joined)]
            if found:
                rows = np.unique(np.searchsorted(self.starts, found, side="right") - 1)
                return find_account(query, self.accounts.iloc[rows])
            return fuzzy_match(query, self.ids, self.processed, processed=True)
        return find_account(query, self.accounts)


@dataclass(frozen=True)
class Snapshot:
    """One period in memory, with the indexes lookups need (built once per reload)."""

    token: tuple[Any, ...]
    view: PeriodView
    names: NameIndex
    rows: dict[str, int]
    columns: Columns  # view.scores, view.metrics and view.drivers as numpy columns
    metric_rows: dict[str, np.ndarray]
    driver_rows: dict[str, np.ndarray]
    playbooks: dict[str, Any]
    worst: pd.DataFrame  # every scored account, lowest score first (unscored last)
    by_owner: dict[str, np.ndarray]  # folded owner email -> rows of `worst`
    urgent: pd.DataFrame  # scored accounts below the top band, most ARR at stake first
    by_segment: dict[str, np.ndarray]  # folded segment -> rows of `urgent`
    stored_by_owner: dict[str, np.ndarray]  # folded owner email -> rows of `names.accounts`

    @classmethod
    def load(cls, engine: Engine, model: Model, token: tuple[Any, ...]) -> Snapshot:
        view = load_period(engine, token[0])
        scores = view.scores
        score = pd.to_numeric(scores["score_shown"], errors="coerce").fillna(1e9)
        worst = scores.assign(_s=score).sort_values(["_s", "account_id"]).drop(columns="_s")
        rank = pd.to_numeric(scores["band_rank"], errors="coerce")
        urgent = order_by_urgency(scores[(rank > 0).fillna(False).to_numpy(dtype=bool)])
        playbooks = playbook_names(model, scores, view.drivers)
        accounts = load_accounts(engine).reset_index(drop=True)
        return cls(
            token=token,
            view=view,
            names=NameIndex(accounts),
            rows={str(a): i for i, a in enumerate(scores["account_id"])},
            columns=Columns(scores, view.metrics, view.drivers),
            metric_rows=_positions(view.metrics["account_id"], fold=False),
            driver_rows=_positions(view.drivers["account_id"], fold=False),
            playbooks=dict(zip(playbooks.index.tolist(), playbooks.tolist(), strict=True)),
            worst=worst.reset_index(drop=True),
            by_owner=_positions(worst["owner_email"]),
            urgent=urgent,
            by_segment=_positions(urgent["segment"]),
            stored_by_owner=_positions(accounts["owner_email"]),
        )

    def one(self, account_id: str) -> AccountRows:
        row = self.rows.get(account_id)
        if row is None:
            raise not_scored(account_id, self.view.period)
        empty = np.array([], dtype=int)
        return AccountRows(
            self.view.period,
            self.columns.score_row(row),
            self.columns.metric_records(self.metric_rows.get(account_id, empty)),
            self.columns.driver_records(self.driver_rows.get(account_id, empty)),
        )


class Columns:
    """A period's frames as numpy arrays, one per column: a card's records are built from a
    handful of array lookups instead of slicing 100,000-row frames."""

    def __init__(self, scores: pd.DataFrame, metrics: pd.DataFrame, drivers: pd.DataFrame):
        self.scores = _arrays(scores)
        self.metrics = _arrays(metrics)
        self.drivers = _arrays(drivers)

    def score_row(self, i: int) -> dict[str, Any]:
        return {name: values[i] for name, values in self.scores.items()}

    def metric_records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        return _records(self.metrics, rows)

    def driver_records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        return _records(self.drivers, rows)


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {str(c): frame[c].to_numpy(dtype=object) for c in frame.columns}


def _records(columns: dict[str, np.ndarray], rows: np.ndarray) -> list[dict[str, Any]]:
    return [{name: values[i] for name, values in columns.items()} for i in rows]


def _positions(column: pd.Series, fold: bool = True) -> dict[str, np.ndarray]:
    """Value (case-folded) -> row positions in frame order; pandas' groupby `.indices` takes
    seconds on 100,000 Arrow strings, factorize + one stable argsort takes milliseconds."""
    values = [("" if v is None or v != v else str(v)) for v in column.tolist()]
    codes, uniques = pd.factorize(np.array([v.casefold() for v in values] if fold else values))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(u): order[bounds[i] : bounds[i + 1]] for i, u in enumerate(uniques)}


class Portfolio:
    """The latest period per process for the Slack app; see the module docstring."""

    def __init__(self, engine: Engine, model: Model, check_seconds: float = CHECK_SECONDS):
        self.engine, self.model, self.check_seconds = engine, model, check_seconds
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load in the background now, so that the first lookup does not wait for it."""

        def load() -> None:
            try:
                self.snapshot()
            except Exception as exc:  # the first request tells the user
                log.warning("portfolio not loaded yet: %s", exc)

        threading.Thread(target=load, name="healthbot-warm", daemon=True).start()

    def snapshot(self) -> Snapshot:
        """The current snapshot; the first call loads it, later ones at most check for news."""
        current = self._snapshot
        if current is None:
            with self._lock:
                if self._snapshot is None:
                    self._reload()
                assert self._snapshot is not None
                return self._snapshot
        if time.monotonic() - self._checked >= self.check_seconds and not self._lock.locked():
            self._checked = time.monotonic()
            threading.Thread(target=self._refresh, name="healthbot-refresh", daemon=True).start()
        return current

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._reload()
        except Exception:
            log.exception("could not refresh the portfolio; still serving the previous one")
        finally:
            self._lock.release()

    def _reload(self) -> None:
        self._checked = time.monotonic()
        token = self._token()
        if self._snapshot is None or self._snapshot.token != token:
            started = time.perf_counter()
            self._snapshot = Snapshot.load(self.engine, self.model, token)
            log.info("loaded %s in %.1f s", token[0], time.perf_counter() - started)

    def _token(self) -> tuple[Any, ...]:
        """Three index lookups: the latest period, when it was written (a save stamps all its
        rows alike, so scoring it again changes this), and the last run in the run ledger (a
        sync that changed accounts between scoring runs)."""
        with self.engine.connect() as conn:
            period = conn.execute(sa.text("SELECT max(period) FROM score_snapshots")).scalar()
            written = conn.execute(WRITTEN_SQL, {"p": period}).scalar()
            run = conn.execute(sa.text("SELECT max(id) FROM runs")).scalar()
        return (period or latest_period(self.engine), str(written), run)  # None: it raises

    def find(self, query: str) -> Match:
        return self.snapshot().names.find(query)

    def name_of(self, account_id: str) -> str:
        names = self.snapshot().names
        row = names.by_id.get(account_id)
        return account_id if row is None else str(names.accounts["name"].iloc[row])

    def card(self, account_id: str) -> dict[str, Any]:
        snap = self.snapshot()
        one = snap.one(account_id)
        return card_for(self.engine, self.model, one, snap.playbooks.get(account_id))

    def owner_of(self, account_id: str) -> str | None:
        """The owner email of an account scored this period (None: no owner, or not scored)."""
        snap = self.snapshot()
        row = snap.rows.get(account_id)
        owner = None if row is None else snap.columns.scores["owner_email"][row]
        return owner if isinstance(owner, str) and owner else None

    def owned(self, email: str) -> pd.DataFrame:
        """Accounts scored this period whose owner is `email` (any case), worst first."""
        snap = self.snapshot()
        return snap.worst.iloc[snap.by_owner.get(email.casefold(), np.array([], dtype=int))]

    def owned_ids(self, email: str) -> list[str]:
        """Every stored account whose owner is `email` (any case), with a score this period or
        not: an alert of an earlier week may be about an account that has none now."""
        snap = self.snapshot()
        rows = snap.stored_by_owner.get(email.casefold(), np.array([], dtype=int))
        return [snap.names.ids[i] for i in rows]

    def urgent(self, segment: str | None = None) -> pd.DataFrame:
        """Accounts below the top band, most ARR at stake first; optionally one segment's."""
        snap = self.snapshot()
        if not segment:
            return snap.urgent
        rows = snap.by_segment.get(segment.casefold(), np.array([], dtype=int))
        return snap.urgent.iloc[rows]

    def segments(self) -> list[str]:
        seg = self.snapshot().view.scores["segment"].dropna().astype(str)
        return sorted(set(seg))
