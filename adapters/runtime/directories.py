"""The platforms' directories of names for work done from the shell (``raidline export``).

The chat path names people through the running adapter's connection (Slack's users.info,
Discord's members and users). A command run from the shell has no adapter running: when the
process has the platform's bot token (``SLACK_BOT_TOKEN``, ``DISCORD_BOT_TOKEN``), the same
directory is built on a connection of its own, for as long as the command needs it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from slack_sdk.web.async_client import AsyncWebClient

from adapters.discord.people import DiscordNames
from adapters.runtime.config import Settings
from adapters.slack.people import People, SlackNames
from bot.ports import PeopleDirectory

log = logging.getLogger("raidline")

#: The platforms a shell command can name people on, and the setting each needs.
TOKEN_SETTING = {"slack": "SLACK_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}


class _OneWorkspace:
    """The bot token's client, for whichever workspace is asked about."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def client_for(self, workspace: str) -> AsyncWebClient:
        return self._client


@contextlib.asynccontextmanager
async def platform_names(
    settings: Settings, platform: str
) -> AsyncIterator[PeopleDirectory | None]:
    """The directory of ``platform``'s names while the block runs, or None when this process
    has no token for it (or the platform refuses the token: then the ids are kept)."""
    if platform == "slack" and settings.slack_bot_token is not None:
        client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
        yield SlackNames(_OneWorkspace(client), People())
        return
    if platform == "discord" and settings.discord_bot_token is not None:
        # after adapters.discord (imported above), whose warning filter must come first
        import discord

        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        connection = discord.Client(intents=discord.Intents.none())
        bot: discord.Client | None = connection
        try:
            await connection.login(settings.discord_bot_token.get_secret_value())
        except (discord.DiscordException, OSError) as exc:
            log.warning("no Discord names for the export: %s", type(exc).__name__)
            await connection.close()
            bot = None
        try:
            yield None if bot is None else DiscordNames(lambda: bot)
        finally:
            if bot is not None:
                await bot.close()
        return
    yield None


def no_names_note(platform: str) -> str | None:
    """What an export made without the platform's names says once in its header."""
    setting = TOKEN_SETTING.get(platform)
    if setting is None:
        return None
    return (
        f"People are shown by their {platform.capitalize()} ids: this export was made from "
        f"the command line without a connection to {platform.capitalize()} (set {setting} "
        "to show their names)."
    )
