"""What each source contributed to a sync, and the name each source goes by.

`healthbot sync` prints one `SourceSummary.line()` per source; the same numbers go into the
run's details in the runs log.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.config.sources import Source


@dataclass
class SourceSummary:
    """What one source contributed: printed as one line by `healthbot sync`."""

    source: str
    kind: str
    rows_read: int = 0
    values: int = 0  # observations after validation (a wide row holds several)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # unknown accounts with `unknown_accounts: skip`, unlisted signals
    combined: int = 0  # duplicate rows merged by `combine`
    inactive: int = 0  # accounts missing from the export, inactive from today
    removed: int = 0  # stored rows a `replace: window` source no longer has, deleted
    replaced: int = 0  # outcomes whose account and date now carry another outcome
    ignored: int = 0  # stored rows absent from a re-export without `replace` (kept)
    recent_accounts: int | None = None  # signals: accounts with data in the latest 7 days
    rescore: str | None = None  # the command that rescores the periods this sync changed
    in_place: str | None = None  # the table of a source read in place (validated, not copied)

    def line(self) -> str:
        if self.in_place is not None:
            return (
                f"{self.kind} {self.source}: {self.rows_read:,} rows validated in place (table"
                f" {self.in_place}, not copied); {self.skipped:,} skipped"
            )
        read = f"{self.rows_read:,} rows read"
        if self.kind == "signals" and self.values != self.rows_read:
            read += f" ({self.values:,} values)"
        parts = [
            f"{self.inserted:,} inserted",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
        ]
        if self.kind != "accounts":
            parts.append(f"{self.skipped:,} skipped")
        if self.combined:
            parts.append(f"{self.combined:,} combined")
        if self.inactive:
            parts.append(f"{self.inactive:,} marked inactive")
        if self.replaced:
            parts.append(f"{self.replaced:,} replaced")
        if self.removed:
            parts.append(f"{self.removed:,} removed")
        return f"{self.kind} {self.source}: {read}; {', '.join(parts)}"

    def notes(self) -> list[str]:
        """Warnings and advice printed under the summary line."""
        out: list[str] = []
        if self.ignored:
            out.append(
                f"  warning: {self.ignored:,} stored rows of accounts this file covers, dated"
                " within its dates, are missing from it and were kept; if they were corrected"
                f" or retracted, set `replace: window` on source {self.source}"
            )
        if self.rescore:
            out.append(f"  note: {self.rescore}")
        return out


def source_labels(sources: list[Source]) -> list[str]:
    """Each source's name for messages and the signals.source column, unique within the file."""
    labels: list[str] = []
    for source in sources:
        label, n = source.label, 2
        while label in labels:
            label, n = f"{source.label} ({n})", n + 1
        labels.append(label)
    return labels
