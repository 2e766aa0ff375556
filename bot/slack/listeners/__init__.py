"""bolt listeners, one module per surface: `/health` commands, button clicks, CSM input modals,
App Home. `answers` holds what several of them reply with.

May import: `bot.slack.services`, `bot.slack.cards`, `bot.messages`, `scoring`; a listener
module never imports `bot.slack.app` (the app imports the listeners, not the other way round).
"""
