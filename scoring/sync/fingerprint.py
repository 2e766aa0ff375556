"""A fingerprint of what a sync would read, so a blocked run can tell when its sources change.

A scheduled run whose sync was refused (`Blocked`) waits for a person, but replacing the bad
export with a good one is also a person acting: the run records this fingerprint when it is
blocked, and the scheduler runs the period again once the sources differ. Files are compared by
size and modification time first and hashed (SHA-256) only when those differ, so an unchanged
multi-gigabyte export costs a `stat` per tick, and a file merely touched does not count as
changed. A query source is fingerprinted by its query text: a warehouse's data can change
under the same query, so such a block is lifted by `healthbot sync --allow-shrink` (or a
changed query). A table read in place is fingerprinted by its data as well (row count, latest
date, sum of the values: one aggregate query, `scoring.store.warehouse.fingerprint`), so a
block lifts when the table is corrected, as it does for a replaced export.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from scoring.config import Model
from scoring.config.sources import Source
from scoring.errors import DataError
from scoring.sync.readers import source_paths

CHUNK = 1 << 20


def _paths(source: Source, model_dir: Path) -> list[Path]:
    """The files a path source reads now (readers.py's own resolution)."""
    return source_paths(source, model_dir)[1]


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _queries(model: Model) -> list[str]:
    """Each query source's query text (a table read in place: its name), hashed (never its
    URL: it may carry credentials)."""
    return [
        hashlib.sha256((s.query or s.table or "").encode()).hexdigest()
        for s in model.sources
        if s.url
    ]


def _tables(model: Model) -> dict[str, dict[str, Any] | None]:
    """Per in-place source (by its sync label) its data fingerprint, dates as ISO text (None:
    unreadable now; the sync says why)."""
    from scoring.store.in_place import in_place_labels
    from scoring.store.warehouse import fingerprint as data_fingerprint
    from scoring.store.warehouse import open_long

    out: dict[str, dict[str, Any] | None] = {}
    for label, source in in_place_labels(model):
        try:
            found = data_fingerprint(open_long(source, label)[1])
        except DataError:
            out[label] = None
            continue
        day = found["max_date"]
        out[label] = found | {"max_date": None if day is None else day.isoformat()}
    return out


def _tables_changed(model: Model, recorded: dict[str, Any]) -> bool:
    from scoring.store.in_place import same_data

    before: dict[str, Any] = recorded.get("tables", {})
    now = _tables(model)
    if sorted(now) != sorted(before):
        return True
    for label, data in now.items():
        if data is None or before[label] is None:
            continue  # unreadable then or now: not a sign that a person corrected it
        if not same_data(before[label], data):
            return True
    return False


def fingerprint(model: Model, model_dir: Path) -> dict[str, Any]:
    """{"files": {path: [size, mtime_ns, sha256]}, "queries": [sha256 of each query],
    "tables": {label: {rows, max_date, value_sum}} (in-place sources only)}."""
    files: dict[str, list[Any]] = {}
    for source in model.sources:
        if source.path is None:
            continue
        for path in _paths(source, Path(model_dir)):
            stat = path.stat()
            files[str(path)] = [stat.st_size, stat.st_mtime_ns, _sha(path)]
    out: dict[str, Any] = {"files": files, "queries": _queries(model)}
    if any(s.in_place for s in model.sources):
        out["tables"] = _tables(model)
    return out


def sources_changed(model: Model, model_dir: Path, recorded: dict[str, Any]) -> bool:
    """Whether the sources differ from a `fingerprint` recorded earlier: another set of
    files or queries, a file whose content changed (hashed only when size or mtime did), or
    a table read in place whose data changed (asked last: it is a query)."""
    if _queries(model) != recorded.get("queries", []):
        return True
    before: dict[str, list[Any]] = recorded.get("files", {})
    now = [p for s in model.sources if s.path is not None for p in _paths(s, Path(model_dir))]
    if sorted({str(p) for p in now}) != sorted(before):
        return True
    for path in now:
        size, mtime, sha = before[str(path)]
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime) and _sha(path) != sha:
            return True
    return "tables" in recorded and _tables_changed(model, recorded)
