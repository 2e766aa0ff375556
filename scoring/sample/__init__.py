"""A deterministic demo portfolio: accounts, daily signals and outcomes that tell stories.

The demo, the tests and the docs need data that behaves like a real B2B SaaS book of business
without shipping anyone's customer data: most accounts are steady, some slide (a few fall off a
cliff in the final week so week-over-week alerts fire), some expand, some have a broken data feed
and some already churned - after sliding, so a backtest finds signal, but not perfectly.

`portfolio` (the entry point, `generate_portfolio`), `catalog` (signals, storylines, names,
segment economics), `accounts` (who the customers are), `trajectory` (how their usage moves),
`signals` (the daily signal arrays), `outcomes` (churn and renewals), `exports` (the files a
customer would export, for the demo's sync).

May import: `scoring.frames` only; nothing reads the store, the clock (except the default
`end`) or the environment.
"""

from scoring.sample.exports import write_exports
from scoring.sample.portfolio import Portfolio, generate_portfolio

__all__ = ["Portfolio", "generate_portfolio", "write_exports"]
