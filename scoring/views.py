"""Read models over stored snapshots: one period with its comparison, one account's history."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from scoring.config import Model
from scoring.errors import HealthbotError
from scoring.history import compare, drivers
from scoring.periods import period_bounds, previous_period
from scoring.store import list_periods, load_accounts, load_snapshots
from scoring.store.actions import load_snapshot_overrides

OVERRIDE_EXPORT = ["computed_score", "override_by", "override_reason", "override_until"]
ACCOUNT_INFO = ["account_id", "name", "owner_email", "segment", "arr", "renewal_date"]


@dataclass(frozen=True)
class PeriodView:
    """A period's snapshot joined with account attributes and last week's comparison."""

    period: str
    scores: pd.DataFrame
    metrics: pd.DataFrame
    drivers: pd.DataFrame
    previous_period: str
    previous_scores: pd.DataFrame


def latest_period(engine: Engine) -> str:
    periods = list_periods(engine)
    if not periods:
        raise HealthbotError("no scores stored yet: run `healthbot score` (or `healthbot demo`)")
    return periods[-1]


def load_period(engine: Engine, period: str | None = None) -> PeriodView:
    period = period or latest_period(engine)
    period_bounds(period)
    before = previous_period(period)
    two_before = previous_period(before)
    scores, metrics = load_snapshots(engine, [period, before, two_before])
    if not (scores["period"] == period).any():
        raise HealthbotError(
            f"no scores stored for {period}; stored: "
            f"{', '.join(list_periods(engine)[-6:]) or 'none'}"
        )
    cur, prev = scores[scores["period"] == period], scores[scores["period"] == before]
    cur_m, prev_m = metrics[metrics["period"] == period], metrics[metrics["period"] == before]
    comparison = compare(cur, prev)
    earlier = compare(prev, scores[scores["period"] == two_before])
    comparison["previous_delta"] = comparison["account_id"].map(
        earlier.set_index("account_id")["delta"]
    )
    accounts = load_accounts(engine)
    overrides = load_snapshot_overrides(engine, [period]).drop(columns=["period"])
    joined = (
        cur.drop(columns=["score_shown", "band", "band_rank"])
        .merge(comparison, on="account_id")
        .merge(accounts.reindex(columns=ACCOUNT_INFO), on="account_id", how="left")
        .merge(overrides, on="account_id", how="left")
    )
    return PeriodView(
        period,
        joined.reset_index(drop=True),
        cur_m.reset_index(drop=True),
        drivers(cur_m, prev_m),
        before,
        prev.reset_index(drop=True),
    )


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
    tail["computed_score"] = tail["computed_score"].fillna(out["score"])
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


def latest_signal_dates(engine: Engine, signals: pd.DataFrame, account_ids: pd.Series) -> pd.Series:
    """Latest signal date per account from rows already in memory; only accounts with none of
    those rows are looked up in the database (their data may be older, or absent)."""
    recent = signals.groupby("account_id", observed=True)["date"].max()
    recent.index = recent.index.astype(str)
    recent = pd.to_datetime(recent).dt.date
    ids = account_ids.astype(str)
    missing = ids[~ids.isin(recent.index)].tolist()
    older = last_signal_dates(engine, missing) if missing else pd.Series(dtype=object)
    return pd.concat([recent, older]) if len(older) else recent
