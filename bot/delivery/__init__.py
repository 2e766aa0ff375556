"""Getting messages out: the outbox pass (`outbox_pass`), the transports it posts through
(Slack's Web API or the terminal), and the Slack client with its retry handlers.

May import: `bot.messages`, `scoring.store`. Never the Slack app, the jobs or the CLI.
"""
