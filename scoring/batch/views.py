"""Read models over stored snapshots: one period with its comparison, one account's history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from scoring.config import Model
from scoring.decisions.history import compare, drivers
from scoring.errors import HealthbotError
from scoring.periods import period_bounds, previous_period
from scoring.store import list_periods, load_snapshots
from scoring.store.bulk import Kind
from scoring.store.overrides import load_snapshot_overrides
from scoring.store.reads import account_columns
from scoring.store.snapshot_points import points_long
from scoring.store.snapshots import METRIC_TYPES, SCORE_TYPES, snapshot_rows

OVERRIDE_EXPORT = ["computed_score", "override_by", "override_reason", "override_until"]
ACCOUNT_INFO = ["account_id", "name", "owner_email", "segment", "arr", "renewal_date"]
# The comparison reads the current week whole, but only what a comparison needs of the two
# weeks before it and of the metric rows (the drivers): a fraction of a period's size.
CURRENT_TYPES: dict[str, Kind] = {
    k: v for k, v in SCORE_TYPES.items() if k not in ("period", "created_at", "points")
}
PREVIOUS_TYPES: dict[str, Kind] = {
    k: SCORE_TYPES[k] for k in ("account_id", "score_shown", "band", "band_rank", "model_version")
}
EARLIER_TYPES: dict[str, Kind] = {k: SCORE_TYPES[k] for k in ("account_id", "score_shown")}
WITH_POINTS: dict[str, Kind] = {"points": "str"}
POINTS_TYPES: dict[str, Kind] = {
    "account_id": "str",
    "metric": "str",
    "points": "float",
}


@dataclass(frozen=True)
class PeriodView:
    """A period's snapshot joined with account attributes and last week's comparison.

    `metrics` (every metric row of the period, the explanation on a card) is read on first use:
    the weekly alerts and the digest never need it, and it is most of what a period weighs.
    """

    period: str
    scores: pd.DataFrame
    drivers: pd.DataFrame
    previous_period: str
    previous_scores: pd.DataFrame
    read_metrics: Callable[[], pd.DataFrame] = field(repr=False, compare=False)

    @cached_property
    def metrics(self) -> pd.DataFrame:
        return self.read_metrics()

    @classmethod
    def of(
        cls,
        period: str,
        scores: pd.DataFrame,
        metrics: pd.DataFrame,
        drivers: pd.DataFrame,
        previous_period: str,
        previous_scores: pd.DataFrame,
    ) -> PeriodView:
        """A view over frames already in memory."""
        return cls(period, scores, drivers, previous_period, previous_scores, lambda: metrics)


def latest_period(engine: Engine) -> str:
    periods = list_periods(engine)
    if not periods:
        raise HealthbotError("no scores stored yet: run `healthbot score` (or `healthbot demo`)")
    return periods[-1]


def load_period(engine: Engine, period: str | None = None) -> PeriodView:
    """`period` (default: the latest) compared with the week before, whose own delta against
    the week before that rides along as `previous_delta` (two drops in a row)."""
    period = period or latest_period(engine)
    period_bounds(period)
    before = previous_period(period)
    with engine.connect() as conn:
        cur = snapshot_rows(conn, "score_snapshots", CURRENT_TYPES | WITH_POINTS, [period])
        if cur.empty:
            raise HealthbotError(
                f"no scores stored for {period}; stored: "
                f"{', '.join(list_periods(engine)[-6:]) or 'none'}"
            )
        prev = snapshot_rows(conn, "score_snapshots", PREVIOUS_TYPES | WITH_POINTS, [before])
        earlier = snapshot_rows(conn, "score_snapshots", EARLIER_TYPES, [previous_period(before)])
        points = _points(conn, period, cur.pop("points"), cur["account_id"])
        points_before = _points(conn, before, prev.pop("points"), prev["account_id"])
        accounts = account_columns(conn, ACCOUNT_INFO)
    comparison = compare(cur, prev)
    comparison["previous_delta"] = comparison["account_id"].map(
        compare(prev, earlier).set_index("account_id")["delta"]
    )
    overrides = load_snapshot_overrides(engine, [period]).drop(columns=["period"])
    joined = (
        cur.drop(columns=["score_shown", "band", "band_rank"])
        .merge(comparison, on="account_id")
        .merge(accounts, on="account_id", how="left")
        .merge(overrides, on="account_id", how="left")
        .assign(period=period)
    )
    return PeriodView(
        period,
        joined.reset_index(drop=True),
        drivers(points, points_before),
        before,
        prev.assign(period=before),
        partial(_period_metrics, engine, period),
    )


RECENT_TYPES: dict[str, Kind] = {k: SCORE_TYPES[k] for k in ("period", "account_id", "score_shown")}


def recent_scores(engine: Engine, period: str, runs: int, first: int = 1) -> pd.DataFrame:
    """Shown scores of the weeks `first`..`runs` before `period`, in one query, as
    (account_id, runs_ago, score_shown) with runs_ago 1 = the week before: what band
    hysteresis reads to tell a slow slide from a wobble. The weekly run passes first=2: its
    comparison already carries the week before. A week with no snapshot is absent, so a
    streak across a skipped week is never confirmed."""
    weeks = [previous_period(period)]
    while len(weeks) < runs:
        weeks.append(previous_period(weeks[-1]))
    wanted = weeks[first - 1 : runs]
    if not wanted:
        return pd.DataFrame({"account_id": [], "runs_ago": [], "score_shown": []})
    with engine.connect() as conn:
        rows = snapshot_rows(conn, "score_snapshots", RECENT_TYPES, wanted)
    runs_ago = rows.pop("period").map({p: i + 1 for i, p in enumerate(weeks)})
    return rows.assign(runs_ago=runs_ago.to_numpy())[["account_id", "runs_ago", "score_shown"]]


def _points(
    conn: Connection, period: str, texts: pd.Series, account_ids: pd.Series
) -> pd.DataFrame:
    """A period's metric points: from the snapshots' JSON copy, or the long way for periods
    stored before it existed."""
    if texts.isna().any():
        return snapshot_rows(conn, "snapshot_metrics", POINTS_TYPES, [period])
    return points_long(account_ids, texts)


def _period_metrics(engine: Engine, period: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return snapshot_rows(conn, "snapshot_metrics", METRIC_TYPES, [period])


def export_frame(view: PeriodView, model: Model) -> pd.DataFrame:
    """One row per account in the documented export column order."""
    base = view.scores.drop(columns=["score"]).rename(columns={"score_shown": "score"})
    base = base.assign(period=view.period)
    cols = [
        "account_id",
        "name",
        "owner_email",
        "segment",
        "arr",
        "period",
        "as_of",
        "score",
        "band",
        "completeness",
        "previous_score",
        "delta",
        "previous_band",
    ]
    out = base.reindex(columns=cols)
    tail = base.reindex(columns=OVERRIDE_EXPORT)
    per_metric = view.metrics.pivot(index="account_id", columns="metric", values="metric_score")
    for key in model.metric_keys:
        column = per_metric[key] if key in per_metric else pd.Series(dtype=float)
        out[f"score_{key}"] = out["account_id"].map(column)
    computed = pd.to_numeric(tail["computed_score"], errors="coerce")
    tail["computed_score"] = computed.fillna(out["score"])
    out = pd.concat([out, tail], axis=1)
    return out.sort_values("account_id", kind="stable").reset_index(drop=True)


def account_history(engine: Engine, account_id: str) -> pd.DataFrame:
    """Every stored week of one account with its delta against the immediately preceding week."""
    scores, _ = load_snapshots(engine, None, account_ids=[account_id])
    if scores.empty:
        return scores
    frame = scores.sort_values("period").reset_index(drop=True)
    prev_map = frame.set_index("period")
    previous = frame["period"].map(previous_period)
    frame["previous_score"] = previous.map(prev_map["score_shown"])
    frame["delta"] = (frame["score_shown"] - frame["previous_score"]).round(1)
    prior_version = previous.map(prev_map["model_version"])
    frame["model_changed"] = prior_version.notna() & (prior_version != frame["model_version"])
    return frame


def last_signal_dates(engine: Engine, account_ids: list[str] | None = None) -> pd.Series:
    """Latest signal date per account (freshness on cards, the stale-data rule)."""
    from sqlalchemy import bindparam, text

    query = "select account_id, max(date) from signals"
    with engine.connect() as conn:
        if account_ids is None:
            rows = conn.execute(text(query + " group by account_id")).all()
        else:
            stmt = text(query + " where account_id in :ids group by account_id").bindparams(
                bindparam("ids", expanding=True)
            )
            rows = [
                r
                for i in range(0, len(account_ids), 500)
                for r in conn.execute(stmt, {"ids": account_ids[i : i + 500]}).all()
            ]
    series = pd.Series({r[0]: r[1] for r in rows}, dtype=object)
    return pd.to_datetime(series).dt.date if len(series) else series


def latest_signal_dates(
    engine: Engine,
    signals: pd.DataFrame,
    account_ids: pd.Series,
    in_place: pd.Series | None = None,
) -> pd.Series:
    """Latest signal date per account from rows already in memory; only accounts with none of
    those rows are looked up in the database (their data may be older, or absent).
    `in_place`: the latest date per account of the signals read in place (one GROUP BY by
    their backend), the later of the two counting."""
    recent = signals.groupby("account_id", observed=True)["date"].max()
    recent.index = recent.index.astype(str)
    recent = pd.to_datetime(recent).dt.date
    if in_place is not None and len(in_place):
        both = pd.concat([pd.to_datetime(recent), pd.to_datetime(in_place)])
        recent = both.groupby(level=0).max().dt.date
    ids = account_ids.astype(str)
    missing = ids[~ids.isin(recent.index)].tolist()
    older = last_signal_dates(engine, missing) if missing else pd.Series(dtype=object)
    return pd.concat([recent, older]) if len(older) else recent
