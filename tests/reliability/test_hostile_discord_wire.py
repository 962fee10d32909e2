"""On the wire, Discord: no message raidline sends can ping ``@everyone`` or a role, or link.

``test_hostile_input.py`` checks the renderers' output; this checks what reaches Discord through
the real discord.py client and adapter against the stand-in: every answer and every message sent
on its own carries ``allowed_mentions`` that forbid ``@everyone`` / ``@here`` and role pings,
whatever the user's text says (private answers ping nobody at all).
"""

from __future__ import annotations

from typing import Any

from adapters.discord import DiscordAdapter
from bot.domain.model import ChannelKey
from bot.messages import Outgoing, Reply, Visibility
from tests.adapters.discord import conftest as discord_fixtures
from tests.adapters.discord.conftest import (
    CHANNEL_A,
    GUILD_A,
    Driver,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import FakeDiscord, opt, slash

# The Discord adapter tests' fixtures: the stand-in, the core, the real bot started against it.
fake = discord_fixtures.fake
clock = discord_fixtures.clock
core = discord_fixtures.core
start_bot = discord_fixtures.start_bot
bot = discord_fixtures.bot
discord_api = discord_fixtures.discord_api

# --- Discord -----------------------------------------------------------------------------------

DISCORD_TYPED = (
    "@everyone @here <@&2400000000000000001> <@!3100000000000000009> ||x|| ``` "
    "[click](https://evil.example) \u200b@everyone"
)


def _forbids_mass_pings(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data", body)
    mentions = data["allowed_mentions"]
    assert "everyone" not in mentions.get("parse", []), mentions
    assert "roles" not in mentions.get("parse", []), mentions
    assert not mentions.get("roles"), mentions
    return dict(mentions)


async def test_discord_answers_never_ping_everyone_or_roles(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    public = await discord_api.answer(
        slash(
            place(),
            "blocker",
            [
                opt("title", DISCORD_TYPED[:300]),
                # after a first word (where the person would be, @here is refused)
                opt("waiting_on", "the vendor @here <@&1>"),
                opt("details", DISCORD_TYPED),
            ],
        )
    )
    assert not is_ephemeral(public)
    content = public["data"]["content"]
    # shown as typed (a zero-width space keeps it from even looking live), the link inert...
    assert "@\u200beveryone @\u200bhere <@\u200b&2400000000000000001>" in content
    assert "[click]\\(https://evil.example)" in content and "](" not in content
    _forbids_mass_pings(public)  # ...but never pinging
    refused = await discord_api.answer(
        slash(place(), "blocker", [opt("title", DISCORD_TYPED[:300]), opt("due", "12/05")])
    )
    assert is_ephemeral(refused)
    assert _forbids_mass_pings(refused).get("parse", []) == []
    listing = await discord_api.answer(slash(place(), "raid list"))
    _forbids_mass_pings(listing)


async def test_discord_messages_sent_on_its_own_never_ping_everyone_or_roles(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    where = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
    await bot.send(Outgoing(where, Reply(DISCORD_TYPED, visibility=Visibility.CHANNEL)))
    posts = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")
    assert posts, "nothing was sent"
    for post in posts:
        assert "@\u200beveryone @\u200bhere" in post.body["content"]
        assert "](" not in post.body["content"]
        _forbids_mass_pings(post.body)
