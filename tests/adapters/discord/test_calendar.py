"""/raid calendar on Discord: the link is answered to the requester only (ephemeral), named
after the channel; ``reset`` is a boolean option of the same subcommand."""

from __future__ import annotations

import re

from icalendar import Calendar

from adapters.discord import DiscordAdapter
from adapters.links import PublicLinks
from adapters.runtime.config import load_settings
from tests.adapters.discord.conftest import (
    DANA,
    Driver,
    RecordingCore,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import opt, slash, user_opt

LINK_RE = re.compile(r"https://raid\.example\.com/calendar/([A-Za-z0-9_-]{43})\.ics")
BOOLEAN = 5


def linked(core: RecordingCore) -> None:
    core.links = PublicLinks(load_settings({"RAIDLINE_PUBLIC_URL": "https://raid.example.com"}))


async def test_the_link_is_ephemeral_and_opens_the_channels_feed(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    linked(core)
    await discord_api.message(
        slash(place(), "blocker", [opt("title", "Waiting on creds"), user_opt("owner", DANA),
                                   opt("due", "friday")])
    )  # fmt: skip
    answer = await discord_api.answer(slash(place(), "raid calendar"))
    assert is_ephemeral(answer)
    content = answer["data"]["content"]
    assert "Your calendar link for #channel-0:" in content
    assert (core.requests[-1].subcommand, core.requests[-1].channel_name) == (
        "calendar",
        "channel-0",
    )
    token = LINK_RE.search(content)
    assert token is not None, content
    feed = await core.calendar_feed(token.group(1))
    assert feed is not None
    [event] = Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["summary"]) == "#channel-0 · B-1 due: Waiting on creds"


async def test_the_reset_option_revokes_the_earlier_link(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    linked(core)
    first = await discord_api.answer(slash(place(), "raid calendar"))
    old = LINK_RE.search(first["data"]["content"])
    assert old is not None
    again = await discord_api.answer(slash(place(), "raid calendar", [opt("reset", True, BOOLEAN)]))
    assert is_ephemeral(again)
    assert core.requests[-1].options == {"reset": "true"}
    assert (
        "Your 1 earlier calendar link for #channel-0 no longer works." in again["data"]["content"]
    )
    assert await core.calendar_feed(old.group(1)) is None
    new = LINK_RE.search(again["data"]["content"])
    assert new is not None and await core.calendar_feed(new.group(1)) is not None


async def test_switched_off_the_answer_says_so_privately(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    answer = await discord_api.answer(slash(place(), "raid calendar"))
    assert is_ephemeral(answer)
    assert "There is no calendar feed here" in answer["data"]["content"]
