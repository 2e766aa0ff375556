"""The weekly decisions, pure: from a period's scores to what people are told.

`history` (comparison, drivers), `alerts` and `metric_drop` (alert rules), `alert_words`
(their reasons), `alert_schema` (rules, severities, columns), `alert_cooldown` (cooldown and
snooze filter), `band_hysteresis` (band downgrades that do not flap), `portfolio_moves`
(segment-wide dips: score drops judged against them, a line about them), `playbooks`
(which action, how urgent), `overrides` (a person's score replacing the computed one),
`digest` and `digest_trend` (portfolio numbers), `card` (one account's card data), `weekly`
(alerts batched per owner).

May import: `scoring.engine`, `scoring.config`, and the shared basics (`errors`, `periods`,
`frames`, `matching`). Never the store: callers load the frames and pass them in.
"""
