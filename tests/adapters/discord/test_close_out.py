"""Close-out through the real discord.py: ``/project close-out``, ``defer``, ``lesson`` and
``reopen-project`` (``/raid`` holds Discord's 25 subcommands already) run as ``/raid`` does."""

from __future__ import annotations

from typing import Any

from adapters.discord import DiscordAdapter
from tests.adapters.discord.conftest import (
    Driver,
    RecordingCore,
    field_values,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import (
    APP_ID,
    FakeDiscord,
    click,
    custom_ids,
    modal_submit,
    opt,
    slash,
)


def _project_schema(fake: FakeDiscord) -> dict[str, Any]:
    (put,) = fake.calls_to("PUT", f"/applications/{APP_ID}/commands")
    return next(c for c in put.body if c["name"] == "project")


async def test_the_close_out_subcommands_live_under_project(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    project = _project_schema(fake)
    subs = {o["name"]: o for o in project["options"]}
    assert {"close-out", "defer", "lesson", "reopen-project"} <= set(subs)
    defer = {o["name"]: o for o in subs["defer"]["options"]}
    assert [name for name, o in defer.items() if o.get("required")] == ["ref", "until", "reason"]
    assert defer["ref"]["autocomplete"] is True
    steps = [c["value"] for c in subs["close-out"]["options"][0]["choices"]]
    assert steps == ["lessons", "finish"]


async def test_defer_lesson_finish_and_reopen_through_discord(
    bot: DiscordAdapter, core: RecordingCore, fake: FakeDiscord, discord_api: Driver
) -> None:
    await discord_api.message(slash(place(), "blocker", [opt("title", "Waiting on creds")]))
    checklist = await discord_api.message(slash(place(), "project close-out"))
    assert core.requests[-1].command == "raid"
    assert core.requests[-1].subcommand == "close-out"
    assert not is_ephemeral(checklist)
    assert "1 item still block closing (1 open blocker)" in checklist["content"]

    deferred = await discord_api.message(
        slash(
            place(),
            "project defer",
            [opt("ref", "B-1"), opt("until", "1 Mar"), opt("reason", "vendor moved to Q1")],
        )
    )
    assert core.requests[-1].options == {
        "ref": "B-1",
        "until": "1 Mar",
        "reason": "vendor moved to Q1",
    }
    fields = field_values(deferred)
    assert fields["Revisit"].startswith("Mon 1 Mar 2027")
    assert fields["Deferred because"] == "vendor moved to Q1"

    lesson = await discord_api.message(
        slash(place(), "project lesson", [opt("text", "Ask for creds in week one")])
    )
    assert lesson["content"] == "Lesson learned #1 noted: Ask for creds in week one"

    interaction = slash(place(), "project close-out", [opt("step", "finish")])
    closed = await discord_api.answer(interaction)
    assert not is_ephemeral(closed)
    (call,) = fake.callbacks(interaction["id"])
    ((name, data),) = call.files
    assert "final-report" in name and name.endswith(".md")
    assert b"## Lessons learned" in data and b"Ask for creds in week one" in data

    refused = await discord_api.answer(slash(place(), "blocker", [opt("title", "Another one")]))
    assert is_ephemeral(refused)
    assert "This project is closed" in refused["data"]["content"]

    reopened = await discord_api.message(slash(place(), "project reopen-project"))
    assert reopened["content"].startswith("The project is open again")


async def test_the_checklists_defer_button_opens_a_modal_that_defers(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    await discord_api.message(slash(place(), "blocker", [opt("title", "Waiting on creds")]))
    checklist = await discord_api.message(slash(place(), "project close-out"))
    assert "rl:a:defer:B-1" in custom_ids(checklist)
    modal = await discord_api.answer(click(place(), checklist, "rl:a:defer:B-1"))
    assert [c["label"] for c in modal["data"]["components"]] == [
        "Revisit on",
        "Why it is deferred",
    ]
    await discord_api.answer(
        modal_submit(
            place(),
            "rl:f:defer:B-1",
            {"until": "in 2 weeks", "reason": "NetOps freeze"},
            message=checklist,
        )
    )
    listed = await discord_api.answer(slash(place(), "raid list", [opt("include_closed", True, 5)]))
    assert "deferred · revisit" in listed["data"]["embeds"][0]["description"]
