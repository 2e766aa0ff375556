"""Scoring jobs at the storage edge: load from the store, run the engine, save snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.engine import Scores, score_accounts
from scoring.periods import period_of
from scoring.store import load_accounts, load_signals, save_snapshots


@dataclass(frozen=True)
class ScoredPeriod:
    period: str
    as_of: date
    scores: Scores

    def summary(self) -> str:
        frame = self.scores.accounts
        counts = frame["band"].value_counts()
        bands = ", ".join(f"{name} {int(n)}" for name, n in counts.items())
        left_out = len(self.scores.excluded)
        churned = f"; {left_out} churned left out" if left_out else ""
        return (
            f"{self.period} (as of {self.as_of}): {len(frame)} accounts scored"
            f"{churned} — {bands or 'no accounts'}"
        )


def lookback_days(model: Model) -> int:
    """How far back a scoring pass reads: the longest metric window."""
    return max(m.window_days for m in model.metrics.values())


def score_and_store(engine: Engine, model: Model, as_ofs: list[date]) -> list[ScoredPeriod]:
    """Score each as-of date (one signal read for all of them) and replace its period's snapshot."""
    accounts = load_accounts(engine)
    first, last = min(as_ofs), max(as_ofs)
    signal_names = sorted({m.signal for m in model.metrics.values()})
    signals = load_signals(engine, first - timedelta(days=lookback_days(model)), last, signal_names)
    out = []
    for as_of in as_ofs:
        scores = score_accounts(model, accounts, signals, as_of)
        period = period_of(as_of)
        save_snapshots(engine, period, as_of, model.version, scores.accounts, scores.metrics)
        out.append(ScoredPeriod(period, as_of, scores))
    return out
