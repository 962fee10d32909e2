"""A Discord member with Manage Server (or Administrator) may always set a channel's leads:
the permission comes from the interaction's own member payload."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.domain.model import ChannelKey
from tests.adapters.discord.conftest import (
    ANA,
    CHANNEL_A,
    EVE,
    GUILD_A,
    Driver,
    RecordingCore,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import slash, user_opt
from tests.fakes import FakeStore

CHANNEL = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
MEMBER = 2248473465835073  # the stand-in's member permissions: neither Manage Server nor Admin
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
LEAD_OPTIONS = ("lead", "lead_2", "lead_3")


def leads(core: RecordingCore) -> tuple[str, ...]:
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    settings = store.state.settings.get(CHANNEL)
    return settings.leads if settings else ()


def set_leads(user: int, *people: int, permissions: int = MEMBER) -> dict[str, Any]:
    options = [user_opt(name, person) for name, person in zip(LEAD_OPTIONS, people, strict=False)]
    payload = slash(place(user), "raid settings leads", options)
    payload["member"]["permissions"] = str(permissions)
    return payload


@pytest.mark.parametrize(
    ("permissions", "taken_over"),
    [
        (MEMBER | MANAGE_GUILD, True),
        (MEMBER | ADMINISTRATOR, True),
        (MEMBER, False),
    ],
    ids=["manage-server", "administrator", "member"],
)
async def test_a_member_with_manage_server_may_set_the_leads_of_a_locked_channel(
    bot: DiscordAdapter,
    core: RecordingCore,
    discord_api: Driver,
    permissions: int,
    taken_over: bool,
) -> None:
    first = await discord_api.answer(set_leads(ANA, ANA))
    assert not is_ephemeral(first), first
    assert leads(core) == (str(ANA),)
    answer = await discord_api.answer(set_leads(EVE, EVE, permissions=permissions))
    assert core.requests[-1].user_is_admin is taken_over
    if taken_over:
        assert not is_ephemeral(answer)
        assert answer["data"]["content"] == f"Leads of this channel: <@{EVE}>."
        assert leads(core) == (str(EVE),)
    else:
        assert is_ephemeral(answer)
        assert answer["data"]["content"] == (
            f"Only a lead (<@{ANA}>) or a Discord member with Manage Server may change the leads."
        )
        assert leads(core) == (str(ANA),)
