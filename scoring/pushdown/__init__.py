"""Window aggregates computed by the database that stores the signals, compiled through ibis.

`SqlSource(runner)` is an aggregate source for `scoring.engine.score_accounts`: the model's
metrics become one conditional-aggregate query; the engine's scales, weights and bands run on
the per-account results, exactly as they do on the in-memory reference.

May import: the engine (specs, formulas, the source protocol), config, and the SQLAlchemy
engines it runs on; never decisions, batch or sync, which call it.
"""

from scoring.pushdown.runners import DuckRunner, EngineRunner, Runner
from scoring.pushdown.source import SqlSource

__all__ = ["DuckRunner", "EngineRunner", "Runner", "SqlSource"]
