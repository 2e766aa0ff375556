"""bolt listeners, one module per surface: `/health` commands, button clicks, CSM input modals,
App Home. What several of them share sits beside them: `answers` (what they reply with),
`command_text` (what `/health` text means) and `guard` (a failing listener's reference and
notice).

May import: `bot.slack.services`, `bot.slack.cards`, `bot.messages`, `scoring`; a listener
module never imports `bot.slack.app` (the app imports the listeners, not the other way round),
and the shared modules never import a listener.
"""
