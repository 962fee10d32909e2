"""How Discord names people: the member's name in the server (nickname, else display name),
else the user's display name. The :class:`~bot.ports.PeopleDirectory` for Discord."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import discord

from bot.domain.model import ChannelKey

log = logging.getLogger("raidline.discord")


class DiscordNames:
    """Names from the gateway's cache, else from Discord's REST API (one call per person,
    made together); whoever Discord does not answer for keeps their id."""

    def __init__(self, client: Callable[[], discord.Client | None]) -> None:
        self._client = client

    async def names(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        client = self._client()
        if client is None:
            return {}
        guild = await self._guild(client, channel.workspace)
        found = await asyncio.gather(*(self._name(client, guild, p) for p in people))
        return {p: name for p, name in zip(people, found, strict=True) if name}

    async def _guild(self, client: discord.Client, workspace: str) -> discord.Guild | None:
        """The channel's server: from the gateway's cache, else (a connection without the
        gateway, as ``raidline export`` has) from the REST API."""
        if not workspace.isdigit():
            return None
        guild = client.get_guild(int(workspace))
        if guild is not None:
            return guild
        try:
            return await client.fetch_guild(int(workspace), with_counts=False)
        except discord.DiscordException as exc:
            log.info("no server %s: %s", workspace, type(exc).__name__)
            return None

    async def _name(
        self, client: discord.Client, guild: discord.Guild | None, person: str
    ) -> str | None:
        if not person.isdigit():
            return None
        user_id = int(person)
        try:
            if guild is not None:
                try:
                    member = guild.get_member(user_id) or await guild.fetch_member(user_id)
                    return member.display_name
                except discord.NotFound:
                    pass  # no longer in the server: their own name still reads better
            user = client.get_user(user_id) or await client.fetch_user(user_id)
            return user.display_name
        except discord.DiscordException as exc:
            log.info("no name for %s: %s", person, type(exc).__name__)
            return None
