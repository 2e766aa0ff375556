"""What one advisor candidate is, apart from how its values are computed: both the in-memory
path (`candidates.py`) and the in-place one (`placed_candidates.py`) fill columns named by it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CandidateSpec:
    """One candidate metric: an aggregate of a signal over a window (days)."""

    signal: str
    aggregate: str
    window_days: int

    @property
    def key(self) -> str:
        return f"{self.signal}_{self.aggregate}_{self.window_days}d"
