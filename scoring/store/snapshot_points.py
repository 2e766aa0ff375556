"""Each snapshot's metric points as one JSON object, so that comparing two weeks reads one row
per account instead of one per metric.

Both directions go through Arrow's C++ kernels: float to shortest round-trip text on the way
in, the JSON reader on the way out, so the points come back exactly as stored and no Python
object is made per value.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

LONG_COLUMNS = ["account_id", "metric", "points"]


def points_json(account_ids: pd.Series, metrics: pd.DataFrame) -> np.ndarray:
    """`{"metric": points, ...}` per account of `account_ids` (in that order) from the engine's
    metric rows (account_id, metric, points); `{}` for an account without metric rows."""
    ids = account_ids.astype(str).to_numpy()
    wide = metrics.pivot(index="account_id", columns="metric", values="points")
    present = pd.Series(True, index=wide.index).reindex(ids, fill_value=False).to_numpy()
    wide = wide.reindex(ids)
    if wide.columns.empty:
        return np.full(len(account_ids), "{}", dtype=object)
    pieces = []
    for metric in wide.columns:
        values = wide[metric].to_numpy(dtype=float)
        values = np.where(np.isfinite(values), values, np.nan)  # JSON has no inf
        text = pc.fill_null(pc.cast(pa.array(values, from_pandas=True), pa.string()), "null")
        pieces.append(pc.binary_join_element_wise(json.dumps(str(metric)) + ":", text, ""))
    body = pc.binary_join_element_wise(*pieces, ",")
    out = pc.binary_join_element_wise("{", body, "}", "").to_numpy(zero_copy_only=False)
    return np.where(present, out, "{}")


def points_long(account_ids: pd.Series, texts: pd.Series) -> pd.DataFrame:
    """The (account_id, metric, points) rows with points that the JSON objects hold (what a
    comparison's drivers are made of)."""
    arrow = pa.array(texts, pa.string())
    if isinstance(arrow, pa.ChunkedArray):  # what a large PostgreSQL read gives
        arrow = arrow.combine_chunks()
    lines = pc.binary_join_element_wise(arrow, "\n", "")
    offsets = np.frombuffer(lines.buffers()[1], np.int32)[lines.offset :][: len(lines) + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start == len(texts) * len("{}\n"):  # no account has metric points
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LONG_COLUMNS})
    # The lines' bytes as Arrow holds them, one block: the reader infers one type per key over
    # all of it (ints widen to float).
    data = lines.buffers()[2].slice(start, end - start)
    table = pajson.read_json(
        pa.BufferReader(data), read_options=pajson.ReadOptions(block_size=data.size + 1)
    )
    wide = pd.DataFrame(
        {
            name: table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
            for name in table.column_names
        }
    )
    wide.insert(0, "account_id", account_ids.astype(str).to_numpy())
    long = wide.melt("account_id", var_name="metric", value_name="points")
    return long[long["points"].notna()].reset_index(drop=True)
