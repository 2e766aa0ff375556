"""A plain logistic regression on the same split, as the yardstick for the README's figures.

healthbot's score is a weighted average of 0-100 sub-scores with non-negative weights, so
that a CSM can read it. A plain logistic regression on the raw columns (standardised, any sign,
a light L2 penalty) is the usual first model a data scientist would try: if it beat the score
by a wide margin, the explainable form would be costing real accuracy. This script rebuilds the
backtest rows from the synced database exactly as `healthbot calibrate` does, takes the same
held-out split (same seed), and prints the held-out AUC of: the model file as written, the
weights `healthbot calibrate` fits, and the plain logistic regression.

    python baseline.py [--config healthbot.yml] [--db sqlite:///healthbot.db]
"""

from __future__ import annotations

import argparse
import os
from datetime import date

import numpy as np

from scoring.config import load_model
from scoring.store import load_accounts, load_outcomes, load_signals, make_engine
from scoring.validation.backtest import run_backtest
from scoring.validation.calibrate import calibrate, fit_rows
from scoring.validation.fitting import fit_logistic
from scoring.validation.metrics import auc
from scoring.validation.split import holdout_split

AS_OF = date(2024, 9, 30)
PENALTY = 1e-4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="healthbot.yml")
    parser.add_argument("--db", default=os.environ.get("DATABASE_URL", "sqlite:///healthbot.db"))
    args = parser.parse_args()
    model = load_model(args.config)
    engine = make_engine(args.db)
    signals = load_signals(engine, date(2024, 1, 1), AS_OF)
    backtest = run_backtest(model, load_accounts(engine), signals, load_outcomes(engine), [AS_OF])
    sub = backtest.subset(fit_rows(backtest, model, None))
    rows = sub.rows
    y = rows["churned"].to_numpy(dtype=bool)
    split = holdout_split(rows, backtest.horizon_days, seed=0)

    # Raw columns, one row per account, in the backtest's row order; standardised on training.
    raw = signals.pivot_table(index="account_id", columns="signal", values="value", observed=True)
    x = raw.reindex(rows["account_id"].astype(str)).to_numpy(dtype=float)
    plain = np.full(len(rows), np.nan)
    for k in range(split.folds):
        test = split.fold == k
        train = (split.fold == -1) if split.method == "latest_periods" else ~test
        mean, std = x[train].mean(axis=0), x[train].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        b, w = fit_logistic((x[train] - mean) / std, y[train].astype(float), PENALTY, False)
        plain[test] = -(b - ((x[test] - mean) / std * w).sum(axis=1))  # higher = healthier

    # The same logistic regression on the model's own 0-100 sub-scores, any sign: what the
    # score's explainable form (non-negative weights, a weighted average) gives up, if anything.
    sub_x = sub.metric_scores.to_numpy(dtype=float) / 100.0
    own = np.full(len(rows), np.nan)
    for k in range(split.folds):
        test = split.fold == k
        train = (split.fold == -1) if split.method == "latest_periods" else ~test
        b, w = fit_logistic(sub_x[train], y[train].astype(float), PENALTY, False)
        own[test] = -(b - (sub_x[test] * w).sum(axis=1))

    held = split.fold >= 0
    result = calibrate(model, backtest)
    print(f"split: {split.description}")
    print(f"rows held out: {int(held.sum()):,} ({int(y[held].sum()):,} churned)")
    print(f"model file as written: AUC {auc(rows['score'].to_numpy()[held], y[held]):.3f}")
    print(f"healthbot calibrate:   AUC {result.auc_after:.3f} (before: {result.auc_before:.3f})")
    print(f"plain logistic, raw {x.shape[1]} columns: AUC {auc(plain[held], y[held]):.3f}")
    print(f"plain logistic, the model's sub-scores:   AUC {auc(own[held], y[held]):.3f}")
    print("raw columns: " + ", ".join(map(str, raw.columns)))


if __name__ == "__main__":
    main()
