"""The contract every chat platform adapter (Slack, Discord, ...) fulfils.

The composition root (``adapters.runtime``) builds each enabled adapter through one
constructor signature, ``Adapter(deps: AdapterDeps)``, starts them, and hands them the
messages the bot sends on its own. A new platform is one package implementing
:class:`PlatformAdapter` and one row in the runtime's adapter table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.messages import Outgoing

if TYPE_CHECKING:
    from aiohttp import web
    from sqlalchemy.ext.asyncio import AsyncEngine

    from adapters.runtime.config import Settings
    from bot.dispatcher import Core

#: Exit statuses of ``raidline``.
EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_CONFIG = 2


class StartupError(Exception):
    """Start-up cannot go on; ``str(error)`` is one line for the operator."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AdapterDeps:
    """Everything an adapter is built with; the same for every platform."""

    settings: Settings
    core: Core
    #: the shared aiohttp application (Slack's HTTP mode mounts its routes on it)
    web_app: web.Application | None = None
    #: raidline's database engine, for platform state kept in storage (Slack installations)
    engine: AsyncEngine | None = None


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
