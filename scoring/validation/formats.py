"""How the validation reports write numbers: percentages, two-decimal AUCs, counts, "—"
for a missing value."""

from __future__ import annotations

import math
from typing import Any


def pct(value: Any, digits: int = 1) -> str:
    return "—" if _missing(value) else f"{100 * float(value):.{digits}f}%"


def num(value: Any, digits: int = 2) -> str:
    return "—" if _missing(value) else f"{float(value):,.{digits}f}"


def count(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
