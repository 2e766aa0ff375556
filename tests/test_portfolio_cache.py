"""The web process's portfolio cache with accounts that have no score (insufficient data)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.slack.portfolio import Portfolio
from scoring.batch.jobs import score_and_store
from tests.pipeline_fixtures import END, prepare


def test_unscored_accounts_do_not_break_the_cache_lists_or_cards(engine):
    prepared = prepare(engine, accounts=30)
    score_and_store(engine, prepared.model, [END - timedelta(days=7), END])
    victim = str(prepared.portfolio.accounts["account_id"].iloc[0])
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update score_snapshots set score = null, score_shown = null, band_rank = null,"
                " band = 'insufficient_data', status = 'insufficient_data' where account_id = :a"
            ),
            {"a": victim},
        )
    portfolio = Portfolio(engine, prepared.model)
    urgent = portfolio.urgent()
    assert victim not in set(urgent["account_id"]) and len(urgent) > 0
    card = portfolio.card(victim)
    assert card["score"] is None and card["band"] == "insufficient_data"
    owner = prepared.portfolio.accounts["owner_email"].iloc[0]
    assert victim in set(portfolio.owned(owner)["account_id"])
