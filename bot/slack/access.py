"""Who may use healthbot and who a Slack user is (replays: bot/slack/replay.py).

The model file's optional `access: {allow: [...], admins: [...]}` names user groups (`@handle`
or `@S0123ABC`), channels (`#name` or `#C0123ABC`: their members) and single users (`U0123ABC`).
Membership comes from the Web API (usergroups.users.list, conversations.members) and is cached
for `ttl` seconds, so a lookup costs nothing extra in the common case and a removed member loses
access within minutes. A lookup that fails counts as no members (closed, not open), cached
briefly so that a Slack outage is not hammered. Look-ups run in background threads
(`ttl_cache`): a request that has yet to be acknowledged passes `wait` and gets None ("not known
yet") rather than miss Slack's 3-second deadline; an expired entry answers while it refreshes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.ttl_cache import MISSING, TtlCache
from scoring.config.sections import Access

log = logging.getLogger("healthbot.access")
MEMBERS_TTL = 300.0
FAILURE_TTL = 30.0
EMAIL_TTL = 3600.0
# Seconds per Web API call of a look-up: loads run in the background, never in the ack, so a
# Slack that takes 10 s still answers (work after the ack waits up to write_access.LATE_WAIT).
ACCESS_TIMEOUT = 20


def lookup_client(client: WebClient) -> WebClient:
    """The app's client with the longer timeout of background look-ups."""
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=ACCESS_TIMEOUT, logger=client.logger
    )


class AccessControl:
    """`allowed(user)` and `is_admin(user)` from the model's `access` section.

    Each answers True, False, or None when `wait` is given and a look-up it needs has not
    finished within `wait` seconds (all entries are looked up at once, in the background); a
    lookup that fails keeps the members last seen (or admits nobody) for a while.
    """

    def __init__(self, access: Access, client: WebClient, ttl: float = MEMBERS_TTL) -> None:
        self.access, self.ttl = access, ttl
        self.client = lookup_client(client)
        self._members = TtlCache()
        self._last_good: dict[str, frozenset[str]] = {}

    @property
    def restricted(self) -> bool:
        return bool(self.access.allow)

    def allowed(self, user_id: str | None, wait: float | None = None) -> bool | None:
        """Everyone when there is no allow-list; else members of an entry (or an admin)."""
        if not self.restricted:
            return True
        if not user_id:
            return False
        return self._member_of([*self.access.allow, *self.access.admins], user_id, wait)

    def is_admin(self, user_id: str | None, wait: float | None = None) -> bool | None:
        if not user_id:
            return False
        return self._member_of(self.access.admins, user_id, wait)

    def _member_of(self, entries: list[str], user_id: str, wait: float | None) -> bool | None:
        """True as soon as one entry holds the user; None if an entry is not known in time."""
        deadline = None if wait is None else time.monotonic() + wait
        for entry in entries:  # start every load first, so they run side by side
            self._members.get(entry, lambda e=entry: self._load(e), wait=0)
        unknown = False
        for entry in entries:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            members = self._members.get(entry, lambda e=entry: self._load(e), wait=left)
            if members is MISSING:
                unknown = True
            elif user_id in members:
                return True
        return None if unknown else False

    def _load(self, entry: str) -> tuple[frozenset[str], float]:
        try:
            members = frozenset(self._resolve(entry.strip()))
        except (SlackApiError, SlackClientError, LookupError, OSError) as exc:
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            kept = self._last_good.get(entry, frozenset())
            log.warning(
                "access entry %r not resolved (%s): %d members kept", entry, reason, len(kept)
            )
            return kept, FAILURE_TTL
        self._last_good[entry] = members
        return members, self.ttl

    def _resolve(self, entry: str) -> Iterator[str]:
        if entry.startswith("@"):
            group = entry[1:]
            if not _is_slack_id(group, "S"):
                group = self._usergroup_id(group)
            yield from self.client.usergroups_users_list(usergroup=group)["users"]
        elif entry.startswith("#") or _is_slack_id(entry, "CG"):
            channel = entry.removeprefix("#")
            if not _is_slack_id(channel, "CG"):
                channel = self._channel_id(channel)
            for page in self.client.conversations_members(channel=channel, limit=1000):
                yield from page["members"]
        elif _is_slack_id(entry, "UW"):
            yield entry
        elif "@" in entry:
            yield str(self.client.users_lookupByEmail(email=entry)["user"]["id"])
        else:
            raise LookupError(
                f"not a user group (@...), channel (#...), user id or email: {entry!r}"
            )

    def _usergroup_id(self, handle: str) -> str:
        for group in self.client.usergroups_list()["usergroups"]:
            if group.get("handle") == handle:
                return str(group["id"])
        raise LookupError(f"no user group @{handle}")

    def _channel_id(self, name: str) -> str:
        pages = self.client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000
        )
        for page in pages:
            for channel in page["channels"]:
                if channel.get("name") == name:
                    return str(channel["id"])
        raise LookupError(f"no channel #{name} that the bot can see")


def _is_slack_id(text: str, prefixes: str) -> bool:
    """`S0123ABC`-style ids (upper case with digits); handles and names are lower case."""
    return (
        len(text) >= 2
        and text[0] in prefixes
        and text.isalnum()
        and text.isupper()
        and any(c.isdigit() for c in text)
    )


class UserDirectory:
    """A Slack user's profile email (users.info, cached): owner emails tie accounts to people."""

    def __init__(self, client: WebClient, ttl: float = EMAIL_TTL) -> None:
        self.client, self.ttl = lookup_client(client), ttl
        self._emails = TtlCache()

    def email(self, user_id: str, wait: float | None = None) -> str | None:
        """The email, None when it cannot be read, MISSING when not known within `wait`."""
        return self._emails.get(user_id, lambda: self._load(user_id), wait=wait)

    def _load(self, user_id: str) -> tuple[str | None, float]:
        try:
            profile = self.client.users_info(user=user_id)["user"].get("profile") or {}
        except (SlackApiError, SlackClientError) as exc:
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            log.warning("users.info for %s failed: %s", user_id, reason)
            return None, FAILURE_TTL
        return profile.get("email") or None, self.ttl
