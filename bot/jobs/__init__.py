"""What the worker runs: the weekly pipeline (`weekly`), the digest job (`digest`), the
scheduler and its crontab parsing.

May import: `bot.delivery`, `bot.messages`, `scoring`. Never the Slack app or the CLI.
"""
