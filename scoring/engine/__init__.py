"""The pure engine: frames and an as-of date in, scores and explanations out.

`score` (the scoring pass), `aggregates` and `scales` (name → vectorised function registries),
`segments`, `signal_table` (signals as integer arrays once per pass).

May import: `scoring.config`, `scoring.frames`, `scoring.errors`. Never the store, the clock or
the environment, and nothing of `bot`.
"""
