"""What the database is asked for: one window aggregate per model metric, named by its key.

A spec is the part of a metric that decides its raw value (signal, aggregate, window, fill);
the scale, weight and bands stay with the model. The model advisor asks for candidate specs
that no metric uses yet, which is why they are not tied to `Metric`.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.config import Model


@dataclass(frozen=True)
class AggregateSpec:
    key: str
    signal: str
    aggregate: str
    window_days: int
    fill: float | None = None


def specs_of(model: Model) -> list[AggregateSpec]:
    """The model's metrics as aggregate specs, in the model's metric order."""
    return [
        AggregateSpec(key, m.signal, m.aggregate, m.window_days, m.fill)
        for key, m in model.metrics.items()
    ]
