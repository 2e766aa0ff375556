"""A small generated portfolio in a real database, ready for weekly runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.cli.demo import demo_model_path
from scoring.batch.jobs import score_and_store
from scoring.config import Model, parse_model
from scoring.periods import weekly_as_ofs
from scoring.sample import Portfolio, generate_portfolio
from scoring.store.frames_io import load_frames

END = date(2026, 11, 22)  # a Sunday: the end of ISO week 2026-W47


@dataclass
class Prepared:
    model: Model
    portfolio: Portfolio
    end: date


def demo_model(**overrides: object) -> Model:
    """The demo model without its file sources (tests load frames directly)."""
    import yaml

    raw = yaml.safe_load(demo_model_path().read_text())
    raw.pop("sources", None)
    raw.update(overrides)
    return parse_model(yaml.safe_dump(raw))


def prepare(
    engine: Engine,
    accounts: int = 60,
    seed: int = 7,
    weeks_of_history: int = 3,
    **overrides: object,
) -> Prepared:
    portfolio = generate_portfolio(seed=seed, accounts=accounts, end=END)
    load_frames(
        engine, portfolio.accounts, portfolio.signals, portfolio.outcomes, END + timedelta(days=1)
    )
    model = demo_model(**overrides)
    start = END - timedelta(days=7 * (weeks_of_history + 1))
    score_and_store(engine, model, weekly_as_ofs(start, END - timedelta(days=14)))
    return Prepared(model, portfolio, END)


def owners(portfolio: Portfolio) -> list[str]:
    return sorted(portfolio.accounts["owner_email"].dropna().unique())


def here() -> Path:
    return Path(__file__).parent
