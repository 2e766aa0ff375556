"""What the sync guardrail keys of a source mean, for the generated model reference (kept
apart so reference.py stays under the module size limit)."""

from __future__ import annotations

GUARD_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "sources[].replace": (
        "`window`: the source is the full truth for the dates it covers (its min..max date):"
        " stored rows of its signals (outcomes) in that range that it no longer has are removed."
        " Default: upsert, never remove.",
        "window",
    ),
    "sources[].max_inactive_percent": (
        "Accounts source: refuse (unless `sync --allow-shrink`) to mark more than this share"
        " of the active accounts inactive.",
        "25",
    ),
    "sources[].max_drop_percent": (
        "Signals source: refuse (unless `sync --allow-shrink`) when the accounts with data in"
        " the latest 7 days of its signals, after the merge, fall by more than this share"
        " (only when at least 100 accounts had data before).",
        "80",
    ),
    "sources[].max_removed_percent": (
        "With `replace: window`: refuse (unless `sync --allow-shrink`) to remove more than this"
        " share of the stored rows in the dates the source covers.",
        "20",
    ),
}
