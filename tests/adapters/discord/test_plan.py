"""/milestone and /project link (``/raid link`` on Discord) through the real discord.py."""

from __future__ import annotations

from adapters.discord import DiscordAdapter
from bot.domain.model import Kind
from tests.adapters.discord.conftest import (
    DANA,
    Driver,
    RecordingCore,
    field_values,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import opt, slash, user_opt
from tests.fakes import FakeStore


async def test_milestone_with_options_is_planned_in_the_channel(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    interaction = slash(
        place(),
        "milestone",
        [opt("title", "Design approved"), opt("due", "Jan 15"), user_opt("owner", DANA)],
    )
    message = await discord_api.message(interaction)
    assert not is_ephemeral(message)
    assert message["content"] == "Planned M-1: Design approved"
    assert message["embeds"][0]["description"] == "**Milestone** · open · on track"
    fields = field_values(message)
    assert fields["Owner"] == f"<@{DANA}>"
    assert fields["Health"] == "on track"


async def test_project_link_runs_raid_link_and_shows_both_ends(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    await discord_api.message(slash(place(), "blocker", [opt("title", "Environment down")]))
    await discord_api.message(
        slash(place(), "blocker", [opt("title", "Load test"), opt("link", "OPS-4")])
    )
    linked = await discord_api.message(
        slash(
            place(),
            "project link",
            [opt("ref", "B-2"), opt("target", "B-1"), opt("relation", "depends-on")],
        )
    )
    request = core.requests[-1]
    assert (request.command, request.subcommand) == ("raid", "link")
    assert not is_ephemeral(linked)
    assert linked["content"].startswith("B-2 depends on B-1 now")
    titles = [e["title"] for e in linked["embeds"]]
    assert titles == ["B-2 · Load test", "B-1 · Environment down"]
    assert field_values(linked)["Tracker"] == "OPS-4"
    loop = await discord_api.answer(
        slash(place(), "project link", [opt("ref", "B-1"), opt("target", "depends-on B-2")])
    )
    assert is_ephemeral(loop)
    assert "can't depend on B-2" in loop["data"]["content"]
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    blockers = sorted(
        (i for i in store.state.items.values() if i.kind is Kind.BLOCKER), key=lambda i: i.number
    )
    assert [i.depends_on for i in blockers] == [(), ("B-1",)]
