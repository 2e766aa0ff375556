"""Outcomes: one per account and date, always; corrections replace, retractions remove.

The table's key is (account, date, outcome), so a re-export that changes `renewed` to
`churned` used to add a second row beside the first and the backtest read both. Now the
file's outcome replaces every stored one of that account and date; with `replace: window` the
stored outcomes dated within the file's min..max that no outcomes source has any more are
removed (guarded like signals). Planned in memory before the merge transaction (outcomes are
few), applied inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from scoring.config.sources import Source
from scoring.store.bulk import read_frame, write_frame
from scoring.store.tables import Outcome
from scoring.sync.guards import refuse_removals
from scoring.sync.outcomes import OutcomeBatch
from scoring.sync.summary import SourceSummary

KEY = ["account_id", "date"]
TYPES = {"account_id": "str", "date": "date", "outcome": "str"}
OUTCOMES = Outcome.__table__


@dataclass
class OutcomePlan:
    inserts: pd.DataFrame  # account_id, date, outcome
    deletes: pd.DataFrame  # account_id, date: every stored outcome of these goes


def combine_outcomes(batches: dict[int, OutcomeBatch]) -> pd.DataFrame:
    """All outcomes sources as one frame, one row per account and date; two sources that
    disagree about one are refused, naming both rows."""
    frame = pd.concat([b.frame.assign(_src=i) for i, b in batches.items()], ignore_index=True)
    frame["account_id"] = frame["account_id"].astype(object)
    first = frame.drop_duplicates(KEY)
    clash = frame.merge(first[[*KEY, "outcome", "_src", "_pos"]], on=KEY, suffixes=("", "_first"))
    clash = clash[clash["outcome"] != clash["outcome_first"]]
    if len(clash):
        row = clash.iloc[0]
        later, earlier = batches[int(row["_src"])], batches[int(row["_src_first"])]
        raise later.raw.fail(
            f"outcome {row['outcome']!r} conflicts with {row['outcome_first']!r} from source"
            f" {earlier.raw.label} ({earlier.raw.where(int(row['_pos_first']))}) for account"
            f" {row['account_id']!r} on {pd.Timestamp(row['date']).date()}"
            " (an account has one outcome per date)",
            int(row["_pos"]),
            later.cols.shown("outcome") if later.cols.has("outcome") else None,
        )
    return first.reset_index(drop=True)


def plan_outcomes(
    conn: sa.Connection,
    batches: dict[int, OutcomeBatch],
    sources: dict[int, Source],
    summaries: list[SourceSummary],
    allow_shrink: bool,
) -> OutcomePlan | None:
    """What merging the outcomes does; fills each summary's counts. Raises Blocked when a
    `replace: window` source would remove too many stored outcomes."""
    if not batches:
        return None
    frame = combine_outcomes(batches)
    stored = read_frame(conn, "SELECT account_id, date, outcome FROM outcomes", TYPES)
    stored["account_id"] = stored["account_id"].astype(object)
    stored["date"] = pd.to_datetime(stored["date"]).astype("datetime64[ns]")
    stored_keys = stored.groupby(KEY, as_index=False).agg(
        n=("outcome", "size"), outcome=("outcome", "first")
    )
    joined = frame.merge(stored_keys, on=KEY, how="left", suffixes=("", "_stored"))
    new = joined["n"].isna().to_numpy()
    one = (joined["n"] == 1).to_numpy()
    same = ~new & one & (joined["outcome"] == joined["outcome_stored"]).to_numpy()
    replaced = ~new & ~same
    deletes = [joined.loc[replaced, KEY]]
    for i in batches:
        mine = (joined["_src"] == i).to_numpy()
        summary = summaries[i]
        summary.inserted = int((new & mine).sum())
        summary.replaced = int((replaced & mine).sum())
        summary.unchanged = int((same & mine).sum())
    for i, source in sources.items():
        if not source.replace and i in batches and len(batches[i].frame):
            summaries[i].ignored = _absent(stored_keys, frame, batches[i], covered_only=True)
        if source.replace and i in batches and len(batches[i].frame):
            gone = _retracted(stored_keys, frame, batches[i], source, summaries[i], allow_shrink)
            deletes.append(gone)
    inserts = joined.loc[new | replaced, ["account_id", "date", "outcome"]]
    return OutcomePlan(inserts.reset_index(drop=True), pd.concat(deletes, ignore_index=True))


def _absent(
    stored: pd.DataFrame, frame: pd.DataFrame, batch: OutcomeBatch, covered_only: bool
) -> int:
    """Stored outcomes in the batch's dates that no outcomes source has now (of accounts the
    batch has, with `covered_only`: the look of a correction `replace` would apply)."""
    low, high = batch.frame["date"].min(), batch.frame["date"].max()
    inside = stored[(stored["date"] >= low) & (stored["date"] <= high)]
    if covered_only:
        inside = inside[inside["account_id"].isin(batch.frame["account_id"])]
    present = inside.merge(frame[KEY].assign(_here=True), on=KEY, how="left")["_here"].notna()
    return int(inside.loc[~present.to_numpy(), "n"].sum())


def _retracted(
    stored: pd.DataFrame,
    frame: pd.DataFrame,
    batch: OutcomeBatch,
    source: Source,
    summary: SourceSummary,
    allow_shrink: bool,
) -> pd.DataFrame:
    """Stored outcomes in the source's dates that no outcomes source has any more."""
    low, high = batch.frame["date"].min(), batch.frame["date"].max()
    inside = stored[(stored["date"] >= low) & (stored["date"] <= high)]
    present = inside.merge(frame[KEY].assign(_here=True), on=KEY, how="left")["_here"].notna()
    gone = inside.loc[~present.to_numpy(), KEY]
    total = int(inside["n"].sum())
    removed = int(inside.loc[~present.to_numpy(), "n"].sum())
    subject, dated = f'outcomes source "{summary.source}"', f"{low.date()}..{high.date()}"
    limit = source.max_removed_percent
    refuse_removals(subject, "outcomes", (removed, total), dated, limit, allow_shrink)
    summary.removed = removed
    return gone


def apply_outcomes(conn: sa.Connection, plan: OutcomePlan | None) -> None:
    """Delete what is replaced or retracted, insert the new rows (inside the merge)."""
    if plan is None:
        return
    if len(plan.deletes):
        keys = plan.deletes.drop_duplicates()
        statement = sa.delete(OUTCOMES).where(
            OUTCOMES.c.account_id == sa.bindparam("b_account"),
            OUTCOMES.c.date == sa.bindparam("b_date"),
        )
        days = pd.to_datetime(keys["date"]).dt.date
        conn.execute(
            statement,
            [{"b_account": a, "b_date": d} for a, d in zip(keys["account_id"], days, strict=True)],
        )
    if len(plan.inserts):
        write_frame(conn, "outcomes", plan.inserts, TYPES)
