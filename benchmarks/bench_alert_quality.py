"""Alert-quality targets (issue 19) on a held-out portfolio, and the demo's weekly runs.

The held-out portfolio (`benchmarks/alert_portfolio.py`, independent of `scoring/sample/`):
~2,000 accounts, ~5% genuine sliders, a holiday dip, owners with ~150 accounts. Its weekly runs
are replayed in order with the demo's model file (`examples/demo-model.yml`, the file the demo
copies) through `scoring.validation.replay`: the weekly run's own decisions, cooldown and DM
cap. Printed (targets in brackets; `delivered` = listed in an owner's DM):
- % of accounts with a health alert per week, the worst week;
- % of stable accounts with any health alert over 8 weeks [<= 10%];
- % of sliders with a health alert within 3 weeks of their slide starting [>= 85%];
- share of health alerts that are about sliders (on or after the slide start) [>= 50%];
- the demo's two weekly runs: % of scored accounts with a health alert per run [<= 5%].
Exit 0 always: the figures are a measurement for the README, not a gate (yet).

    python -m benchmarks.bench_alert_quality [--accounts 2000] [--weeks 12]
    python -m benchmarks.bench_alert_quality --seed 11 --slider-share 0.08 --slide-weeks 4 5 \
        --noise 1.5 --accounts 3000 --no-demo     # a variant: do the figures hold in general?
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.alert_portfolio import HeldOut, held_out_portfolio
from scoring.config import Model, load_model
from scoring.validation.alert_quality import HEALTH_RULES
from scoring.validation.replay import Replay, replay_weeks

MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo-model.yml"
DEMO_END = dt.date(2026, 11, 29)  # a Sunday: the demo's last weekly run, fixed for repeatability
TARGETS = {"stable_8_weeks": 0.10, "sliders_3_weeks": 0.85, "about_sliders": 0.50, "demo": 0.05}


def replay(model: Model, accounts: pd.DataFrame, signals: pd.DataFrame, as_ofs: list) -> Replay:
    """The weekly runs replayed with the weekly run's own signal look-back."""
    from scoring.batch.jobs import signal_windows

    lookback = signal_windows(model, for_alerts=True)
    return replay_weeks(model, accounts, signals, as_ofs, lookback=lookback)


def _health_weeks(replay_: Replay, which: str) -> pd.DataFrame:
    frame = replay_.frame(which)
    frame = frame[frame["rule"].isin(HEALTH_RULES)]
    return frame.drop_duplicates(["account_id", "as_of"])[["account_id", "as_of"]]


def quality_figures(held: HeldOut, replay_: Replay) -> dict[str, dict[str, float]]:
    """Each target's figure, for `fired` and `delivered` health alerts (account-weeks)."""
    scored = pd.Series({pd.Timestamp(w.as_of): w.scored for w in replay_.weeks})
    stable_ids = held.accounts.loc[
        ~held.accounts["account_id"].isin(held.slide_start.index), "account_id"
    ]
    start = pd.to_datetime(held.slide_start)
    last8 = pd.Timestamp(held.as_ofs[-8]) if len(held.as_ofs) >= 8 else pd.Timestamp(held.as_ofs[0])
    out: dict[str, dict[str, float]] = {}
    for which in ("fired", "delivered"):
        alerts = _health_weeks(replay_, which)
        per_week = alerts.groupby("as_of").size().reindex(scored.index, fill_value=0) / scored
        recent = alerts[alerts["as_of"] >= last8]
        stable = recent["account_id"].isin(stable_ids).groupby(recent["account_id"]).first()
        slide = alerts["account_id"].map(start)
        about = slide.notna() & (alerts["as_of"] >= slide)
        early = about & (alerts["as_of"] <= slide + pd.Timedelta(days=21))
        caught = alerts.loc[early, "account_id"].nunique()
        out[which] = {
            "max_week_share": float(per_week.max()) if len(per_week) else float("nan"),
            "stable_8_weeks": float(stable.sum() / len(stable_ids)) if len(stable_ids) else 0.0,
            "sliders_3_weeks": caught / len(start) if len(start) else float("nan"),
            "about_sliders": float(about.mean()) if len(alerts) else float("nan"),
        }
    return out


def demo_figures(model: Model) -> list[dict[str, Any]]:
    """The demo's two weekly runs (its default seed and size, after its replayed history)
    replayed: the share of scored accounts with a health alert, fired and delivered, per run."""
    from bot.cli.demo import replayed_weeks
    from scoring.periods import weekly_as_ofs
    from scoring.sample import generate_portfolio

    demo = generate_portfolio(seed=7, accounts=300, end=DEMO_END)
    # As the demo runs them: after the alerts of its replayed history weeks (bot/cli/demo.py).
    history = weekly_as_ofs(DEMO_END - dt.timedelta(weeks=12), DEMO_END - dt.timedelta(weeks=2))
    weeks = [*replayed_weeks(model, history), DEMO_END - dt.timedelta(7), DEMO_END]
    runs = replay(model, demo.accounts, demo.signals, weeks)
    out = []
    for week in runs.weeks[-2:]:
        health = [w[w["rule"].isin(HEALTH_RULES)] for w in (week.fired, week.delivered)]
        fired, delivered = (h["account_id"].nunique() / week.scored for h in health)
        out.append({"period": week.period, "scored": week.scored} | {"fired": fired})
        out[-1]["delivered"] = delivered
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--slider-share", type=float, default=0.05)
    parser.add_argument("--slide-weeks", type=int, nargs=2, default=(3, 5), metavar=("MIN", "MAX"))
    parser.add_argument("--noise", type=float, default=1.0, help="x the daily noise")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo's weekly runs")
    args = parser.parse_args(argv)
    model = load_model(MODEL)
    started = time.perf_counter()
    held = held_out_portfolio(
        accounts=args.accounts,
        measured_weeks=args.weeks,
        seed=args.seed,
        slider_share=args.slider_share,
        slide_weeks=tuple(args.slide_weeks),
        noise=args.noise,
    )
    print(
        f"held-out: {len(held.accounts):,} accounts ({len(held.slide_start)} sliders),"
        f" {len(held.signals):,} signal rows, holiday week of {held.holiday},"
        f" {len(held.as_ofs)} weekly runs measured"
    )
    figures = quality_figures(held, replay(model, held.accounts, held.signals, held.as_ofs))
    for which, f in figures.items():
        print(
            f"{which:>9}: worst week {f['max_week_share']:.1%} of accounts alerted;"
            f" stable accounts alerted over 8 weeks {f['stable_8_weeks']:.1%} (target <= 10%);"
            f" sliders alerted within 3 weeks {f['sliders_3_weeks']:.1%} (target >= 85%);"
            f" health alerts about sliders {f['about_sliders']:.1%} (target >= 50%)"
        )
    for run in [] if args.no_demo else demo_figures(model):
        print(
            f"demo run {run['period']}: {run['scored']} scored, health alert fired for"
            f" {run['fired']:.1%}, delivered to {run['delivered']:.1%} (target <= 5%)"
        )
    print(f"time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
