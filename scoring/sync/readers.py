"""Reading a source as it is: CSV and Parquet files (paths or globs) and SQL queries.

Nothing is interpreted here beyond the file format: CSV cells stay text (so an error can quote
exactly what the user wrote), Parquet and SQL keep their native types. Every row remembers where
it came from, so a validation error can point at it:

- CSV: "line N", the line in the file, the header being line 1 (the first data row is line 2);
- Parquet and SQL: "row N", the N-th data row (the first is row 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from scoring.config.sources import Source
from scoring.errors import DataError, HealthbotError
from scoring.store.db import first_line, normalize_url, shown_url
from scoring.sync.encodings import guess_encoding, head_of, not_utf8

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class RawTable:
    """A source's rows as read, plus where each row came from (for error messages)."""

    label: str
    frame: pd.DataFrame
    files: list[str]
    file_index: np.ndarray  # per row: which of `files`
    row_number: np.ndarray  # per row: its line/row number within that file
    unit: str  # "line" (CSV) or "row"
    text: bool  # every cell is a str as typed in the file (CSV)

    def where(self, pos: int) -> str:
        """`line 7`, or `b.parquet row 7` when the source spans several files."""
        number = f"{self.unit} {int(self.row_number[pos])}"
        if len(self.files) > 1:
            return f"{self.files[int(self.file_index[pos])]} {number}"
        return number

    def fail(self, problem: str, pos: int | None = None, column: str | None = None) -> DataError:
        """A DataError naming the source, the row, the column and the problem."""
        parts = [self.where(pos)] if pos is not None else []
        if column is not None:
            parts.append(f"column {column}")
        where = f": {', '.join(parts)}" if parts else ""
        return DataError(f"source {self.label}{where}: {problem}; sync changed nothing")


def read_source(source: Source, label: str, model_dir: Path) -> RawTable:
    """Read every row of a source (all its files, or its query's result)."""
    if source.url is not None:
        return _read_query(source, label)
    return _read_files(source, label, model_dir)


def source_paths(source: Source, model_dir: Path) -> tuple[Path, list[Path]]:
    """(the path as written, resolved against the model file's folder; the files it names
    now): one glob pattern or one file. Sync reads them, blocked runs fingerprint them."""
    pattern = source.path or ""
    base = Path(pattern).expanduser()
    if not base.is_absolute():
        base = model_dir / base
    if any(ch in pattern for ch in "*?["):
        anchor = Path(base.anchor)
        return base, sorted(p for p in anchor.glob(str(base.relative_to(anchor))) if p.is_file())
    return base, [base] if base.is_file() else []


def _read_files(source: Source, label: str, model_dir: Path) -> RawTable:
    base, paths = source_paths(source, model_dir)
    if not paths:
        if any(ch in (source.path or "") for ch in "*?["):
            raise DataError(
                f"source {label}: no file matches {source.path} (looked in {model_dir})"
            )
        raise DataError(f"source {label}: file not found: {base}")
    tables = [_read_file(label, path, model_dir, source.encoding) for path in paths]
    if len(tables) == 1:
        return tables[0]
    columns = list(tables[0].frame.columns)
    for table in tables[1:]:
        if list(table.frame.columns) != columns and set(table.frame.columns) != set(columns):
            raise DataError(
                f"source {label}: {table.files[0]} has columns {list(table.frame.columns)},"
                f" but {tables[0].files[0]} has {columns}; files of one source must match"
            )
    frame = pd.concat([t.frame[columns] for t in tables], ignore_index=True)
    return RawTable(
        label=label,
        frame=frame,
        files=[t.files[0] for t in tables],
        file_index=np.concatenate(
            [np.full(len(t.frame), i, dtype=np.int32) for i, t in enumerate(tables)]
        ),
        row_number=np.concatenate([t.row_number for t in tables]),
        unit=tables[0].unit,
        text=all(t.text for t in tables),
    )


def _shown_path(path: Path, model_dir: Path) -> str:
    try:
        return str(path.relative_to(model_dir))
    except ValueError:
        return str(path)


def _read_file(label: str, path: Path, model_dir: Path, encoding: str | None) -> RawTable:
    name = path.name.lower()
    shown = _shown_path(path, model_dir)
    if name.endswith(PARQUET_SUFFIXES):
        frame, unit, text, first = _read_parquet(label, path, shown), "row", False, 1
    elif name.endswith(CSV_SUFFIXES):
        frame, unit, text, first = _read_csv(label, path, shown, encoding), "line", True, 2
    else:
        raise DataError(
            f"source {label}: {shown}: unknown file type (use .csv, .csv.gz, .parquet or .pq)"
        )
    if frame.empty:
        raise DataError(f"source {label}: {shown} has no data rows; sync changed nothing")
    return RawTable(
        label=label,
        frame=frame,
        files=[shown],
        file_index=np.zeros(len(frame), dtype=np.int32),
        row_number=np.arange(first, first + len(frame), dtype=np.int64),
        unit=unit,
        text=text,
    )


def _read_csv(label: str, path: Path, shown: str, encoding: str | None) -> pd.DataFrame:
    """Every cell as text; an empty cell is an empty string, never a guessed NaN.

    Without `encoding:` the file must be UTF-8: one that looks like another encoding is refused
    with a line naming it (scoring/sync/encodings.py), before the parser reports nonsense."""
    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(encoding=encoding or "utf8")
    try:
        if encoding is None and (guess := guess_encoding(head_of(path))) is not None:
            raise DataError(not_utf8(label, shown, guess))
        with pacsv.open_csv(path, read_options=read, parse_options=parse) as reader:
            names = reader.schema.names
        _check_header(label, shown, names)
        table = pacsv.read_csv(
            path,
            read_options=read,
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc).splitlines()[0]
        if "Empty CSV file" in message:
            raise DataError(f"source {label}: {shown} is empty; sync changed nothing") from None
        guess = None
        if encoding is None and "invalid UTF8" in message:  # past the bytes sniffed above
            guess = guess_encoding(head_of(path, None), complete=True)
        if guess is not None:
            raise DataError(not_utf8(label, shown, guess)) from None
        raise DataError(f"source {label}: {shown} is not valid CSV: {message}") from None
    except UnicodeError as exc:  # the declared `encoding:` does not fit the file
        raise DataError(
            f"source {label}: cannot read {shown} as {encoding} (`encoding:`): {exc};"
            " sync changed nothing"
        ) from None
    except OSError as exc:
        raise DataError(f"source {label}: cannot read {shown}: {exc}") from None
    return table.to_pandas()


def _check_header(label: str, shown: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"source {label}: {shown}: column {name} appears twice in the header")
        seen.add(name)


def _read_parquet(label: str, path: Path, shown: str) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"source {label}: cannot read {shown} as Parquet: {message}") from None
    _check_header(label, shown, table.schema.names)
    return table.to_pandas()


def _read_query(source: Source, label: str) -> RawTable:
    """Run the query against its own engine (never healthbot's: a warehouse is read-only)."""
    assert source.url is not None and source.query is not None
    try:
        url = normalize_url(source.url)
    except HealthbotError:
        raise DataError(f"source {label}: the url is not a valid SQLAlchemy URL") from None
    engine = None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result = conn.exec_driver_sql(source.query)
            columns = list(result.keys())
            rows = result.fetchall()
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        raise DataError(
            f"source {label}: query against {shown_url(url)} failed: {first_line(exc, url)}"
        ) from None
    finally:
        if engine is not None:
            engine.dispose()
    _check_header(label, "query", columns)
    if not rows:
        raise DataError(f"source {label}: the query returned no rows; sync changed nothing")
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    return RawTable(
        label=label,
        frame=frame,
        files=["query"],
        file_index=np.zeros(len(frame), dtype=np.int32),
        row_number=np.arange(1, len(frame) + 1, dtype=np.int64),
        unit="row",
        text=False,
    )
