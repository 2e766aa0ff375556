"""The model file: schema, loading and validation; `lint` (the `healthbot check` warnings) and
`reference` (the generated model-file reference) sit beside it.

May import: the shared basics (`scoring.errors`) only: every other package reads the model.
"""

from scoring.config.loader import DEFAULT_PATH, load_model, parse_model, resolve_path
from scoring.config.metrics import AGGREGATES, INSUFFICIENT_DATA, Band, Metric, Scale, Segment
from scoring.config.model import Model

__all__ = [
    "AGGREGATES",
    "DEFAULT_PATH",
    "INSUFFICIENT_DATA",
    "Band",
    "Metric",
    "Model",
    "Scale",
    "Segment",
    "load_model",
    "parse_model",
    "resolve_path",
]
