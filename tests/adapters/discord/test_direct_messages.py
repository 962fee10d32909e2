"""Buttons in direct messages: nudges and dm-mode standup prompts, clicked where they arrive.

A direct message has no guild, so its components carry the guild and channel they act on
(``rl@<guild>.<channel>:…``); a click is taken only from a current member of that guild who
can see that channel, and any other click is refused with nothing changed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord import interactions as di
from bot.domain.model import ChannelKey, ChannelSettings, RunKind, Standup
from bot.messages import Action, Outgoing, Reply, Visibility
from bot.services.nudges import Reason
from bot.views import nudges as nudge_views
from bot.views import standups as standup_views
from tests.adapters.discord.conftest import (
    ANA,
    BASE,
    CHANNEL_A,
    CHANNEL_A2,
    CHANNEL_B,
    DANA,
    EVE,
    GUILD_A,
    GUILD_B,
    OUTSIDER,
    Driver,
    RecordingCore,
    field_values,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import (
    FakeDiscord,
    click,
    custom_ids,
    in_dm,
    modal_submit,
    opt,
    slash,
    user_opt,
    with_button,
)
from tests.fakes import FakeStore, FixedClock

KEY_A = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
TZ = "Europe/Berlin"


def b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
    return out or "0"


def at(guild: int, channel: int) -> str:
    """The place part of a custom id: ``rl@<guild>.<channel>``."""
    return f"rl@{b36(guild)}.{b36(channel)}"


A = at(GUILD_A, CHANNEL_A)


async def _blocker_in(discord_api: Driver, channel: int, title: str) -> dict[str, Any]:
    """B-1 owned by Dana, due tomorrow, in ``channel`` of guild A."""
    options = [opt("title", title), user_opt("owner", DANA), opt("due", "tomorrow")]
    return await discord_api.message(slash(place(channel=channel), "blocker", options))


async def _nudge_by_dm(
    bot: DiscordAdapter, core: RecordingCore, fake: FakeDiscord
) -> dict[str, Any]:
    """The overdue nudge about channel A's B-1, sent to its owner by DM, as the scheduler would."""
    async with core.uow_factory() as uow:
        item = next(i for i in await uow.items.list(KEY_A) if str(i.ref) == "B-1")
    outgoing = nudge_views.message(
        item, Reason.OVERDUE, ChannelSettings(KEY_A), TZ, BASE + timedelta(days=3)
    )
    assert outgoing.to_user == str(DANA)
    message_id = await bot.send(outgoing)
    assert message_id is not None
    message = fake.message(message_id)
    assert message["channel_id"] not in (str(CHANNEL_A), str(CHANNEL_A2)), "a direct message"
    return message


async def _shown(
    discord_api: Driver, channel: int, ref: str = "B-1", guild: int = GUILD_A
) -> dict[str, str]:
    where = place(channel=channel, guild=guild)
    shown = await discord_api.answer(slash(where, "raid show", [opt("ref", ref)]))
    embed = shown["data"]["embeds"][0]
    return {"state": embed["description"], **{f["name"]: f["value"] for f in embed["fields"]}}


@pytest.fixture
async def nudge(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver, fake: FakeDiscord
) -> dict[str, Any]:
    # The same ref in two channels of the guild: the DM's buttons must act on channel A's.
    await _blocker_in(discord_api, CHANNEL_A2, "Elsewhere")
    await _blocker_in(discord_api, CHANNEL_A, "Waiting on firewall")
    return await _nudge_by_dm(bot, core, fake)


# --- the nudge's buttons -----------------------------------------------------------------------


async def test_a_nudge_by_dm_carries_its_channel_in_every_button(nudge: dict[str, Any]) -> None:
    assert custom_ids(nudge) == [f"{A}:a:resolve:B-1", f"{A}:a:snooze:B-1:1d", f"{A}:a:due:B-1"]


async def test_resolve_clicked_in_the_dm_resolves_that_channels_item(
    nudge: dict[str, Any], discord_api: Driver, fake: FakeDiscord, core: RecordingCore
) -> None:
    dm = nudge["channel_id"]
    body = await discord_api.answer(in_dm(click(place(user=DANA), nudge, f"{A}:a:resolve:B-1"), dm))
    assert body["type"] == 7, "the DM is edited in place"
    edited = fake.message(nudge["id"])
    assert edited["embeds"][0]["description"] == "**Blocker** · resolved"
    # The buttons of the edited DM keep their place, so they work there too.
    assert custom_ids(edited) == [f"{A}:a:reopen:B-1"]
    assert core.requests[-1].channel == KEY_A
    assert (await _shown(discord_api, CHANNEL_A))["state"] == "**Blocker** · resolved"
    assert (await _shown(discord_api, CHANNEL_A2))["state"] == "**Blocker** · open"
    history = await discord_api.answer(slash(place(), "raid history", [opt("ref", "B-1")]))
    assert f"<@{DANA}> resolved" in json.dumps(history["data"]["embeds"])
    # Reopen, from the edited DM.
    reopened = await discord_api.answer(
        in_dm(click(place(user=DANA), edited, f"{A}:a:reopen:B-1"), dm)
    )
    assert reopened["type"] == 7
    assert (await _shown(discord_api, CHANNEL_A))["state"] == "**Blocker** · open"


async def test_snooze_clicked_in_the_dm_snoozes_that_channels_item(
    nudge: dict[str, Any], discord_api: Driver, fake: FakeDiscord, core: RecordingCore
) -> None:
    before = len(core.requests)
    body = await discord_api.answer(
        in_dm(click(place(user=DANA), nudge, f"{A}:a:snooze:B-1:1d"), nudge["channel_id"])
    )
    assert not is_ephemeral(body), body
    assert "Snoozed B-1" in json.dumps(body), body
    [request] = core.requests[before:]
    assert (request.channel, request.user, request.action_id) == (KEY_A, str(DANA), "snooze:B-1:1d")
    history = await discord_api.answer(slash(place(), "raid history", [opt("ref", "B-1")]))
    assert "snooze" in json.dumps(history["data"]["embeds"]).lower()
    other = await discord_api.answer(
        slash(place(channel=CHANNEL_A2), "raid history", [opt("ref", "B-1")])
    )
    assert "snooze" not in json.dumps(other["data"]["embeds"]).lower()


async def test_new_date_in_the_dm_opens_a_modal_that_keeps_the_place(
    nudge: dict[str, Any], discord_api: Driver, fake: FakeDiscord
) -> None:
    dm = nudge["channel_id"]
    modal = await discord_api.answer(in_dm(click(place(user=DANA), nudge, f"{A}:a:due:B-1"), dm))
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == f"{A}:f:due:B-1"
    submitted = modal_submit(place(user=DANA), f"{A}:f:due:B-1", {"due": "Dec 5"}, message=nudge)
    good = await discord_api.answer(in_dm(submitted, dm))
    assert good["type"] == 7
    # Sat 5 Dec 2026, 17:00 in Berlin.
    assert field_values(fake.message(nudge["id"]))["Due"].startswith("<t:1796486400:f>")
    assert (await _shown(discord_api, CHANNEL_A))["Due"].startswith("<t:1796486400:f>")
    assert not (await _shown(discord_api, CHANNEL_A2))["Due"].startswith("<t:1796486400:f>")


# --- a dm-mode standup prompt -----------------------------------------------------------------


async def test_a_dm_standup_prompts_answer_button_opens_the_form_and_saves_the_answer(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver, fake: FakeDiscord
) -> None:
    async with core.uow_factory() as uow:
        standup, _ = await uow.schedules.open_standup(
            Standup(
                schedule_id=1,
                channel=KEY_A,
                local_date="2026-11-25",
                opened_at=BASE,
                closes_at=BASE + timedelta(hours=2),
                questions=("What changed?", "What is blocked?"),
                members=(str(DANA),),
                mode="dm",
            )
        )
        await uow.commit()
    opening = standup_views.opening(standup, TZ, BASE)
    message_id = await bot.send(Outgoing(KEY_A, opening, to_user=str(DANA)))
    assert message_id is not None
    prompt = fake.message(message_id)
    dm = prompt["channel_id"]
    answer_id = f"{A}:a:standup_answer:{standup.stored_id}"
    assert custom_ids(prompt) == [answer_id]

    modal = await discord_api.answer(in_dm(click(place(user=DANA), prompt, answer_id), dm))
    assert modal["type"] == 9
    form_id = f"{A}:f:standup_answer:{standup.stored_id}"
    assert modal["data"]["custom_id"] == form_id
    values = {"q0": "shipped login", "q1": "waiting on creds"}
    thanks = await discord_api.answer(
        in_dm(modal_submit(place(user=DANA), form_id, values, message=prompt), dm)
    )
    assert "your standup answer is saved" in json.dumps(thanks)
    async with core.uow_factory() as uow:
        answers = await uow.schedules.answers(standup.stored_id)
    assert [(a.person, a.answers) for a in answers] == [
        (str(DANA), ("shipped login", "waiting on creds"))
    ]


@pytest.mark.parametrize(
    ("after_close", "said", "saved"),
    [
        (timedelta(minutes=20), "saved as a late answer and added to the summary", True),
        (timedelta(hours=5), "That standup has closed; answers can no longer be changed.", False),
    ],
)
async def test_a_late_answer_through_the_dm_prompts_form(
    bot: DiscordAdapter,
    core: RecordingCore,
    discord_api: Driver,
    fake: FakeDiscord,
    clock: FixedClock,
    after_close: timedelta,
    said: str,
    saved: bool,
) -> None:
    """``/standup late 4h``: the prompt's Answer button still opens the form after the close;
    within the four hours the answer is saved and marked late (the summary is updated in
    place by the update run it queues), after them the form is refused politely."""
    closes_at = BASE + timedelta(hours=1)
    async with core.uow_factory() as uow:
        standup, _ = await uow.schedules.open_standup(
            Standup(
                schedule_id=1,
                channel=KEY_A,
                local_date="2026-11-25",
                opened_at=BASE,
                closes_at=closes_at,
                questions=("What changed?",),
                members=(str(DANA),),
                mode="dm",
                late_until=closes_at + timedelta(hours=4),
            )
        )
        await uow.commit()
    message_id = await bot.send(
        Outgoing(KEY_A, standup_views.opening(standup, TZ, BASE), to_user=str(DANA))
    )
    prompt = fake.message(message_id or "")
    dm = prompt["channel_id"]
    clock.advance(seconds=(closes_at + after_close - BASE).total_seconds())
    answer_id = f"{A}:a:standup_answer:{standup.stored_id}"
    opened = await discord_api.answer(in_dm(click(place(user=DANA), prompt, answer_id), dm))
    assert opened["type"] == (9 if saved else 4), opened  # the form, or the refusal
    if not saved:
        assert said in json.dumps(opened)
    form_id = f"{A}:f:standup_answer:{standup.stored_id}"
    values = {"q0": "fixed the VPN"}
    reply = await discord_api.answer(
        in_dm(modal_submit(place(user=DANA), form_id, values, message=prompt), dm)
    )
    assert said in json.dumps(reply), reply
    async with core.uow_factory() as uow:
        answers = await uow.schedules.answers(standup.stored_id)
    stored = [(a.person, a.answers, standup.is_late(a.answered_at)) for a in answers]
    assert stored == ([(str(DANA), ("fixed the VPN",), True)] if saved else [])
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    updates = [r for r in store.state.runs.values() if r.kind is RunKind.STANDUP_UPDATE]
    assert len(updates) == (1 if saved else 0)


# --- refused: who is not a member, places that are not right -----------------------------------

REFUSALS = [
    pytest.param(DANA, None, "rl:a:resolve:B-1", di.NO_PLACE, id="old-id-in-a-dm"),
    pytest.param(OUTSIDER, None, f"{A}:a:resolve:B-1", di.NOT_A_MEMBER, id="not-a-member"),
    pytest.param(
        DANA,
        None,
        f"{at(GUILD_B, CHANNEL_B)}:a:resolve:B-1",
        di.NOT_A_MEMBER,
        id="another-guild-dana-is-not-in",
    ),
    pytest.param(
        DANA,
        None,
        f"{at(2100000000000000077, CHANNEL_A)}:a:resolve:B-1",
        di.NOT_IN_GUILD,
        id="a-guild-the-bot-is-not-in",
    ),
    pytest.param(
        DANA,
        None,
        f"{at(GUILD_A, CHANNEL_B)}:a:resolve:B-1",
        di.NO_SUCH_CHANNEL,
        id="a-channel-of-another-guild",
    ),
    pytest.param(
        EVE,
        None,
        f"{at(GUILD_A, CHANNEL_A2)}:a:resolve:B-1",
        di.CANNOT_SEE,
        id="a-channel-the-member-cannot-see",
    ),
    pytest.param(
        DANA,
        "members-down",
        f"{A}:a:resolve:B-1",
        di.CANNOT_CHECK,
        id="discord-cannot-say-who-is-a-member",
    ),
    pytest.param(OUTSIDER, None, f"{A}:f:due:B-1", di.NOT_A_MEMBER, id="a-modal-from-a-non-member"),
]


@pytest.mark.parametrize(("user", "trouble", "custom_id", "refusal"), REFUSALS)
async def test_a_dm_click_that_may_not_act_is_refused_and_changes_nothing(
    nudge: dict[str, Any],
    discord_api: Driver,
    fake: FakeDiscord,
    core: RecordingCore,
    user: int,
    trouble: str | None,
    custom_id: str,
    refusal: str,
) -> None:
    if trouble == "members-down":
        fake.script("GET", r"/guilds/\d+/members/\d+", status=500, body={"message": "oops"})
    before = len(core.requests)
    payload = (
        modal_submit(place(user=user), custom_id, {"due": "Dec 5"}, message=nudge)
        if ":f:" in custom_id
        else click(place(user=user), with_button(nudge, custom_id), custom_id)
    )
    body = await discord_api.answer(in_dm(payload, nudge["channel_id"]))
    assert body["type"] == 4
    assert is_ephemeral(body)
    assert body["data"]["content"] == refusal
    assert core.requests[before:] == [], "nothing reached the core"
    assert fake.message(nudge["id"]) == nudge
    assert (await _shown(discord_api, CHANNEL_A))["state"] == "**Blocker** · open"


async def test_in_a_server_channel_a_button_placed_for_another_channel_is_refused(
    nudge: dict[str, Any], discord_api: Driver, core: RecordingCore
) -> None:
    before = len(core.requests)
    forged = f"{at(GUILD_A, CHANNEL_A2)}:a:resolve:B-1"
    body = await discord_api.answer(click(place(user=DANA), with_button(nudge, forged), forged))
    assert is_ephemeral(body)
    assert body["data"]["content"] == di.OTHER_CHANNEL
    assert core.requests[before:] == []
    assert (await _shown(discord_api, CHANNEL_A2))["state"] == "**Blocker** · open"


# --- old ids, server channels ------------------------------------------------------------------


@pytest.mark.parametrize(
    "custom_id", ["rl:a:resolve:B-1", f"{A}:a:resolve:B-1"], ids=["old-id", "its-own-place"]
)
async def test_in_a_server_channel_old_ids_and_ids_of_that_channel_work(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord, custom_id: str
) -> None:
    message = await _blocker_in(discord_api, CHANNEL_A, "Waiting on firewall")
    assert custom_ids(message)[0] == "rl:a:resolve:B-1", "server channels get ids without a place"
    clicked = with_button(message, custom_id)
    body = await discord_api.answer(click(place(user=DANA), clicked, custom_id))
    assert body["type"] == 7
    assert custom_ids(fake.message(message["id"])) == ["rl:a:reopen:B-1"]
    assert (await _shown(discord_api, CHANNEL_A))["state"] == "**Blocker** · resolved"


async def test_a_member_of_two_guilds_acts_in_the_guild_the_button_names(
    bot: DiscordAdapter, discord_api: Driver, core: RecordingCore, fake: FakeDiscord
) -> None:
    await _blocker_in(discord_api, CHANNEL_A, "Guild A's")
    options = [opt("title", "Guild B's"), user_opt("owner", ANA)]
    await discord_api.message(slash(place(guild=GUILD_B, channel=CHANNEL_B), "blocker", options))
    key_b = ChannelKey("discord", str(GUILD_B), str(CHANNEL_B))
    reminder = Reply(
        "B-1 is waiting", Visibility.CHANNEL, actions=(Action("Resolve", "resolve:B-1"),)
    )
    message_id = await bot.send(Outgoing(key_b, reminder, to_user=str(ANA)))
    message = fake.message(message_id or "")
    placed_b = f"{at(GUILD_B, CHANNEL_B)}:a:resolve:B-1"
    assert custom_ids(message) == [placed_b]
    body = await discord_api.answer(
        in_dm(click(place(user=ANA), message, placed_b), message["channel_id"])
    )
    assert body["type"] == 7
    assert core.requests[-1].channel == key_b
    assert (await _shown(discord_api, CHANNEL_B, guild=GUILD_B))[
        "state"
    ] == "**Blocker** · resolved"
    assert (await _shown(discord_api, CHANNEL_A))["state"] == "**Blocker** · open"
