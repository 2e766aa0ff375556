"""The duplicate-key scan of a table read in place: is there an account with two rows for one
signal and date? Only an account id comes back; `in_place.py` then reads that account's worst
group to name it. Skipped where the table declares the key unique."""

from __future__ import annotations

from typing import Any

import ibis
from ibis.common.exceptions import OperationNotDefinedError

BUCKET_DAYS = 30  # bits 0..29 of an INTEGER: no shift past a 32-bit literal's width


def duplicate_account(long: Any) -> str | None:
    """An account with two rows for one signal and date (None: none). By 30-day buckets
    where the backend has BIT_OR; a plain group per row elsewhere (ibis compiles no BIT_OR
    for Spark, which spreads that group over its executors anyway)."""
    try:
        return _by_bits(long)
    except OperationNotDefinedError:
        key = ["account_id", "signal", "date"]
        groups = long.group_by(key).aggregate(n=long.count())
        found = groups.filter(groups.n > 1).limit(1).execute()
        return None if found.empty else str(found.iloc[0]["account_id"])


def _by_bits(long: Any) -> str | None:
    """A group per account, signal and 30-day bucket rather than per row (which PostgreSQL
    sorted to disk): each date sets bit (day - 30 x bucket); SUM = BIT_OR exactly when no
    date repeats."""
    days = long.date.delta(ibis.date(1970, 1, 1), unit="day")
    bucket = days // BUCKET_DAYS
    bit = ibis.literal(1, "int32") << (days - bucket * BUCKET_DAYS).cast("int32")
    groups = long.group_by(["account_id", "signal", bucket.name("bucket")]).aggregate(
        set_bits=bit.bit_or(), bit_sum=bit.sum()
    )
    found = groups.filter(groups.bit_sum != groups.set_bits).limit(1).execute()
    return None if found.empty else str(found.iloc[0]["account_id"])
