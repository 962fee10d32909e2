"""DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS split the guilds between processes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from adapters.discord import DiscordAdapter, ShardedRaidlineClient
from adapters.platform import AdapterDeps
from adapters.runtime.config import ConfigError, load_settings
from bot.domain.model import ChannelKey
from bot.messages import Action, Outgoing, Reply, Request, Visibility
from tests.adapters.discord.conftest import Driver, RecordingCore, settings_for
from tests.adapters.discord.fake_discord import (
    FakeDiscord,
    FakeGuild,
    Place,
    click,
    custom_ids,
    in_dm,
)
from tests.fakes import FakeStore

# A guild's shard is (guild_id >> 22) % shard_count.
EVEN = (10 << 22) | 1  # shard 0 of 2
ODD = (11 << 22) | 1  # shard 1 of 2


@pytest.fixture
def two_guilds() -> Iterator[FakeDiscord]:
    server = FakeDiscord([FakeGuild(EVEN, (EVEN + 1,), "Even"), FakeGuild(ODD, (ODD + 1,), "Odd")])
    server.start()
    yield server
    server.stop()


async def test_two_processes_each_run_their_shard(two_guilds: FakeDiscord) -> None:
    adapters = [
        DiscordAdapter(
            AdapterDeps(
                settings_for(two_guilds, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS=shard),
                RecordingCore(FakeStore()),
            )
        )
        for shard in ("0", "1")
    ]
    try:
        for adapter in adapters:
            adapter.gateway.guild_ready_timeout = 0.05
            await adapter.start()
        clients = [a.client for a in adapters]
        assert all(isinstance(c, ShardedRaidlineClient) for c in clients)
        assert [[g.id for g in c.guilds] for c in clients if c] == [[EVEN], [ODD]]
        identified = sorted(f["d"]["shard"] for f in two_guilds.frames(2))
        assert identified == [[0, 2], [1, 2]]
    finally:
        for adapter in adapters:
            await adapter.stop()


async def test_without_shard_settings_one_unsharded_connection(two_guilds: FakeDiscord) -> None:
    adapter = DiscordAdapter(AdapterDeps(settings_for(two_guilds), RecordingCore(FakeStore())))
    adapter.gateway.guild_ready_timeout = 0.05
    try:
        await adapter.start()
        assert adapter.client is not None
        assert not isinstance(adapter.client, ShardedRaidlineClient)
        assert sorted(g.id for g in adapter.client.guilds) == [EVEN, ODD]
    finally:
        await adapter.stop()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_COUNT: missing"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0,2"}, "run from 0 to 1"),
        ({"DISCORD_SHARD_COUNT": "0"}, "not a shard count"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "one"}, "not a shard id"),
    ],
)
def test_shard_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


async def test_a_dm_click_for_a_guild_of_another_shard_is_checked_through_the_api(
    two_guilds: FakeDiscord,
) -> None:
    """Discord sends every direct message to shard 0; the process running shard 0 does not
    hold the guild of shard 1 in its cache, so it asks Discord's API about that guild."""
    core = RecordingCore(FakeStore())
    adapter = DiscordAdapter(
        AdapterDeps(settings_for(two_guilds, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="0"), core)
    )
    adapter.gateway.guild_ready_timeout = 0.05
    key = ChannelKey("discord", str(ODD), str(ODD + 1))
    user = 3100000000000000001
    try:
        await adapter.start()
        assert adapter.client is not None and adapter.client.get_guild(ODD) is None
        await core.handle(Request(key, str(user), command="blocker", text="Odd one out"))
        nudge = Reply("B-1 waits", Visibility.CHANNEL, actions=(Action("Resolve", "resolve:B-1"),))
        message = two_guilds.message(
            await adapter.send(Outgoing(key, nudge, to_user=str(user))) or ""
        )
        [custom_id] = custom_ids(message)
        where = Place(ODD, ODD + 1, user)
        body = await Driver(two_guilds).answer(
            in_dm(click(where, message, custom_id), message["channel_id"])
        )
        assert body["type"] == 7
        assert "resolved" in json.dumps(two_guilds.message(message["id"])["embeds"])
        assert core.requests[-1].channel == key
        assert two_guilds.calls_to("GET", rf"/guilds/{ODD}")
        assert two_guilds.calls_to("GET", rf"/guilds/{ODD}/members/{user}")
    finally:
        await adapter.stop()
