"""Getting messages out: the outbox pass (`outbox_pass`), the transports it posts through
(`slack_transport` for Slack's Web API, `terminal` without a token; what they share is
`transport_types`, and `transports` picks one for a run), and the Slack client with its retry
handlers (`slack_client`).

May import: `bot.messages`, `scoring.store`. Never the Slack app, the jobs or the CLI.
"""
