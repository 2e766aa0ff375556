"""The whole model file as one frozen, validated object."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property

from pydantic import Field, field_validator, model_validator

from scoring.config.crontab import zone_problem
from scoring.config.hints import closest
from scoring.config.metrics import (
    DEFAULT_COLORS,
    Band,
    Metric,
    Segment,
    Strict,
    check_bands,
    readable,
)
from scoring.config.sections import (
    Access,
    Advise,
    Alerts,
    Backtest,
    Chart,
    Delivery,
    DigestTarget,
    Playbook,
    Retention,
    Schedule,
)
from scoring.config.signal_bounds import DateLimits, SignalBounds
from scoring.config.sources import Source

DEFAULT_BANDS = [
    Band(name="healthy", min=80),
    Band(name="at_risk", min=50),
    Band(name="critical", min=0),
]


class Model(Strict):
    timezone: str = "UTC"
    min_completeness: float = Field(default=0.5, ge=0, le=1)
    bands: list[Band] = Field(default_factory=lambda: list(DEFAULT_BANDS))
    metrics: dict[str, Metric]
    segments: dict[str, Segment] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)
    schedule: Schedule = Field(default_factory=Schedule)
    admin_channel: str | None = None
    alerts: Alerts = Field(default_factory=Alerts)
    delivery: Delivery = Field(default_factory=Delivery)
    playbooks: list[Playbook] = Field(default_factory=list)
    digest: list[DigestTarget] = Field(default_factory=list)
    chart: Chart = Field(default_factory=Chart)
    access: Access = Field(default_factory=Access)
    retention: Retention = Field(default_factory=Retention)
    backtest: Backtest = Field(default_factory=Backtest)
    advise: Advise = Field(default_factory=Advise)
    signals: dict[str, SignalBounds] = Field(default_factory=dict)
    date_limits: DateLimits = Field(default_factory=DateLimits)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if problem := zone_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: list[Band]) -> list[Band]:
        return check_bands(value)

    @field_validator("digest", mode="before")
    @classmethod
    def _digest_one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: dict[str, Metric]) -> dict[str, Metric]:
        if not value:
            raise ValueError("must define at least one metric")
        if not any(m.weight > 0 for m in value.values()):
            raise ValueError("at least one metric needs a weight > 0")
        return {
            key: m if m.label else m.model_copy(update={"label": readable(key)})
            for key, m in value.items()
        }

    @model_validator(mode="after")
    def _cross_references(self) -> Model:
        names = [b.name for b in self.bands]
        for seg_name, seg in self.segments.items():
            for metric in seg.weights:
                if metric not in self.metrics:
                    raise ValueError(
                        f"segments.{seg_name}.weights.{metric}: unknown metric"
                        f" (metrics are {', '.join(self.metrics)})"
                    )
            if seg.bands is not None:
                try:
                    ordered = check_bands(seg.bands)
                except ValueError as exc:
                    raise ValueError(f"segments.{seg_name}.bands: {exc}") from None
                if [b.name for b in ordered] != names:
                    raise ValueError(
                        f"segments.{seg_name}.bands: must use the top-level band names in the"
                        f" same order ({', '.join(names)}), got {[b.name for b in ordered]}"
                    )
            weights = {k: seg.weights.get(k, m.weight) for k, m in self.metrics.items()}
            if not any(w > 0 for w in weights.values()):
                raise ValueError(f"segments.{seg_name}.weights: at least one weight must be > 0")
        drop = self.alerts.metric_drop
        for key in ("min_change", "min_base"):
            for metric in getattr(drop, key, {}):
                if metric not in self.metrics:
                    raise ValueError(
                        f"alerts.metric_drop.{key}.{metric}: unknown metric"
                        f" (metrics are {', '.join(self.metrics)})"
                    )
        for i, playbook in enumerate(self.playbooks):
            when = playbook.when
            if when.driver is not None and when.driver not in self.metrics:
                raise ValueError(
                    f"playbooks[{i}].when.driver: unknown metric {when.driver!r}"
                    f"{closest(when.driver, self.metrics)} (metrics are {', '.join(self.metrics)})"
                )
            if when.band is not None and when.band not in names:
                raise ValueError(
                    f"playbooks[{i}].when.band: unknown band {when.band!r}"
                    f"{closest(when.band, names)} (bands are {', '.join(names)})"
                )
        return self

    @cached_property
    def metric_keys(self) -> list[str]:
        return list(self.metrics)

    def segment_weights(self, segment: str | None) -> dict[str, float]:
        """Weights that apply in a segment (None: the top level)."""
        seg = self.segments.get(segment) if segment else None
        return {
            k: (seg.weights.get(k, m.weight) if seg else m.weight) for k, m in self.metrics.items()
        }

    def segment_bands(self, segment: str | None) -> list[Band]:
        seg = self.segments.get(segment) if segment else None
        if seg is not None and seg.bands is not None:
            return check_bands(seg.bands)
        return self.bands

    def band_color(self, name: str) -> str:
        """A band's colour name: its own, else green/yellow/red by rank, grey for no data."""
        for rank, band in enumerate(self.bands):
            if band.name == name:
                if band.color:
                    return band.color
                return DEFAULT_COLORS[min(rank, len(DEFAULT_COLORS) - 1)]
        return "grey"

    def band_rank(self, name: str | None) -> int | None:
        """0 for the top band; None for insufficient data or an unknown name."""
        for rank, band in enumerate(self.bands):
            if band.name == name:
                return rank
        return None

    @cached_property
    def version(self) -> str:
        """A short hash of everything that changes scores, stored with every snapshot."""
        scoring = self.model_dump(
            include={"min_completeness", "bands", "metrics", "segments"}, mode="json"
        )
        blob = json.dumps(scoring, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
