"""raidline's Slack adapter: the app, its listeners and its sender, put together.

Everything Slack sends becomes a core :class:`~bot.messages.Request`
(:mod:`adapters.slack.inbound`, :mod:`adapters.slack.listeners`); every
:class:`~bot.messages.Reply` becomes Block Kit (:mod:`adapters.slack.blocks`) sent through
the Web API (:mod:`adapters.slack.outbound`). Bolt's app, OAuth, the HTTP routes and Socket
Mode are :mod:`adapters.slack.app`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from adapters.platform import AdapterDeps
from adapters.slack.app import SlackApp
from adapters.slack.inbound import PLATFORM
from adapters.slack.listeners import Listeners
from adapters.slack.outbound import Outbound
from adapters.slack.people import SlackNames, TimeZones
from bot.messages import Outgoing


class SlackAdapter:
    """The :class:`~adapters.platform.PlatformAdapter` for Slack."""

    name = PLATFORM

    def __init__(self, deps: AdapterDeps) -> None:
        self.settings = deps.settings
        self.core = deps.core
        self.slack = SlackApp(deps)
        self.outbound = Outbound(self.slack)
        self.timezones = TimeZones()
        self.listeners = Listeners(
            deps.core, self.outbound, self.timezones, deps.settings.slack_command_names
        )
        self.listeners.register(self.slack.app)
        names = SlackNames(self.slack, self.timezones)
        deps.core.directories[PLATFORM] = names
        deps.core.zone_directories[PLATFORM] = names

    @property
    def identity(self) -> dict[str, Any]:
        """auth.test of the configured bot token: team_id, enterprise_id, user_id, bot_id."""
        return self.slack.identity

    @property
    def installation_store(self) -> AsyncInstallationStore | None:
        """The installation store Bolt uses (with OAuth), else None."""
        return self.slack.installs

    @property
    def connected(self) -> bool:
        return self.slack.connected

    async def start(self) -> None:
        """Check the tokens with Slack, create the OAuth tables, open Socket Mode."""
        await self.slack.start()

    async def stop(self) -> None:
        await self.slack.stop()

    async def send(self, message: Outgoing) -> str | None:
        """Post a message raidline sends on its own; raises when Slack refuses it."""
        return await self.outbound.send(message)
