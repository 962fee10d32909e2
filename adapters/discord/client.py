"""The gateway side: the discord.py client (sharded or not), start and stop, command sync.

discord.py honours 429s and resumes gateway sessions itself; :class:`Gateway` restarts the
connection should it ever fail on something discord.py does not handle, and syncs the command
schema only where Discord's copy differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from adapters.discord import render as dr
from adapters.discord.commands import install_commands
from adapters.discord.components import (
    ActionButton,
    FixButton,
    OptionsPageButton,
    PageButton,
    PeopleSelect,
)
from adapters.discord.interactions import Interactions, Tree
from adapters.platform import EXIT_UNAVAILABLE, StartupError
from adapters.runtime.config import ConfigError, Settings

log = logging.getLogger("raidline.discord")

# raidline never joins a voice channel: discord.py's "PyNaCl / davey is not installed, voice
# will NOT be supported" warnings at start-up say nothing about raidline (discord.py warns only
# while these are True).
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

#: No privileged intent: slash commands, components and modals arrive without any intent;
#: ``guilds`` keeps channels and threads cached so a thread maps to its parent channel.
INTENTS = discord.Intents.none()
INTENTS.guilds = True

#: View Channels, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links,
#: Attach Files, Read Message History: what the messages the bot sends on its own need.
#: Interaction answers need no channel permission.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
)


class DiscordStartError(StartupError):
    """Discord could not be reached at start-up; ``str(error)`` is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_UNAVAILABLE)


class RaidlineClient(discord.Client):
    def __init__(
        self,
        gateway: Gateway,
        interactions: Interactions,
        *,
        guild_ready_timeout: float,
        **shards: Any,
    ) -> None:
        super().__init__(
            intents=INTENTS,
            guild_ready_timeout=guild_ready_timeout,
            chunk_guilds_at_startup=False,
            max_messages=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            **shards,
        )
        self.gateway = gateway
        self.interactions = interactions
        self.tree = Tree(
            self,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton, PeopleSelect, PageButton, OptionsPageButton, FixButton)
        install_commands(self.tree)
        await self.gateway.sync_commands()

    async def on_ready(self) -> None:
        self.gateway.ready.set()
        log.info("connected to Discord as %s in %d guild(s)", self.user, len(self.guilds))

    async def on_resumed(self) -> None:
        log.info("Discord gateway session resumed")

    async def on_interaction(self, interaction: discord.Interaction[RaidlineClient]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            data = cast(Mapping[str, Any], interaction.data or {})
            parsed = dr.parse_form_custom_id(str(data.get("custom_id", "")))
            if parsed is not None:
                handler = self.interactions
                await handler.guarded(
                    interaction,
                    handler.on_modal_submit(
                        interaction, parsed.form_id, parsed.token, data, place=parsed.place
                    ),
                )


class ShardedRaidlineClient(RaidlineClient, discord.AutoShardedClient):
    """The same client running the shards in DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT.

    Several processes split the guilds between them (Discord routes each guild's events to
    shard ``(guild_id >> 22) % shard_count``); each connects to the gateway URL Discord's
    ``GET /gateway/bot`` returns."""


def make_client(gateway: Gateway, interactions: Interactions, settings: Settings) -> RaidlineClient:
    timeout = gateway.guild_ready_timeout
    if settings.discord_shard_count is None:
        return RaidlineClient(gateway, interactions, guild_ready_timeout=timeout)
    return ShardedRaidlineClient(
        gateway,
        interactions,
        guild_ready_timeout=timeout,
        shard_count=settings.discord_shard_count,
        shard_ids=list(settings.discord_shard_ids) or None,
    )


def command_schema(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    return [c.to_dict(tree) for c in tree.get_commands()]


_SCHEMA_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "options",
        "choices",
        "value",
        "required",
        "autocomplete",
        "min_length",
        "max_length",
        "min_value",
        "max_value",
        "channel_types",
        "default_member_permissions",
        "nsfw",
        "contexts",
        "integration_types",
    }
)


def _normalize(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: _normalize(v)
            for k, v in sorted(value.items())
            if k in _SCHEMA_KEYS and v not in (None, False, [], {})
        }
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def schema_hash(commands: Sequence[Mapping[str, Any]]) -> str:
    """A hash of what Discord shows of the commands, equal for ours and Discord's copy."""
    normal = sorted((_normalize(c) for c in commands), key=lambda c: str(c.get("name")))
    blob = json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class Gateway:
    """The connection to Discord: log in, wait for READY, keep it running, sync commands."""

    #: Seconds ``start()`` waits for READY.
    ready_timeout = 60.0
    #: Seconds discord.py waits after the last GUILD_CREATE before READY.
    guild_ready_timeout = 2.0
    #: Seconds before the first restart of a connection that failed unexpectedly.
    restart_delay = 1.0

    def __init__(self, settings: Settings, interactions: Interactions) -> None:
        self.settings = settings
        self.interactions = interactions
        self.client: RaidlineClient | None = None
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self._saved_urls: tuple[str, yarl.URL] | None = None
        #: What the last command sync did per target ("global" or a guild id): synced/unchanged.
        self.sync_results: dict[str, str] = {}

    async def start(self) -> None:
        if self.client is not None:
            return
        token = self.settings.discord_bot_token
        if token is None:
            raise ConfigError("DISCORD_BOT_TOKEN: not set; the Discord adapter needs it")
        self._patch_urls()
        self.ready = asyncio.Event()
        client = make_client(self, self.interactions, self.settings)
        self.client = client
        try:
            await client.login(token.get_secret_value())
        except discord.LoginFailure:
            await self._abort()
            raise ConfigError(
                "DISCORD_BOT_TOKEN: Discord refused the token (401 Unauthorized); copy the bot "
                "token again from the Developer Portal (Bot > Reset Token)"
            ) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self._abort()
            raise DiscordStartError(
                f"can't reach the Discord API at {self.settings.discord_api_url} "
                f"({type(exc).__name__}: {_one_line(exc)})"
            ) from None
        self._task = asyncio.create_task(self._run_gateway(client), name="raidline-discord")
        self._task.add_done_callback(self._gateway_ended)
        ready = asyncio.create_task(self.ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            return
        ready.cancel()
        reason = f"no READY from the Discord gateway within {self.ready_timeout:g}s"
        if self._task in done and not self._task.cancelled() and self._task.exception():
            reason = _gateway_failure(self._task.exception())
        await self._abort()
        raise DiscordStartError(reason)

    async def stop(self) -> None:
        await self._abort()

    async def _abort(self) -> None:
        client, task = self.client, self._task
        self.client, self._task = None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        self._restore_urls()

    async def _run_gateway(self, client: RaidlineClient) -> None:
        """discord.py's connection loop (reconnects and resumes itself), restarted should it
        ever fail on something it does not handle, such as a malformed event."""
        failures = 0
        while True:
            began = time.monotonic()
            try:
                await client.connect(reconnect=True)
                return
            except Exception as exc:
                if client.is_closed():
                    raise  # closed on purpose, or a fatal close code (bad token, intents)
                if time.monotonic() - began > 60:
                    failures = 0  # it had been working: start the backoff again
                delay = min(self.restart_delay * 2**failures, 60.0)
                failures += 1
                log.error(
                    "the Discord connection failed (%s); connecting again in %.1fs",
                    _one_line(exc),
                    delay,
                    exc_info=exc,
                )
                if client.ws is not None:
                    with contextlib.suppress(Exception):
                        await client.ws.close(code=4000)
                await asyncio.sleep(delay)

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("the Discord connection ended: %s", _gateway_failure(task.exception()))

    @property
    def connected(self) -> bool:
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        ws = client.ws
        return ws is not None and ws.open

    def _patch_urls(self) -> None:
        if self._saved_urls is None:
            self._saved_urls = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.settings.discord_api_url.rstrip("/")
        if self.settings.discord_gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
                self.settings.discord_gateway_url
            )

    def _restore_urls(self) -> None:
        if self._saved_urls is not None:
            base, gateway = self._saved_urls
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
            self._saved_urls = None

    # -- command sync -------------------------------------------------------------------------

    async def sync_commands(self) -> None:
        """Sync the command schema, only where Discord's copy differs (compared by hash).

        To the guilds in DISCORD_GUILD_IDS (instant) when set, else globally.
        """
        client = self.client
        if client is None or client.application_id is None:
            return
        tree = client.tree
        local_hash = schema_hash(command_schema(tree))
        targets: list[discord.Object | None] = [
            discord.Object(id=g) for g in self.settings.discord_guild_ids
        ] or [None]
        for guild in targets:
            where = "global" if guild is None else str(guild.id)
            try:
                if guild is None:
                    remote = await client.http.get_global_commands(client.application_id)
                else:
                    tree.copy_global_to(guild=guild)
                    remote = await client.http.get_guild_commands(client.application_id, guild.id)
                if schema_hash(cast(Sequence[Mapping[str, Any]], remote)) == local_hash:
                    self.sync_results[where] = "unchanged"
                    log.info("Discord commands unchanged (%s); not synced", where)
                    continue
                await tree.sync(guild=guild)
                self.sync_results[where] = "synced"
                log.info("Discord commands synced (%s, schema %s)", where, local_hash[:12])
            except discord.Forbidden:
                self.sync_results[where] = "forbidden"
                log.error(
                    "can't sync Discord commands to guild %s: invite the bot with the "
                    "applications.commands scope",
                    where,
                )
            except discord.HTTPException as exc:
                self.sync_results[where] = "failed"
                log.error("Discord command sync failed (%s): %s", where, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _gateway_failure(exc: BaseException | None) -> str:
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused a privileged intent; raidline needs none, so this is a bug"
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return "the Discord gateway refused DISCORD_BOT_TOKEN (close code 4004); check the token"
    if exc is None:
        return "the Discord connection ended"
    return f"the Discord gateway connection failed ({type(exc).__name__}: {_one_line(exc)})"


def invite_url(application_id: int) -> str:
    """The invite URL: the bot and its slash commands, with the permissions raidline uses."""
    return discord.utils.oauth_url(
        application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands")
    )
