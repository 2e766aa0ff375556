"""The storage edge of scoring: load from the store, call the engine and the decisions, save.

`jobs` (score a period and store its snapshots), `views` (a stored period read back as the
frames a comparison, a card or an export needs).

May import: `scoring.store`, `scoring.engine`, `scoring.decisions`, `scoring.config` and the
shared basics. Nothing of `bot`.
"""
