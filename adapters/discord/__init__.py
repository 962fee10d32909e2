"""Discord: raidline as a Discord application on discord.py, over the gateway.

The package is split by direction:

- :mod:`.client`: the gateway client (sharded or not), start and stop, command sync;
- :mod:`.commands`: the slash commands;
- :mod:`.components`: persistent buttons and selects (``DynamicItem``), views and modals;
- :mod:`.interactions`: an interaction becomes a core request and gets its answer; the one
  edge error handler;
- :mod:`.outbound`: messages the bot sends on its own;
- :mod:`.render`: the core's replies as Discord messages.
"""

from __future__ import annotations

import warnings

# ruff: noqa: E402 - the imports below come after the warning filter, which must come first
# discord.py imports the standard library's audioop for voice, which raidline never uses:
# Python 3.11 and 3.12 warn that it is deprecated. Only that warning, only from discord.py.
warnings.filterwarnings(
    "ignore",
    message="'audioop' is deprecated",
    category=DeprecationWarning,
    module=r"discord\.",
)

from adapters.discord import outbound
from adapters.discord.client import (
    INTENTS,
    PERMISSIONS,
    DiscordStartError,
    Gateway,
    RaidlineClient,
    ShardedRaidlineClient,
    invite_url,
)
from adapters.discord.interactions import Interactions
from adapters.discord.people import DiscordNames
from adapters.platform import AdapterDeps
from bot.messages import Outgoing


class DiscordAdapter:
    """raidline on Discord: the :class:`~adapters.platform.PlatformAdapter` face."""

    name = "discord"

    def __init__(self, deps: AdapterDeps) -> None:
        self.settings = deps.settings
        self.core = deps.core
        self.interactions = Interactions(deps.core)
        self.gateway = Gateway(deps.settings, self.interactions)
        deps.core.directories[self.name] = DiscordNames(lambda: self.gateway.client)

    @property
    def client(self) -> RaidlineClient | None:
        return self.gateway.client

    @property
    def sync_results(self) -> dict[str, str]:
        """What the last command sync did per target ("global" or a guild id)."""
        return self.gateway.sync_results

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    async def start(self) -> None:
        await self.gateway.start()

    async def stop(self) -> None:
        await self.gateway.stop()

    async def send(self, message: Outgoing) -> str | None:
        """Post to a channel (or a DM, or under a message's thread); returns the message id.

        discord.py waits out 429s itself; any other failure raises so the caller can retry.
        """
        client = self.gateway.client
        if client is None:
            raise RuntimeError("the Discord adapter is not started")
        return await outbound.send(client, message)


__all__ = [
    "INTENTS",
    "PERMISSIONS",
    "DiscordAdapter",
    "DiscordStartError",
    "RaidlineClient",
    "ShardedRaidlineClient",
    "invite_url",
]
