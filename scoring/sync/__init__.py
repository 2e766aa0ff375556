"""Loading the customer's data (CSV/Parquet exports and warehouse queries) into the database:
read and validate every source, then merge all of them in one transaction.

May import: `scoring.store`, `scoring.config` and the shared basics. Never the engine or the
decisions: sync moves data, scoring happens afterwards.
"""

from scoring.sync.retention import keep_days, retention_cutoff
from scoring.sync.run import run_sync
from scoring.sync.summary import SourceSummary, source_labels

__all__ = ["SourceSummary", "keep_days", "retention_cutoff", "run_sync", "source_labels"]
