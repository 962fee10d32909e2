"""What Slack says about a person (users.info): their time zone and whether they administer
the workspace, cached so most requests make no extra call.

The cache is bounded: at most :data:`PEOPLE_KEPT` people (the least recently looked up go
first), each trusted for :data:`TZ_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.cache import Bounded
from bot.domain.model import ChannelKey

log = logging.getLogger("raidline.slack")

#: Seconds a users.info look-up may take before the request goes on without it.
TZ_LOOKUP_TIMEOUT = 1.5
#: Seconds a cached look-up is trusted.
TZ_TTL = 3600.0
#: The most people remembered at once (about 300 bytes each).
PEOPLE_KEPT = 10_000


@dataclass(frozen=True)
class Person:
    """``is_admin``: a workspace admin or owner (may always set a channel's leads);
    ``name``: how Slack shows them (display name, else real name, else user name)."""

    timezone: str | None = None
    is_admin: bool = False
    name: str | None = None

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> Person:
        tz = user.get("tz")
        admin = any(bool(user.get(flag)) for flag in ("is_admin", "is_owner", "is_primary_owner"))
        profile = user.get("profile") or {}
        names = (profile.get("display_name"), profile.get("real_name"), user.get("real_name"))
        name = next(
            (str(n).strip() for n in (*names, user.get("name")) if n and str(n).strip()), None
        )
        return cls(str(tz) if tz else None, admin, name)


class People:
    """(workspace, user) -> what users.info says of them, each entry trusted for ``ttl``
    seconds; at most ``size`` people."""

    def __init__(self, size: int = PEOPLE_KEPT, ttl: float = TZ_TTL) -> None:
        self._cache: Bounded[tuple[str, str], Person] = Bounded(size, ttl)

    def __len__(self) -> int:
        return len(self._cache)

    async def of(self, client: AsyncWebClient, workspace: str, user: str) -> str | None:
        """The person's Slack time zone; on a failed look-up the last known one, or None."""
        return (await self.person(client, workspace, user)).timezone

    async def person(self, client: AsyncWebClient, workspace: str, user: str) -> Person:
        """The person as Slack describes them; on a failed look-up the last known answer, or
        nobody in particular (no time zone, not an admin)."""
        key = (workspace, user)
        cached = self._cache.fresh(key)
        if cached is not None:
            return cached
        try:
            async with asyncio.timeout(TZ_LOOKUP_TIMEOUT):
                response = await client.users_info(user=user)
            person = Person.from_user(response.get("user") or {})
        except (SlackApiError, SlackClientError, TimeoutError, aiohttp.ClientError, OSError) as e:
            log.info("no users.info for %s: %s", user, type(e).__name__)
            known = self._cache.last_known(key)
            return known if known is not None else Person()
        self._cache.put(key, person)
        return person


class ClientSource(Protocol):
    async def client_for(self, workspace: str) -> AsyncWebClient: ...


class SlackNames:
    """The :class:`~bot.ports.PeopleDirectory` for Slack: names from users.info, through
    the same cache as time zones; whoever Slack does not answer for keeps their id."""

    def __init__(self, api: ClientSource, people: People) -> None:
        self._api = api
        self._people = people

    async def names(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        client = await self._api.client_for(channel.workspace)
        found = await asyncio.gather(
            *(self._people.person(client, channel.workspace, p) for p in people)
        )
        return {p: who.name for p, who in zip(people, found, strict=True) if who.name}

    async def timezones(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        """:class:`~bot.ports.ZoneDirectory`: each person's ``tz`` from users.info."""
        client = await self._api.client_for(channel.workspace)
        found = await asyncio.gather(
            *(self._people.person(client, channel.workspace, p) for p in people)
        )
        return {p: who.timezone for p, who in zip(people, found, strict=True) if who.timezone}


#: The name this cache had when it only knew time zones.
TimeZones = People
