"""Warnings about models that load but that the field knows to be bad practice."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.config import Model

MAX_METRICS = 7


@dataclass(frozen=True)
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def lint(model: Model) -> list[Finding]:
    """Bad-practice findings: warnings, errors only under `check --strict`. Mistakes that
    silently change scores (a signal never synced, a segment matching nobody) are errors of
    their own, in `scoring/config/data_checks.py`."""
    findings: list[Finding] = []
    if len(model.metrics) > MAX_METRICS:
        findings.append(
            Finding(
                "metrics",
                f"{len(model.metrics)} metrics; more than "
                f"{MAX_METRICS} makes a score hard to explain and act on",
            )
        )
    for where, weights in [("metrics", model.segment_weights(None))] + [
        (f"segments.{name}.weights", model.segment_weights(name)) for name in model.segments
    ]:
        total = sum(weights.values())
        for key, weight in weights.items():
            if total > 0 and weight / total > 0.5:
                findings.append(
                    Finding(
                        f"{where}.{key}" if where != "metrics" else f"metrics.{key}.weight",
                        f"holds {weight / total:.0%} of the weight; one metric"
                        " above half makes the score a proxy for that metric",
                    )
                )
    return findings
