"""The numbers a backtest reports, from its scored account-periods.

Each table answers one question a CS leader asks of a health score: does a low score come
before churn (AUC, lift), do the bands mean what they say (churn per band, monotone), are the
alerts worth the interruption (precision, recall), is a score of 30 really riskier than 60
(calibration), and which inputs carry information (per-metric AUC, flagged when a metric
points the wrong way). Everything is computed on the rows with a score; rows with insufficient
data are counted apart, because they have no score to judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.config import INSUFFICIENT_DATA, Model
from scoring.validation.alert_quality import HEALTH_RULES, alert_quality
from scoring.validation.backtest import Backtest
from scoring.validation.metrics import (
    auc,
    auc_standard_error,
    direction,
    is_monotone,
    lift,
    rates_by_group,
    roc_points,
)
from scoring.validation.survival import lead_times, survival_by_band

BUCKET_WIDTH = 10


@dataclass
class Summary:
    """A backtest's findings as plain data: dicts and frames, ready for text, JSON or a report."""

    overview: dict[str, Any]
    auc: float
    lift: dict[str, float]
    bands: pd.DataFrame
    monotone: bool
    alerts: pd.DataFrame
    calibration: pd.DataFrame
    metrics: pd.DataFrame
    periods: pd.DataFrame
    segments: pd.DataFrame
    roc: tuple[np.ndarray, np.ndarray]
    notes: list[str] = field(default_factory=list)
    # Per rule, as fired and as delivered over the replayed weeks (alert_quality.py).
    alert_quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    replayed_weeks: int = 0
    # Weeks before churn of the first warning, and Kaplan-Meier churn per band (survival.py).
    lead_times: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival_curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: frames become lists of records, NaN becomes None."""

        def table(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [{k: plain(v) for k, v in row.items()} for row in clean.to_dict("records")]

        return {
            "overview": {k: plain(v) for k, v in self.overview.items()},
            "auc": plain(self.auc),
            "lift": {k: plain(v) for k, v in self.lift.items()},
            "bands": table(self.bands),
            "bands_monotone": self.monotone,
            "alerts": table(self.alerts),
            "calibration": table(self.calibration),
            "metrics": table(self.metrics),
            "periods": table(self.periods),
            "segments": table(self.segments),
            "notes": list(self.notes),
            "alert_quality": table(self.alert_quality),
            "alert_quality_weeks": self.replayed_weeks,
            "lead_times": table(self.lead_times),
            "survival": table(self.survival),
        }


def plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def summarize(backtest: Backtest, model: Model, segment: str | None = None) -> Summary:
    rows = backtest.rows
    scored = (rows["status"] == "scored").to_numpy() & rows["score"].notna().to_numpy()
    score = rows["score"].to_numpy(dtype=float)
    churned = rows["churned"].to_numpy(dtype=bool)
    overview = {
        "model_version": model.version,
        "segment": segment,
        "periods": len(backtest.as_ofs),
        "first_as_of": backtest.as_ofs[0] if backtest.as_ofs else None,
        "last_as_of": backtest.as_ofs[-1] if backtest.as_ofs else None,
        "horizon_days": backtest.horizon_days,
        "observed_until": backtest.observed_until,
        "account_periods": len(rows),
        "accounts": int(rows["account_id"].nunique()),
        "scored": int(scored.sum()),
        "insufficient_data": int((~scored).sum()),
        "churned": int(churned[scored].sum()),
        "churned_accounts": int(rows.loc[churned, "account_id"].nunique()),
        "churn_rate": float(churned[scored].mean()) if scored.any() else float("nan"),
        "censored": int(rows["censored"].sum()),
    }
    bands, monotone = band_table(model, rows)
    names = [b.name for b in model.bands]
    survival, curves = survival_by_band(rows, names, backtest.horizon_days, backtest.observed_until)
    return Summary(
        overview=overview,
        auc=auc(score[scored], churned[scored]),
        lift=lift(score[scored], churned[scored]),
        bands=bands,
        monotone=monotone,
        alerts=alert_table(backtest),
        calibration=calibration_table(score[scored], churned[scored]),
        metrics=metric_table(backtest, model),
        periods=period_table(rows[scored]),
        segments=segment_table(rows[scored]),
        roc=roc_points(score[scored], churned[scored]),
        notes=_notes(backtest, overview),
        alert_quality=_alert_quality(backtest),
        replayed_weeks=len(backtest.replayed_as_ofs),
        lead_times=lead_times(rows, backtest.alerts, names),
        survival=survival,
        survival_curves=curves,
    )


def _alert_quality(backtest: Backtest) -> pd.DataFrame:
    """The replayed weeks' alert measures (empty when nothing was replayed)."""
    if not backtest.replayed:
        return pd.DataFrame()
    weeks = pd.to_datetime(pd.Series(backtest.replayed_as_ofs))
    rows = backtest.rows[backtest.rows["as_of"].isin(weeks)]
    return alert_quality(rows, backtest.owners, backtest.replayed)


def band_table(model: Model, rows: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Churn rate per band, best band first, then insufficient data; and whether it is monotone
    (churn never falls as the band gets worse)."""
    names = [b.name for b in model.bands] + [INSUFFICIENT_DATA]
    code = rows["band"].map({n: i for i, n in enumerate(names)}).fillna(len(names) - 1)
    n, hit, rate = rates_by_group(code.to_numpy(dtype=np.int64), rows["churned"], len(names))
    table = pd.DataFrame({"band": names, "rows": n.astype(int), "churned": hit.astype(int)})
    table["churn_rate"] = rate
    return table, is_monotone(rate[:-1])


def calibration_table(score: np.ndarray, churned: np.ndarray) -> pd.DataFrame:
    """Observed churn per 10-point score bucket: a calibrated score has churn falling with it."""
    buckets = 100 // BUCKET_WIDTH
    code = np.clip(np.floor(np.asarray(score) / BUCKET_WIDTH), 0, buckets - 1).astype(np.int64)
    n, hit, rate = rates_by_group(code, churned, buckets)
    total = np.bincount(code, weights=np.asarray(score, dtype=float), minlength=buckets)
    low = np.arange(buckets) * BUCKET_WIDTH
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
    return pd.DataFrame(
        {
            "bucket": [f"{lo}-{lo + BUCKET_WIDTH}" for lo in low],
            "low": low,
            "rows": n.astype(int),
            "churned": hit.astype(int),
            "churn_rate": rate,
            "mean_score": mean,
        }
    )


def metric_table(backtest: Backtest, model: Model) -> pd.DataFrame:
    """Each metric's own AUC (its 0-100 sub-score, where it has data) and a verdict.

    The interval behind the verdict counts accounts, not account-periods: the same account in
    52 consecutive weeks is not 52 independent cases.
    """
    rows = backtest.rows
    churned = rows["churned"].to_numpy(dtype=bool)
    ids = rows["account_id"].to_numpy()
    out = []
    for key in model.metric_keys:
        values = backtest.metric_scores[key].to_numpy(dtype=float)
        has = np.isfinite(values)
        value = auc(values[has], churned[has])
        n1 = len(np.unique(ids[has & churned]))
        n0 = len(np.unique(ids[has & ~churned]))
        se = auc_standard_error(value, n1, n0)
        out.append(
            {
                "metric": key,
                "label": model.metrics[key].label or key,
                "weight": model.metrics[key].weight,
                "rows_with_data": int(has.sum()),
                "auc": value,
                "se": se,
                "verdict": direction(value, se),
            }
        )
    return pd.DataFrame(out)


def alert_table(backtest: Backtest) -> pd.DataFrame:
    """Per rule: how often it fired, the share followed by churn within the horizon (precision),
    and the share of churned accounts it flagged within the horizon before churning (recall)."""
    rows, alerts = backtest.rows, backtest.alerts
    label = rows.set_index(["account_id", "as_of"])["churned"]
    keys = pd.MultiIndex.from_frame(alerts[["account_id", "as_of"]])
    followed = label.reindex(keys).fillna(False).to_numpy(dtype=bool)
    churned_accounts = rows.loc[rows["churned"], "account_id"].nunique()
    base = float(rows["churned"].mean()) if len(rows) else float("nan")
    alerts = alerts.assign(_churn=followed)
    health = alerts[alerts["rule"].isin(HEALTH_RULES)].drop_duplicates(["account_id", "as_of"])
    health = health.assign(rule="any health alert")
    out = []
    for rule, group in pd.concat([alerts, health]).groupby("rule", sort=False):
        caught = group.loc[group["_churn"], "account_id"].nunique()
        fired = len(group)
        out.append(
            {
                "rule": rule,
                "fired": fired,
                "followed_by_churn": int(group["_churn"].sum()),
                "precision": group["_churn"].mean() if fired else np.nan,
                "base_rate": base,
                "churned_accounts_caught": int(caught),
                "recall": caught / churned_accounts if churned_accounts else np.nan,
            }
        )
    columns = ["rule", "fired", "followed_by_churn", "precision", "base_rate"]
    columns += ["churned_accounts_caught", "recall"]
    return pd.DataFrame(out, columns=columns)


def period_table(rows: pd.DataFrame) -> pd.DataFrame:
    """AUC per period: a score that only works in some weeks shows it here."""
    grouped = rows.groupby("as_of", sort=True)
    out = grouped.agg(rows=("churned", "size"), churned=("churned", "sum")).reset_index()
    out["auc"] = [auc(g["score"], g["churned"]) for _, g in grouped]  # one per period, not row
    return out


def segment_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows, churn, AUC and lift per account segment (the accounts' `segment` column)."""
    key = rows["segment"].astype(object).where(rows["segment"].notna(), "(none)").astype(str)
    out = []
    for name, group in rows.groupby(key, sort=True):
        score, churned = group["score"].to_numpy(float), group["churned"].to_numpy(bool)
        out.append(
            {
                "segment": name,
                "rows": len(group),
                "accounts": group["account_id"].nunique(),
                "churned": int(churned.sum()),
                "churn_rate": float(churned.mean()),
                "auc": auc(score, churned),
                "lift": lift(score, churned)["lift"],
            }
        )
    return pd.DataFrame(
        out, columns=["segment", "rows", "accounts", "churned", "churn_rate", "auc", "lift"]
    )


def _notes(backtest: Backtest, overview: dict[str, Any]) -> list[str]:
    notes = [
        "Account attributes (segment, renewal date, ARR) are the synced ones, i.e. today's"
        " values, not as they were on each as-of date; the renewal alert in particular can look"
        " better in a backtest than it was.",
        "Alert precision and recall count every rule firing before cooldown and snoozes.",
    ]
    if overview["censored"]:
        notes.append(
            f"{overview['censored']:,} account-periods have a horizon that ends after"
            f" {overview['observed_until']} (the last day with data): a churn there may not"
            " have been recorded yet, so the churn-by-band table counts them as not churned;"
            " the Kaplan-Meier column counts them as censored instead. An earlier --to avoids"
            " both."
        )
    if overview["churned"] == 0:
        notes.append("No scored account churned within the horizon: AUC and lift are undefined.")
    return notes
