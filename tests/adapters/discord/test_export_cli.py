"""``raidline export`` of a Discord channel names people as the chat path does (the member's
nickname in the server, else their name) over Discord's REST API when the process has
DISCORD_BOT_TOKEN; without it, ids, and the export says so once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.model import ChannelKey
from tests.adapters.discord.conftest import ANA, CHANNEL_A, DANA, GUILD_A
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord
from tests.adapters.export_cli import export, note_of, seed

CHANNEL = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))


@pytest.mark.parametrize("fmt", ["md", "json"])
async def test_with_the_bot_token_people_are_named_as_discord_names_them(
    fake: FakeDiscord, tmp_path: Path, fmt: str
) -> None:
    fake.nicknames[str(DANA)] = "Dana (infra)"
    db = tmp_path / "raid.db"
    await seed(db, CHANNEL, owner=str(DANA), reporter=str(ANA))
    env = {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.api_url}
    body = await export(db, env, str(CHANNEL_A), fmt, tmp_path)
    assert "Dana (infra)" in body  # her nickname in the server
    assert f"user{ANA}" in body  # no nickname: her own name
    assert note_of(body, fmt) is None
    assert fake.calls_to("GET", rf"/guilds/{GUILD_A}/members/{DANA}")


@pytest.mark.parametrize("fmt", ["md", "json"])
async def test_without_a_token_people_stay_ids_and_the_export_says_so_once(
    fake: FakeDiscord, tmp_path: Path, fmt: str
) -> None:
    db = tmp_path / "raid.db"
    await seed(db, CHANNEL, owner=str(DANA), reporter=str(ANA))
    body = await export(db, {}, str(CHANNEL_A), fmt, tmp_path)
    assert str(DANA) in body and "Dana (infra)" not in body
    assert note_of(body, fmt) == (
        "People are shown by their Discord ids: this export was made from the command line "
        "without a connection to Discord (set DISCORD_BOT_TOKEN to show their names)."
    )
    assert not fake.calls_to("GET", r"/guilds/.*")
