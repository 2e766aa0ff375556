"""Printing data as text, JSON (one array of objects) or CSV, to stdout or --output FILE."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd


def _plain(value: Any) -> Any:
    """JSON-safe scalars: NaN/NaT become null, dates ISO strings, numpy scalars Python ones."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def emit(
    args: argparse.Namespace,
    data: pd.DataFrame | Sequence[dict[str, Any]],
    text: Callable[[], str],
) -> None:
    """Write `data` in the chosen format; `text` renders the human view only when asked for."""
    fmt = getattr(args, "format", "text")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    if fmt == "json":
        body = json.dumps(records(frame), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        body = frame.to_csv(index=False, date_format="%Y-%m-%d")
    else:
        body = text()
        if body and not body.endswith("\n"):
            body += "\n"
    target = getattr(args, "output", None)
    if target:
        Path(target).write_text(body, encoding="utf-8")
        print(f"wrote {len(frame)} rows to {target}", file=sys.stderr)
    else:
        sys.stdout.write(body)
