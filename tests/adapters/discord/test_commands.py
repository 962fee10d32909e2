"""Slash commands through the real discord.py: the synced schema, each command, autocomplete."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from bot.messages import Request
from tests.adapters.discord.conftest import (
    ANA,
    CHANNEL_A,
    DANA,
    EVE,
    GUILD_A,
    GUILD_B,
    THREAD_A,
    Driver,
    RecordingCore,
    StartBot,
    embed_titles,
    field_values,
    find,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import APP_ID, FakeDiscord, opt, slash, until, user_opt
from tests.fakes import FakeStore

# --- the command schema ---------------------------------------------------------------------


def _schema(fake: FakeDiscord, scope: str = "") -> dict[str, dict[str, Any]]:
    path = f"/applications/{APP_ID}{scope}/commands"
    puts = fake.calls_to("PUT", path)
    assert len(puts) == 1, f"expected one sync to {path}, saw {len(puts)}"
    return {c["name"]: c for c in puts[0].body}


def _check_limits(node: Any) -> None:
    """Discord's per-field limits: names 1-32 lowercase, descriptions and choices 1-100."""
    assert re.fullmatch(r"[-_a-z0-9]{1,32}", node["name"]), node["name"]
    assert 1 <= len(node["description"]) <= 100, node["description"]
    for choice in node.get("choices") or []:
        assert 1 <= len(choice["name"]) <= 100
    assert len(node.get("choices") or []) <= 25
    assert len(node.get("options") or []) <= 25
    for option in node.get("options") or []:
        _check_limits(option)


def _size(command: Any) -> int:
    """What Discord counts towards its 8,000-character limit per command."""
    if isinstance(command, dict):
        own = sum(len(str(command.get(k, ""))) for k in ("name", "description", "value"))
        return own + sum(_size(v) for k, v in command.items() if k in ("options", "choices"))
    if isinstance(command, list):
        return sum(_size(c) for c in command)
    return 0


def _typed(request: Request) -> tuple[str, str | None, dict[str, str] | None]:
    """What a slash command gave the core: command, subcommand, typed options (no text)."""
    assert request.text == ""
    options = dict(request.options) if request.options is not None else None
    return request.command, request.subcommand, options


_BLOCKER = "blocker Waiting on creds"


async def _same_as_text(
    core: RecordingCore, command: str, text: str, *, setup: str = "", typed: Request | None = None
) -> bool:
    """Whether the core answers the last typed request as it answers ``text``, each on a fresh
    store (after ``setup``, a text command) at the same moment."""
    request = typed or core.requests[-1]
    replies = []
    for same in (request, replace(request, text=text, subcommand=None, options=None)):
        twin = RecordingCore(FakeStore(), clock=core.clock, default_timezone="Europe/Berlin")
        if setup:
            name, _, rest = setup.partition(" ")
            await twin.handle(
                replace(request, command=name, text=rest, subcommand=None, options=None)
            )
        replies.append(await twin.handle(replace(same, command=command)))
    return replies[0] == replies[1]


async def test_the_synced_schema_has_the_seven_commands_with_typed_options(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    schema = _schema(fake)
    assert set(schema) == {
        "blocker", "risk", "decision", "change", "milestone", "raid", "standup", "digest",
        "project",
    }  # fmt: skip
    assert "stakeholders" in {o["name"] for o in schema["project"]["options"]}
    for command in schema.values():
        assert command["contexts"] == [0], "guild channels only"
        assert command["integration_types"] == [0]
        assert _size(command) <= 8000
        _check_limits(command)
    types = {o["name"]: o["type"] for o in schema["blocker"]["options"]}
    assert types == {
        "title": 3, "owner": 6, "due": 3, "waiting_on": 3, "details": 3, "milestone": 3, "link": 3
    }  # fmt: skip
    assert find(schema["blocker"]["options"], "milestone")["autocomplete"] is True
    milestone = {o["name"]: o["type"] for o in schema["milestone"]["options"]}
    assert milestone == {"title": 3, "due": 3, "owner": 6, "link": 3, "details": 3}
    # /raid link lives under /project on Discord (/raid holds Discord's 25 subcommands)
    project = {o["name"]: o for o in schema["project"]["options"]}
    assert "link" in project and "link" not in {o["name"] for o in schema["raid"]["options"]}
    assert find(project["link"]["options"], "ref")["autocomplete"] is True
    # Nothing required: a command without its required fields opens a modal instead.
    for name in ("blocker", "risk", "decision", "change", "milestone"):
        assert not any(o["required"] for o in schema[name]["options"])
    risk = schema["risk"]["options"]
    assert [c["value"] for c in find(risk, "likelihood")["choices"]] == ["1", "2", "3", "4", "5"]
    assert [c["value"] for c in find(risk, "impact")["choices"]] == ["1", "2", "3", "4", "5"]
    assert [c["value"] for c in find(risk, "response")["choices"]] == [
        "avoid",
        "mitigate",
        "transfer",
        "accept",
    ]
    assert find(risk, "owner")["type"] == 6
    decision = schema["decision"]["options"]
    assert find(decision, "decider")["type"] == 6
    assert {c["value"] for c in find(decision, "state")["choices"]} == {"decided", "needed"}
    assert find(schema["change"]["options"], "approver")["type"] == 6

    raid = {o["name"]: o for o in schema["raid"]["options"]}
    spec_subcommands = {
        "list", "show", "resolve", "assign", "due", "note", "approve", "reject", "decide",
        "close", "occurred", "reopen", "withdraw", "history", "export", "settings", "help",
    }  # fmt: skip
    assert spec_subcommands <= set(raid)
    resolve_ref = find(raid["resolve"]["options"], "ref")
    assert resolve_ref == {
        "type": 3,
        "name": "ref",
        "description": "the item, e.g. B-3",
        "required": True,
        "autocomplete": True,
    }
    assert find(raid["assign"]["options"], "person")["type"] == 6
    formats = find(raid["export"]["options"], "format")["choices"]
    assert [c["value"] for c in formats] == ["md", "csv", "json"]
    assert raid["settings"]["type"] == 2
    assert {o["name"] for o in raid["settings"]["options"]} == {
        "show",
        "timezone",
        "leads",
        "nudges",
        "workweek",
        "holidays",
        "links",
        "escalations",
    }
    standup = {o["name"] for o in schema["standup"]["options"]}
    assert standup == {
        "status", "schedule", "questions", "members", "window", "mode", "late", "reminder",
        "mentions", "skip", "away", "answer", "now", "off", "add", "remove", "tz",
    }  # fmt: skip
    assert len(standup) <= 25  # Discord's limit of subcommands per command
    assert {o["name"] for o in schema["digest"]["options"]} == {
        "now", "daily", "weekly", "monthly", "add", "remove", "status", "off",
    }  # fmt: skip


async def test_commands_are_synced_again_only_when_the_schema_changed(
    start_bot: StartBot, fake: FakeDiscord
) -> None:
    first = await start_bot()
    assert first.sync_results == {"global": "synced"}
    await first.stop()
    second = await start_bot()
    assert second.sync_results == {"global": "unchanged"}
    assert len(fake.calls_to("PUT", f"/applications/{APP_ID}/commands")) == 1
    await second.stop()
    # Someone changed a description on Discord's side: the next start puts it back.
    with fake.lock:
        fake.commands["global"][0]["description"] = "changed elsewhere"
    third = await start_bot()
    assert third.sync_results == {"global": "synced"}
    assert len(fake.calls_to("PUT", f"/applications/{APP_ID}/commands")) == 2


async def test_with_guild_ids_commands_go_to_those_guilds_at_once(
    start_bot: StartBot, fake: FakeDiscord
) -> None:
    adapter = await start_bot(DISCORD_GUILD_IDS=f"{GUILD_A},{GUILD_B}")
    assert adapter.sync_results == {str(GUILD_A): "synced", str(GUILD_B): "synced"}
    assert set(_schema(fake, f"/guilds/{GUILD_A}")) == set(_schema(fake, f"/guilds/{GUILD_B}"))
    assert "blocker" in _schema(fake, f"/guilds/{GUILD_A}")
    assert fake.calls_to("PUT", f"/applications/{APP_ID}/commands") == []


async def test_gateway_identify_asks_for_no_privileged_intent(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    identify = fake.frames(2)[0]["d"]
    assert identify["token"] == "test-token"
    privileged = (1 << 1) | (1 << 8) | (1 << 15)
    assert identify["intents"] & privileged == 0
    assert bot.connected


# --- logging commands -----------------------------------------------------------------------


async def test_blocker_with_options_is_logged_in_the_channel(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    interaction = slash(
        place(),
        "blocker",
        [
            opt("title", "Waiting on firewall change"),
            user_opt("owner", DANA),
            opt("due", "friday"),
            opt("waiting_on", "NetOps"),
        ],
    )
    body = await discord_api.answer(interaction)
    assert body["type"] == 4
    assert not is_ephemeral(body)
    message = await discord_api.message(interaction)
    assert message["content"] == "Logged B-1: Waiting on firewall change"
    assert embed_titles(message) == ["B-1 · Waiting on firewall change"]
    embed = message["embeds"][0]
    assert embed["description"] == "**Blocker** · open"
    assert embed["color"] == 0xE67E22
    fields = field_values(message)
    assert fields["Owner"] == f"<@{DANA}>"
    # Friday 27 Nov 2026, 17:00 in the channel's time zone (Berlin), shown in each reader's own.
    assert fields["Due"] == "<t:1795795200:f> (<t:1795795200:R>)"
    assert fields["Waiting on"] == "NetOps"
    assert fields["Reported"].startswith(f"by <@{ANA}>")


async def test_blocker_with_an_ambiguous_date_is_refused_privately_and_nothing_is_saved(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    body = await discord_api.answer(
        slash(place(), "blocker", [opt("title", "Waiting on creds"), opt("due", "12/05")])
    )
    assert body["type"] == 4
    assert is_ephemeral(body)
    errors = field_values(body["data"])
    assert "Due (need-by)" in errors
    assert "12/05" in errors["Due (need-by)"] or "ambiguous" in errors["Due (need-by)"].lower()
    assert body["data"]["embeds"][-1]["title"] == "Nothing was saved. Please fix:"
    assert [c["label"] for c in body["data"]["components"][0]["components"]] == ["Fix it"]
    listing = await discord_api.answer(slash(place(), "raid list"))
    assert "none" in listing["data"]["content"]


async def test_risk_options_become_the_risk_fields(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    message = await discord_api.message(
        slash(
            place(),
            "risk",
            [
                opt("title", "Vendor may slip SSO"),
                opt("likelihood", "4"),
                opt("impact", "3"),
                user_opt("owner", DANA),
                opt("review", "in 2 weeks"),
                opt("response", "mitigate"),
                opt("mitigation", "weekly vendor check-in"),
            ],
        )
    )
    assert embed_titles(message) == ["R-1 · Vendor may slip SSO"]
    fields = field_values(message)
    assert fields["Likelihood"] == "high (4)"
    assert fields["Impact"] == "medium (3)"
    assert fields["Score"] == "12 (medium)"
    assert fields["Response"] == "mitigate"
    assert fields["Mitigation"] == "weekly vendor check-in"
    assert fields["Next review"].startswith("<t:")


async def test_risk_with_an_unknown_review_date_is_refused(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    body = await discord_api.answer(
        slash(place(), "risk", [opt("title", "Vendor may slip"), opt("review", "next sprint")])
    )
    assert is_ephemeral(body)
    assert "Next review" in field_values(body["data"])


async def test_decision_records_a_decision_or_logs_a_needed_one(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    taken = await discord_api.message(
        slash(place(), "decision", [opt("title", "Use PostgreSQL 16 for the cutover")])
    )
    assert taken["content"] == "Recorded decision D-1: Use PostgreSQL 16 for the cutover"
    assert taken["embeds"][0]["description"] == "**Decision** · decided"
    needed = await discord_api.message(
        slash(
            place(),
            "decision",
            [opt("title", "Pick the SSO vendor"), user_opt("decider", EVE), opt("by", "Dec 5")],
        )
    )
    assert needed["embeds"][0]["description"] == "**Decision** · needs a decision"
    fields = field_values(needed)
    assert fields["Decider"] == f"<@{EVE}>"
    assert fields["Decide by"].startswith("<t:")
    assert "rl:a:decide:D-2" in json.dumps(needed["components"])


async def test_decision_with_a_past_date_is_refused(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    body = await discord_api.answer(
        slash(
            place(),
            "decision",
            [opt("title", "Pick a vendor"), opt("state", "needed"), opt("by", "2020-01-01")],
        )
    )
    assert is_ephemeral(body)
    assert "past" in json.dumps(body["data"]["embeds"]).lower()


async def test_change_request_with_impact_and_approvers(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    message = await discord_api.message(
        slash(
            place(),
            "change",
            [
                opt("title", "Add CRM integration"),
                opt("impact", "schedule +2 weeks, cost +8k"),
                user_opt("approver", DANA),
                user_opt("approver_2", EVE),
                opt("why", "sales needs leads in CRM"),
            ],
        )
    )
    assert embed_titles(message) == ["C-1 · Add CRM integration"]
    fields = field_values(message)
    assert fields["Approver"] == f"<@{DANA}>, <@{EVE}>"
    assert fields["Impact"] == "schedule +2 weeks; cost +8k"
    assert fields["Why"] == "sales needs leads in CRM"


async def test_change_request_impact_without_an_area_is_refused(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    body = await discord_api.answer(
        slash(place(), "change", [opt("title", "Add CRM"), opt("impact", "budget +5k")])
    )
    assert is_ephemeral(body)
    assert "scope, schedule, cost or quality" in json.dumps(body["data"]["embeds"])


async def test_an_item_logged_in_a_thread_belongs_to_the_parent_channel(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    in_thread = place(channel=THREAD_A, thread_parent=CHANNEL_A)
    await discord_api.message(slash(in_thread, "blocker", [opt("title", "Thread blocker")]))
    listing = await discord_api.answer(slash(place(channel=CHANNEL_A), "raid list"))
    assert "Thread blocker" in json.dumps(listing["data"]["embeds"])


# --- /raid ----------------------------------------------------------------------------------


async def _blocker(
    discord_api: Driver, title: str = "Waiting on creds", **kw: Any
) -> dict[str, Any]:
    options = [opt("title", title)] + [
        user_opt(k, v) if k == "owner" else opt(k, v) for k, v in kw.items()
    ]
    return await discord_api.message(slash(place(), "blocker", options))


async def test_raid_list_and_show_are_private(bot: DiscordAdapter, discord_api: Driver) -> None:
    await _blocker(discord_api, owner=DANA)
    listing = await discord_api.answer(slash(place(), "raid list", [opt("filter", "blockers")]))
    assert is_ephemeral(listing)
    assert listing["data"]["content"] == "Open blockers: 1"
    assert listing["data"]["embeds"][0]["title"] == "Blockers (1)"
    assert "**B-1** Waiting on creds" in listing["data"]["embeds"][0]["description"]
    shown = await discord_api.answer(slash(place(), "raid show", [opt("ref", "b1")]))
    assert is_ephemeral(shown)
    assert shown["data"]["embeds"][0]["title"] == "B-1 · Waiting on creds"


async def test_raid_resolve_is_seen_by_the_channel_and_an_unknown_ref_is_refused(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    await _blocker(discord_api)
    message = await discord_api.message(
        slash(place(), "raid resolve", [opt("ref", "B-1"), opt("note", "rule merged")])
    )
    assert not is_ephemeral(message)
    assert _typed(core.requests[-1]) == ("raid", "resolve", {"ref": "B-1", "note": "rule merged"})
    assert await _same_as_text(core, "raid", "resolve B-1 rule merged", setup=_BLOCKER)
    assert message["embeds"][0]["description"] == "**Blocker** · resolved"
    assert field_values(message)["Resolution"] == "rule merged"
    missing = await discord_api.answer(slash(place(), "raid resolve", [opt("ref", "B-99")]))
    assert is_ephemeral(missing)
    assert "B-99" in missing["data"]["content"]


async def test_raid_assign_due_and_settings_reach_the_core_typed(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    await _blocker(discord_api)
    assigned = await discord_api.message(
        slash(place(), "raid assign", [opt("ref", "B-1"), user_opt("person", DANA)])
    )
    assert _typed(core.requests[-1]) == ("raid", "assign", {"ref": "B-1", "person": str(DANA)})
    assert await _same_as_text(core, "raid", f"assign B-1 <@{DANA}>", setup=_BLOCKER)
    assert field_values(assigned)["Owner"] == f"<@{DANA}>"
    await discord_api.message(slash(place(), "raid due", [opt("ref", "B-1"), opt("date", "Dec 5")]))
    assert _typed(core.requests[-1]) == ("raid", "due", {"ref": "B-1", "date": "Dec 5"})
    assert await _same_as_text(core, "raid", "due B-1 Dec 5", setup=_BLOCKER)
    tz = await discord_api.answer(
        slash(place(), "raid settings timezone", [opt("zone", "Europe/London")])
    )
    assert _typed(core.requests[-1]) == ("raid", "settings timezone", {"zone": "Europe/London"})
    assert await _same_as_text(core, "raid", "settings timezone Europe/London")
    assert not is_ephemeral(tz)
    bad = await discord_api.answer(
        slash(place(), "raid settings timezone", [opt("zone", "Mars/Base")])
    )
    assert is_ephemeral(bad)
    assert "Mars/Base" in bad["data"]["content"]


async def test_raid_decide_keeps_a_comma_in_the_outcome(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    await discord_api.message(
        slash(place(), "decision", [opt("title", "Pick SSO"), opt("state", "needed")])
    )
    decided = await discord_api.message(
        slash(
            place(),
            "raid decide",
            [opt("ref", "D-1"), opt("outcome", "Okta, with SCIM"), opt("rationale", "best fit")],
        )
    )
    assert _typed(core.requests[-1]) == (
        "raid",
        "decide",
        {"ref": "D-1", "outcome": "Okta, with SCIM", "rationale": "best fit"},
    )
    fields = field_values(decided)
    assert fields["Outcome"] == "Okta, with SCIM"
    assert fields["Rationale"] == "best fit"


async def test_raid_export_sends_the_file_as_an_attachment(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    await _blocker(discord_api)
    interaction = slash(place(), "raid export", [opt("format", "json")])
    body = await discord_api.answer(interaction)
    assert is_ephemeral(body)
    call = fake.callbacks(interaction["id"])[0]
    assert len(call.files) == 1
    name, data = call.files[0]
    assert name.endswith(".json")
    exported = json.loads(data)
    assert [i["ref"] for i in exported["items"]] == ["B-1"]
    assert body["data"]["attachments"][0]["filename"] == name


async def test_raid_export_names_people_as_the_server_does(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    fake.nicknames[str(DANA)] = "Dana from NetOps"
    await _blocker(discord_api, owner=DANA)
    interaction = slash(place(), "raid export", [opt("format", "md")])
    await discord_api.answer(interaction)
    _, data = fake.callbacks(interaction["id"])[0].files[0]
    text = data.decode()
    assert "| B-1 | Waiting on creds | Dana from NetOps | open |" in text
    assert f"<@{DANA}>" not in text and f"| {DANA} |" not in text


async def test_raid_help_lists_everything_privately(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    body = await discord_api.answer(slash(place(), "raid help"))
    assert is_ephemeral(body)
    text = json.dumps(body["data"]["embeds"])
    for command in ("/blocker", "/risk", "/decision", "/change", "resolve", "export"):
        assert command in text


# --- /standup and /digest: the typed options the core receives -----------------------------


@pytest.mark.parametrize(
    ("path", "options", "text"),
    [
        ("standup status", [], ""),
        (
            "standup schedule",
            [opt("days", "weekdays"), opt("time", "09:30"), opt("timezone", "Europe/London")],
            "schedule weekdays 09:30 Europe/London",
        ),
        (
            "standup schedule",
            [opt("days", "mon,wed,fri"), opt("time", "10:00")],
            "schedule mon,wed,fri 10:00",
        ),
        (
            "standup questions",
            [opt("questions", "What changed? | What is blocked?")],
            "questions What changed? | What is blocked?",
        ),
        (
            "standup members",
            [user_opt("member", DANA), user_opt("member_2", EVE)],
            f"members <@{DANA}> <@{EVE}>",
        ),
        (
            "standup members",
            [user_opt("member", DANA), opt("role", "observer")],
            f"members observer <@{DANA}>",
        ),
        (
            "standup members",
            [user_opt("member", EVE), opt("role", "member")],
            f"members <@{EVE}>",
        ),
        ("standup window", [opt("duration", "2h")], "window 2h"),
        ("standup mode", [opt("mode", "dm")], "mode dm"),
        ("standup late", [opt("duration", "4h")], "late 4h"),
        ("standup reminder", [opt("when", "twice")], "reminder twice"),
        ("standup mentions", [opt("mentions", "off")], "mentions off"),
        ("standup add", [opt("name", "retro")], "add retro"),
        ("standup mode", [opt("mode", "dm local")], "mode dm local"),
        ("standup tz", [opt("zone", "Europe/Lisbon")], "tz Europe/Lisbon"),
        (
            "standup tz",
            [opt("zone", "Asia/Kolkata"), user_opt("who", DANA)],
            f"tz <@{DANA}> Asia/Kolkata",
        ),
        ("standup remove", [opt("name", "retro")], "remove retro"),
        (
            "standup window",
            [opt("duration", "30m"), opt("standup", "retro")],
            "retro window 30m",
        ),
        ("standup status", [opt("standup", "retro")], "retro"),
        ("standup skip", [], "skip today"),
        ("standup away", [opt("until", "dec 8")], "away until dec 8"),
        (
            "standup away",
            [opt("until", "dec 8"), user_opt("who", DANA)],
            f"away <@{DANA}> until dec 8",
        ),
        ("standup answer", [], "answer"),
        ("standup now", [], "now"),
        ("standup off", [], "off"),
        ("digest now", [], ""),
        ("digest daily", [opt("time", "17:00")], "daily 17:00"),
        ("digest weekly", [opt("day", "fri"), opt("time", "16:00")], "weekly fri 16:00"),
        (
            "digest daily",
            [opt("time", "17:00"), opt("timezone", "Europe/Berlin")],
            "daily 17:00 Europe/Berlin",
        ),
        ("digest off", [], "off"),
        (
            "digest weekly",
            [opt("day", "fri"), opt("time", "16:00"), opt("every_other", True, 5)],
            "weekly every other fri 16:00",
        ),
        (
            "digest daily",
            [opt("time", "17:00"), opt("weekdays", True, 5)],
            "daily weekdays 17:00",
        ),
        (
            "digest monthly",
            [opt("day", "last friday"), opt("time", "15:00")],
            "monthly last friday 15:00",
        ),
        ("digest add", [opt("rule", "weekly mon 09:00")], "add weekly mon 09:00"),
        ("digest status", [], "status"),
        (
            "standup schedule",
            [opt("days", "every other monday"), opt("time", "09:30")],
            "schedule every other monday 09:30",
        ),
        (
            "standup schedule",
            [opt("days", "first monday"), opt("time", "09:30"), opt("standup", "retro")],
            "retro schedule first monday 09:30",
        ),
    ],
)
async def test_standup_and_digest_subcommands_send_typed_options_meaning_the_old_text(
    bot: DiscordAdapter,
    core: RecordingCore,
    discord_api: Driver,
    path: str,
    options: list[dict[str, Any]],
    text: str,
) -> None:
    body = await discord_api.answer(slash(place(), path, options))
    assert body["type"] in (4, 9)  # an answer, or the standup's answer form
    request = core.requests[-1]
    command, _, subcommand = path.partition(" ")
    given = {
        o["name"]: str(o["value"]).lower() if o["type"] == 5 else str(o["value"]) for o in options
    }
    assert _typed(request) == (command, subcommand, given)
    assert request.channel.workspace == str(GUILD_A)
    # The typed options mean what the text the core was given before meant.
    assert await _same_as_text(core, command, text, typed=request)


async def test_days_off_and_richer_schedules_are_stored_from_discords_typed_options(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    """What issue 16 added, set from Discord's options: the reply says it, the store keeps it."""
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    week = await discord_api.answer(
        slash(place(), "raid settings workweek", [opt("days", "sun-thu")])
    )
    assert week["data"]["content"].startswith("This channel's work week: Mon, Tue, Wed, Thu, Sun.")
    holidays = await discord_api.answer(
        slash(place(), "raid settings holidays", [opt("action", "set"), opt("calendar", "de-by")])
    )
    assert "public holidays of DE-BY" in holidays["data"]["content"]
    added = await discord_api.answer(
        slash(
            place(),
            "raid settings holidays",
            [opt("action", "add"), opt("day", "2026-12-24")],
        )
    )
    assert not is_ephemeral(added), added
    (settings,) = store.state.settings.values()
    assert (settings.work_days, settings.holidays, settings.days_off) == (
        ("mon", "tue", "wed", "thu", "sun"),
        "DE-BY",
        ("2026-12-24",),
    )
    weekly = await discord_api.answer(
        slash(
            place(),
            "digest weekly",
            [opt("day", "thu"), opt("time", "16:00"), opt("every_other", True, 5)],
        )
    )
    assert "every other Thursday at 16:00 Europe/Berlin" in weekly["data"]["content"]
    (digest,) = store.state.schedules.values()
    assert (digest.days, digest.at, digest.every_weeks) == (("thu",), "16:00", 2)


# --- autocomplete ---------------------------------------------------------------------------


async def test_ref_autocomplete_offers_this_channels_items_open_first(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    await _blocker(discord_api, "First blocker")
    await _blocker(discord_api, "Second blocker")
    await discord_api.message(slash(place(), "raid resolve", [opt("ref", "B-1")]))
    await discord_api.message(slash(place(), "risk", [opt("title", "Vendor may slip")]))
    body = await discord_api.answer(
        slash(place(), "raid show", [opt("ref", "b", focused=True)], kind=4)
    )
    assert body["type"] == 8
    choices = body["data"]["choices"]
    assert [c["value"] for c in choices] == ["B-2", "B-1"]
    assert choices[0]["name"] == "B-2 Second blocker (open)"
    by_title = await discord_api.answer(
        slash(place(), "raid close", [opt("ref", "vendor", focused=True)], kind=4)
    )
    assert [c["value"] for c in by_title["data"]["choices"]] == ["R-1"]
    elsewhere = await discord_api.answer(
        slash(place(channel=CHANNEL_A + 1), "raid show", [opt("ref", "", focused=True)], kind=4)
    )
    assert elsewhere["data"]["choices"] == []


def _with_attachment(interaction: dict[str, Any], resolved: dict[str, Any]) -> dict[str, Any]:
    data = dict(interaction["data"])
    data["resolved"] = {**data.get("resolved", {}), "attachments": {resolved["id"]: resolved}}
    return {**interaction, "data": data}


REGISTER = b"kind;title;owner\nblocker;Waiting on firewall change;@dana\nrisk;Vendor may slip;\n"


async def test_raid_import_downloads_the_attached_register(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    option, resolved = fake.attach("register.csv", REGISTER)
    dry = _with_attachment(slash(place(), "raid import", [option]), resolved)
    said = json.dumps(await discord_api.message(dry))
    downloads = [c for c in fake.calls if c.path.startswith("/attachments/")]
    assert len(downloads) == 1
    assert "Dry run of register.csv: 2 rows, all fine; 2 items would be created." in said
    assert "`/raid import` again with the same file and `apply: True`" in said

    option, resolved = fake.attach("register.csv", REGISTER)
    applied = _with_attachment(
        slash(place(), "raid import", [option, opt("apply", True, 5)]), resolved
    )
    said = json.dumps(await discord_api.message(applied))
    assert "Imported 2 items from register.csv: B-1, R-1." in said


async def test_raid_import_refuses_a_file_too_big_before_downloading_it(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    option, resolved = fake.attach("huge.csv", REGISTER, size=5_000_000)
    interaction = _with_attachment(slash(place(), "raid import", [option]), resolved)
    body = await discord_api.answer(interaction)
    assert "huge.csv is larger than 1,000,000 bytes" in json.dumps(body)
    assert not [c for c in fake.calls if c.path.startswith("/attachments/")]


async def test_raid_import_answers_within_discords_window_however_slow_the_download(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    # Discord refuses an interaction's first answer after 3 seconds; the file takes longer.
    fake.answer_within = 3.0
    fake.attachment_delay = 3.5
    option, resolved = fake.attach("register.csv", REGISTER)
    dry = _with_attachment(slash(place(), "raid import", [option]), resolved)
    fake.interact(dry)
    download = await until(
        lambda: fake.calls_to("GET", r"/attachments/.*"), within=3.0, what="the download"
    )
    # deferred ("thinking...") before the download was asked for, not after it
    (deferral,) = fake.callbacks(dry["id"])
    assert deferral.body["type"] == 5
    assert fake.calls.index(deferral) < fake.calls.index(download[0])
    answered = await until(
        lambda: "Dry run" in json.dumps(fake.original(dry["token"]) or {}),
        within=10.0,
        what="the dry run",
    )
    assert answered
    said = json.dumps(fake.original(dry["token"]))
    assert "Dry run of register.csv: 2 rows, all fine; 2 items would be created." in said


async def test_raid_import_says_so_when_the_attachment_cannot_be_downloaded(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    option, resolved = fake.attach("register.csv", REGISTER)
    with fake.lock:
        del fake.attachments[resolved["id"]]  # the CDN answers 404
    dry = _with_attachment(slash(place(), "raid import", [option]), resolved)
    said = json.dumps(await discord_api.message(dry))
    assert "I couldn't download register.csv from Discord, so nothing was read." in said
    assert "Please attach it again" in said


async def test_stakeholders_live_under_project_on_discord_and_run_as_raid(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver
) -> None:
    """/raid is full on Discord: ``/project stakeholders add|remove|list`` runs as typed
    ``/raid stakeholders …``; the reply says it and the store keeps it."""
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    added = await discord_api.answer(
        slash(
            place(),
            "project stakeholders add",
            [user_opt("person", DANA), opt("level", "weekly"), opt("level_2", "escalations")],
        )
    )
    assert added["data"]["content"].startswith(f"<@{DANA}> gets weekly, escalations")
    assert not is_ephemeral(added), added
    request = core.requests[-1]
    assert (request.command, request.subcommand) == ("raid", "stakeholders add")
    (settings,) = store.state.settings.values()
    assert settings.stakeholders == {str(DANA): ("weekly", "escalations")}
    listed = await discord_api.answer(slash(place(), "project stakeholders list"))
    assert f"<@{DANA}>: weekly, escalations" in json.dumps(listed["data"], ensure_ascii=False)
    removed = await discord_api.answer(
        slash(
            place(),
            "project stakeholders remove",
            [user_opt("person", DANA), opt("level", "weekly")],
        )
    )
    assert removed["data"]["content"] == f"<@{DANA}> no longer gets weekly."
    (settings,) = store.state.settings.values()
    assert settings.stakeholders == {str(DANA): ("escalations",)}
