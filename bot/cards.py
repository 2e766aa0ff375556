"""Assemble account cards and lists from the store (shared by `/health` and `healthbot lookup`).

The CLI loads the period once per run (`account_card`). The Slack app answers hundreds of lookups
a second, so `Portfolio` keeps the latest period in memory per process and a lookup then reads
only its one account's history, freshness and button clicks: never the whole portfolio. The
cache notices a new scoring run or a sync with three index lookups (the latest period, when it
was written, the last run in the run ledger) at most every `CHECK_SECONDS`, and reloads in the
background while requests keep using the previous period.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from scoring.card import band_display, card_context
from scoring.config import Model
from scoring.errors import HealthbotError
from scoring.matching import Match, find_account
from scoring.playbooks import choose_playbooks, order_by_urgency, playbook_inputs
from scoring.store import load_accounts
from scoring.store.actions import ACTIONS
from scoring.views import PeriodView, latest_period, load_period

log = logging.getLogger("healthbot.cards")
CHECK_SECONDS = 2.0
# One round trip: the account's shown score per period, each row carrying its latest signal.
HISTORY_SQL = sa.text(
    "SELECT period, score_shown, (SELECT max(date) FROM signals WHERE account_id = :a)"
    " FROM score_snapshots WHERE account_id = :a ORDER BY period"
)
WRITTEN_SQL = sa.text("SELECT created_at FROM score_snapshots WHERE period = :p LIMIT 1")
LAST_SIGNAL_SQL = sa.text("SELECT max(date) FROM signals WHERE account_id = :a")
_SEP = "\x00"


def today_in(model: Model) -> date:
    """Today in the model's time zone (snoozes end on a local day)."""
    return datetime.now(ZoneInfo(model.timezone)).date()


def _value(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def playbook_names(model: Model, view: PeriodView) -> pd.Series:
    """Each account's recommended playbook name (None: no rule matches), by account_id."""
    scores = view.scores
    if not model.playbooks or scores.empty:
        return pd.Series(None, index=scores["account_id"].astype(str), dtype=object)
    inputs = playbook_inputs(scores, scores, view.drivers)
    inputs["previous_delta"] = inputs["account_id"].map(
        scores.set_index(scores["account_id"].astype(str))["previous_delta"]
    )
    as_of = pd.Timestamp(scores["as_of"].iloc[0]).date()
    chosen = choose_playbooks(model, as_of, inputs)
    chosen.index = inputs["account_id"].to_numpy()
    return chosen


def playbook_dict(model: Model, name: Any) -> dict[str, Any] | None:
    for p in model.playbooks:
        if p.name == name:
            return {"name": p.name, "steps": list(p.steps), "links": list(p.links)}
    return None


def slice_view(view: PeriodView, account_id: str) -> PeriodView:
    """The period view cut down to one account (raises when it has no score this period)."""
    mask = (view.scores["account_id"] == account_id).to_numpy()
    if not mask.any():
        raise not_scored(account_id, view.period)
    return PeriodView.of(
        view.period,
        view.scores[mask],
        view.metrics[(view.metrics["account_id"] == account_id).to_numpy()],
        view.drivers[(view.drivers["account_id"] == account_id).to_numpy()],
        view.previous_period,
        view.previous_scores.iloc[0:0],
    )


def not_scored(account_id: str, period: str) -> HealthbotError:
    return HealthbotError(
        f"{account_id} has no score in {period} (churned, or added since the last scoring run)"
    )


def account_rows(
    engine: Engine, account_id: str, today: date
) -> tuple[pd.DataFrame, date | None, dict[str, Any]]:
    """One account's own rows, on one connection with indexed queries (it runs on every
    lookup): its shown score per stored period (the sparkline), its latest signal date, and
    what the clicks on it say (the keys of `scoring.store.actions.alert_state`: the last
    acknowledgement, an active snooze, the last outreach note)."""
    clicks = (
        sa.select(ACTIONS.c.kind, ACTIONS.c.user_id, ACTIONS.c.user_email, ACTIONS.c.created_at)
        .add_columns(ACTIONS.c.until, ACTIONS.c.note, ACTIONS.c.outcome)
        .where(ACTIONS.c.account_id == account_id)
        .order_by(ACTIONS.c.created_at, ACTIONS.c.id)
    )
    with engine.connect() as conn:
        scores = conn.execute(HISTORY_SQL, {"a": account_id}).all()
        last = scores[0][2] if scores else conn.execute(LAST_SIGNAL_SQL, {"a": account_id}).scalar()
        actions = conn.execute(clicks).all()
    shown = np.array([np.nan if r[1] is None else r[1] for r in scores], dtype=float)
    history = pd.DataFrame({"period": [r[0] for r in scores], "score_shown": shown})
    state: dict[str, Any] = {}
    for row in actions:  # oldest first, so the latest of each kind wins
        if row.kind == "ack":
            state["acknowledged_by"] = row.user_email or row.user_id
            state["acknowledged_at"] = str(row.created_at)[:16]
        elif row.kind == "snooze" and row.until is not None and row.until >= today:
            state["snoozed_until"] = str(row.until)
        elif row.kind == "outreach":
            state["last_note"] = f"{row.note}" + (f" ({row.outcome})" if row.outcome else "")
    return history, None if last is None else date.fromisoformat(str(last)[:10]), state


def card_for(
    engine: Engine, model: Model, one: PeriodView, account_id: str, playbook: Any = None
) -> dict[str, Any]:
    """The card context from a one-account view plus that account's own rows in the store."""
    history, last, state = account_rows(engine, account_id, today_in(model))
    return card_context(
        model,
        one,
        account_id,
        history,
        playbook=playbook_dict(model, playbook),
        last_signal=last,
        alert_state=state,
    )


def current_alert_state(engine: Engine, account_id: str, today: date) -> dict[str, Any]:
    return account_rows(engine, account_id, today)[2]


def account_card(
    engine: Engine, model: Model, account_id: str, view: PeriodView | None = None
) -> dict[str, Any]:
    one = slice_view(view or load_period(engine), account_id)
    return card_for(engine, model, one, account_id, playbook_names(model, one).get(account_id))


def list_item(model: Model, row: dict[str, Any]) -> dict[str, Any]:
    """What one line of a list (mine, at-risk, App Home) shows about an account."""
    emoji, label = band_display(model, row["band"])
    renewal = _value(row.get("renewal_date"))
    return {
        "account_id": str(row["account_id"]),
        "name": str(row["name"]),
        "emoji": emoji,
        "band_label": label,
        "score": _value(row.get("score_shown")),
        "delta": _value(row.get("delta")),
        "arr": _value(row.get("arr")),
        "renewal_date": None if renewal is None else str(renewal)[:10],
        "owner": _value(row.get("owner_email")),
    }


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
        return find_account(query, self.accounts)


@dataclass(frozen=True)
class Snapshot:
    """One period in memory, with the indexes lookups need (built once per reload)."""

    token: tuple[Any, ...]
    view: PeriodView
    card_view: PeriodView  # the same frames in numpy dtypes, for card_context (see `_plain`)
    names: NameIndex
    rows: dict[str, int]
    metric_rows: dict[str, np.ndarray]
    driver_rows: dict[str, np.ndarray]
    playbooks: dict[str, Any]
    worst: pd.DataFrame  # every scored account, lowest score first (unscored last)
    by_owner: dict[str, np.ndarray]  # folded owner email -> rows of `worst`
    urgent: pd.DataFrame  # scored accounts below the top band, most ARR at stake first
    by_segment: dict[str, np.ndarray]  # folded segment -> rows of `urgent`

    @classmethod
    def load(cls, engine: Engine, model: Model, token: tuple[Any, ...]) -> Snapshot:
        view = load_period(engine, token[0])
        scores = view.scores
        score = pd.to_numeric(scores["score_shown"], errors="coerce").fillna(1e9)
        worst = scores.assign(_s=score).sort_values(["_s", "account_id"]).drop(columns="_s")
        rank = pd.to_numeric(scores["band_rank"], errors="coerce")
        urgent = order_by_urgency(scores[(rank > 0).fillna(False).to_numpy(dtype=bool)])
        playbooks = playbook_names(model, view)
        card_view = PeriodView.of(
            view.period,
            _plain(scores),
            _plain(view.metrics),
            _plain(view.drivers),
            view.previous_period,
            view.previous_scores.iloc[0:0],
        )
        return cls(
            token=token,
            view=view,
            card_view=card_view,
            names=NameIndex(load_accounts(engine)),
            rows={str(a): i for i, a in enumerate(scores["account_id"])},
            metric_rows=_positions(view.metrics["account_id"], fold=False),
            driver_rows=_positions(view.drivers["account_id"], fold=False),
            playbooks=dict(zip(playbooks.index.tolist(), playbooks.tolist(), strict=True)),
            worst=worst.reset_index(drop=True),
            by_owner=_positions(worst["owner_email"]),
            urgent=urgent,
            by_segment=_positions(urgent["segment"]),
        )

    def one(self, account_id: str) -> PeriodView:
        row = self.rows.get(account_id)
        if row is None:
            raise not_scored(account_id, self.view.period)
        empty = np.array([], dtype=int)
        v = self.card_view
        return PeriodView.of(
            v.period,
            v.scores.iloc[[row]],
            v.metrics.iloc[self.metric_rows.get(account_id, empty)],
            v.drivers.iloc[self.driver_rows.get(account_id, empty)],
            v.previous_period,
            v.previous_scores.iloc[0:0],
        )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain Python objects: pandas works on a one-row slice of those several
    times faster than on Arrow strings, and a card does a few dozen such operations."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)]
    plain = frame.astype(dict.fromkeys(text, object)).copy()  # the copy consolidates blocks
    plain.columns = pd.Index(list(plain.columns), dtype=object)  # labels too: each [] looks one up
    return plain.reset_index(drop=True)


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
        return card_for(self.engine, self.model, one, account_id, snap.playbooks.get(account_id))

    def owned(self, email: str) -> pd.DataFrame:
        """Accounts scored this period whose owner is `email` (any case), worst first."""
        snap = self.snapshot()
        return snap.worst.iloc[snap.by_owner.get(email.casefold(), np.array([], dtype=int))]

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
