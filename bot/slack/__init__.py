"""The Slack app: the bolt App, its middleware, listeners and the views they answer with.

Lives here: `app` (builds the App), `services` (what listeners share), `access` (allow-list,
admins), `replay` (the replay guard, shared by every web process through the database), `web`
(Flask/gunicorn wrapper and /healthz), `portfolio` (the latest period kept in memory per web
process), `cards` (one account's card from it), `response_url` (answers POSTed over kept-alive
connections), and `listeners/` (slash commands, buttons, modals, App Home).

May import: `bot.messages`, `bot.delivery.slack_client`, `scoring`. Never `bot.jobs` or
`bot.cli`: the web process answers; the worker and the CLI drive.
"""
