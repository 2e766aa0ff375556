"""What the text after `/health` means: a subcommand, an account to look up, or a mistake.

Kept apart from the listeners and from the answers so that both can use it: the `/health`
listener parses what was typed, and the answers parse it again when a shared list is redrawn.
A plain function of its input, tested without HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMAND = "/health"
SUBCOMMANDS = ("help", "mine", "at-risk", "alerts", "note", "override")
MAX_QUERY = 200  # longer than any account name; also bounds the fuzzy tier's work
QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}


@dataclass(frozen=True)
class Command:
    """kind: lookup, help, mine, at-risk, alerts, note, override, too_long or empty_query."""

    kind: str
    arg: str = ""


def unescape(text: str) -> str:
    """Slack sends `&`, `<`, `>` in command text as entities; match on what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str | None) -> Command:
    """`/health` alone is `mine`; a first word from SUBCOMMANDS is a subcommand unless the
    text is quoted (`/health "Help Scout"` looks the account up)."""
    raw = unescape(text or "").strip()
    if len(raw) > MAX_QUERY:
        return Command("too_long", raw)
    if not raw:
        return Command("mine")
    if raw[0] in QUOTES:
        inner = raw[1:]
        if inner and inner[-1] in (QUOTES[raw[0]], raw[0]):
            inner = inner[:-1]
        inner = inner.strip()
        return Command("lookup", inner) if inner else Command("empty_query")
    word, *rest = raw.split(maxsplit=1)
    if word.casefold() in SUBCOMMANDS:
        return Command(word.casefold(), rest[0].strip() if rest else "")
    return Command("lookup", raw)
