"""Printing data as text, JSON (one array of objects) or CSV, to stdout or --output FILE."""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.errors import HealthbotError


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
        write_output(target, body)
        print(f"wrote {len(frame)} rows to {target}", file=sys.stderr)
    else:
        sys.stdout.write(body)


def _refuse(path: Path, problem: str) -> HealthbotError:
    return HealthbotError(f"cannot write --output {path}: {problem}")


def check_output(target: str | Path, kind: str = "file", creates_folders: bool = False) -> Path:
    """Refuse an --output FILE (or a DIR, which is created) that cannot be written, before the
    command does its work: one line naming the path and the problem, never a traceback.
    `creates_folders`: the command makes a FILE's missing folders (calibrate does)."""
    path = Path(target).expanduser()
    if kind == "file" and path.is_dir():
        raise _refuse(path, "it is a folder; give a file name")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise _refuse(path, "it is a file; give a folder")
    existing = path if path.exists() else path.parent
    while not existing.exists():  # a folder still to be created: its nearest existing parent
        existing = existing.parent
    if existing != path and not existing.is_dir():
        raise _refuse(path, f"{existing} is a file, not a folder")
    if kind == "file" and not creates_folders and not path.parent.exists():
        raise _refuse(path, f"the folder {path.parent} does not exist")
    if not os.access(existing, os.W_OK):
        raise _refuse(path, "permission denied")
    return path


def write_output(target: str | Path, body: str) -> None:
    """Write a command's output file; an OS refusal is one line (what a check could not
    foresee: a full disk, a file made read-only meanwhile)."""
    try:
        Path(target).expanduser().write_text(body, encoding="utf-8")
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno == errno.ENOENT:
            reason = f"the folder {Path(target).parent} does not exist"
        raise _refuse(Path(target), reason.lower() if exc.errno else reason) from None


def check_output_option(ctx: Any) -> None:
    """`preflight` of the commands with `--output FILE` (bot/cli/context.py)."""
    if getattr(ctx.args, "output", None):
        check_output(ctx.args.output)
