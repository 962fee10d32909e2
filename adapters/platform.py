"""The contract every chat platform adapter (Slack, Discord, ...) fulfils.

The composition root (``adapters.runtime``) builds each enabled adapter with the settings,
the core and the shared aiohttp web application, starts them, and hands them the messages
the bot sends on its own. A new platform is one module implementing this and one line in
the runtime's adapter table.
"""

from __future__ import annotations

from typing import Protocol

from bot.messages import Outgoing


class PlatformAdapter(Protocol):
    #: the ``platform`` of the ChannelKeys this adapter serves: "slack", "discord"
    name: str

    async def start(self) -> None:
        """Connect (Socket Mode, gateway); return once connected or raise on failure."""
        ...

    async def stop(self) -> None:
        """Disconnect and release everything; safe to call twice."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the adapter currently has a working connection (for /readyz)."""
        ...

    async def send(self, message: Outgoing) -> str | None:
        """Post a message the bot sends on its own; returns the platform's message ref.

        Raises on failure after the platform client's own retries (429s are waited out), so
        the caller can retry later: a message is never dropped silently.
        """
        ...
