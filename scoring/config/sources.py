"""Schema of a data source in the model file: a file, a warehouse query copied at sync, or a
warehouse table read in place."""

from __future__ import annotations

import codecs
from typing import Literal

from pydantic import Field, field_validator, model_validator

from scoring.config.metrics import Strict

SourceKind = Literal["accounts", "signals", "outcomes"]


class Source(Strict):
    kind: SourceKind
    name: str | None = None
    path: str | None = None
    url: str | None = None
    query: str | None = None
    # A table or view read where it is (never copied into healthbot's database): `url` is then
    # an ibis backend URL (duckdb://, postgres://, snowflake://, bigquery://, ...).
    table: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    layout: Literal["long", "wide"] = "long"
    encoding: str | None = None  # of a CSV file; None: UTF-8 (scoring/sync/encodings.py)
    unknown_accounts: Literal["reject", "skip"] = "reject"
    combine: Literal["mean", "sum", "max", "last"] | None = None
    signals: list[str] | None = None
    # guardrails (scoring/sync/guards.py): past these a sync needs `--allow-shrink`
    replace: Literal["window"] | None = None
    max_inactive_percent: float = Field(default=10, ge=0, le=100)
    max_drop_percent: float = Field(default=50, ge=0, le=100)
    max_removed_percent: float = Field(default=10, ge=0, le=100)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        """A typo'd codec would otherwise surface only at the next sync."""
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-16, cp1252)") from None
        return value

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.path is None) == (self.url is None):
            raise ValueError(
                "a source needs either `path` (CSV/Parquet) or `url` (with `query` or `table`)"
            )
        if self.url is not None and (self.query is None) == (self.table is None):
            raise ValueError(
                "a `url` source needs either a `query` (its rows are copied at sync) or a"
                " `table` (read where it is, never copied)"
            )
        if self.path is not None and (self.query is not None or self.table is not None):
            raise ValueError("`query` and `table` go with `url`, not with `path`")
        if self.table is not None and self.kind != "signals":
            raise ValueError("`table` (read in place) applies to signals sources")
        if self.table is not None and is_file_table(self.table) and not _absolute(self.table):
            raise ValueError(
                f"`table: {self.table}` names Parquet files by a relative path: the backend"
                " reads it from wherever it runs, so write an absolute path or a URL"
                " (/data/usage/*.parquet, s3://bucket/usage/*.parquet)"
            )
        if self.layout == "wide" and self.kind != "signals":
            raise ValueError("`layout: wide` only applies to signals sources")
        if self.replace is not None and self.kind == "accounts":
            raise ValueError("`replace` applies to signals and outcomes sources")
        if self.encoding is not None and (
            self.url is not None or (self.path or "").lower().endswith((".parquet", ".pq"))
        ):
            raise ValueError("`encoding` applies to CSV files only (Parquet and SQL have theirs)")
        return self

    @property
    def in_place(self) -> bool:
        """Read where it is at every use, never copied: its rows are not healthbot's."""
        return self.table is not None

    @property
    def label(self) -> str:
        return self.name or self.path or self.table or f"{self.kind} query"


def _absolute(location: str) -> bool:
    return location.startswith("/") or "://" in location


def is_file_table(name: str) -> bool:
    """A `table:` naming Parquet files (a path or a glob) rather than a table or view: how
    signals usually sit in a data lake, which Spark (and DuckDB in memory) read in place."""
    return name.lower().rstrip("/").endswith(".parquet")
