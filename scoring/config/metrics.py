"""Schema of the scoring part of the model file: metrics, scales, bands, segments."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AGGREGATES = ("mean", "sum", "min", "max", "last", "count", "trend", "days_since")
Aggregate = Literal["mean", "sum", "min", "max", "last", "count", "trend", "days_since"]
INSUFFICIENT_DATA = "insufficient_data"
DEFAULT_COLORS = ("green", "yellow", "red")
COLOR_EMOJI = {
    "green": "🟢",
    "yellow": "🟡",
    "orange": "🟠",
    "red": "🔴",
    "blue": "🔵",
    "purple": "🟣",
    "grey": "⚪",
    "gray": "⚪",
}
COLOR_HEX = {
    "green": "#2e9e44",
    "yellow": "#e8b81d",
    "orange": "#ee7d22",
    "red": "#d6322f",
    "blue": "#2f6fd6",
    "purple": "#8a4fd0",
    "grey": "#9aa0a6",
    "gray": "#9aa0a6",
}


class Strict(BaseModel):
    """Base for every section: unknown keys are errors (a typo must not silently do nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Strict):
    below: float | None = None
    at_least: float | None = None
    score: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _one_condition(self) -> Step:
        if self.below is not None and self.at_least is not None:
            raise ValueError("a step takes `below` or `at_least`, not both")
        return self

    def matches_all(self) -> bool:
        return self.below is None and self.at_least is None


class Scale(Strict):
    """One of three forms: linear {worst, best}, {steps: [...]}, or {percentile: direction}."""

    worst: float | None = None
    best: float | None = None
    steps: list[Step] | None = None
    percentile: Literal["higher_is_better", "lower_is_better"] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Scale:
        linear = self.worst is not None or self.best is not None
        forms = [linear, self.steps is not None, self.percentile is not None]
        if sum(forms) != 1:
            raise ValueError(
                "must be one of {worst, best}, {steps: [...]} or {percentile: higher_is_better"
                " | lower_is_better}"
            )
        if linear:
            if self.worst is None or self.best is None:
                raise ValueError("a linear scale needs both `worst` and `best`")
            if self.worst == self.best:
                raise ValueError(f"`worst` and `best` must differ, both are {self.worst:g}")
        if self.steps is not None:
            if not self.steps:
                raise ValueError("`steps` must list at least one step")
            if not self.steps[-1].matches_all():
                raise ValueError(
                    "the last step must have no `below`/`at_least`, so that every value scores"
                )
        return self

    @property
    def kind(self) -> Literal["linear", "steps", "percentile"]:
        if self.steps is not None:
            return "steps"
        if self.percentile is not None:
            return "percentile"
        return "linear"


class Metric(Strict):
    label: str | None = None
    description: str | None = None
    signal: str = Field(min_length=1)
    aggregate: Aggregate = "mean"
    window_days: int = Field(ge=1, le=3660)
    scale: Scale
    weight: float = Field(ge=0)
    fill: float | None = None


class Band(Strict):
    name: str = Field(min_length=1)
    min: float = Field(ge=0, le=100)
    color: str | None = None
    emoji: str | None = None


def readable(key: str) -> str:
    """`support_tickets` -> "Support tickets": the default label of a metric."""
    words = key.replace("-", "_").split("_")
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:]


def check_bands(bands: list[Band]) -> list[Band]:
    """Order bands top down and enforce unique mins, a lowest min of 0, no reserved name."""
    if not bands:
        raise ValueError("must list at least one band")
    names = [b.name for b in bands]
    if INSUFFICIENT_DATA in names:
        raise ValueError(f"`{INSUFFICIENT_DATA}` is reserved for accounts without enough data")
    if len(set(names)) != len(names):
        raise ValueError(f"band names must be unique, got {names}")
    mins = [b.min for b in bands]
    if len(set(mins)) != len(mins):
        raise ValueError(f"band mins must be unique, got {[f'{m:g}' for m in mins]}")
    ordered = sorted(bands, key=lambda b: -b.min)
    if ordered[-1].min != 0:
        raise ValueError(f"the lowest band must have min 0, got {ordered[-1].min:g}")
    return ordered


class Segment(Strict):
    where: dict[str, str | int | float | bool]
    weights: dict[str, float] = Field(default_factory=dict)
    bands: list[Band] | None = None

    @model_validator(mode="after")
    def _valid(self) -> Segment:
        if not self.where:
            raise ValueError("`where` must name at least one account attribute")
        for name, weight in self.weights.items():
            if weight < 0:
                raise ValueError(f"weights.{name}: must be a number >= 0, got {weight:g}")
        return self
