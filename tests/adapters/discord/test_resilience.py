"""Rate limits, reconnects, slow answers, bad tokens, messages the bot sends, guild isolation."""

from __future__ import annotations

import json
import logging
import re
import socket
import time

import pytest

from adapters.discord import DiscordAdapter, DiscordStartError
from adapters.platform import AdapterDeps
from adapters.runtime.config import ConfigError
from bot import actions
from bot.domain.model import ChannelKey
from bot.errors import apology
from bot.messages import Action, Card, Field, Outgoing, Reply, Request, Section, Visibility
from bot.scheduler import Scheduler
from tests.adapters.discord.conftest import (
    ANA,
    CHANNEL_A,
    DANA,
    GUILD_A,
    GUILD_B,
    Driver,
    RecordingCore,
    StartBot,
    field_values,
    is_ephemeral,
    place,
    settings_for,
)
from tests.adapters.discord.fake_discord import (
    FakeDiscord,
    click,
    custom_ids,
    modal_submit,
    opt,
    slash,
    until,
    user_opt,
)
from tests.fakes import FakeStore, FixedClock

CHANNEL = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))


# --- rate limits ----------------------------------------------------------------------------


async def test_a_429_is_waited_out_and_the_message_is_sent(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    fake.script(
        "POST",
        rf"/channels/{CHANNEL_A}/messages",
        status=429,
        body={"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
        headers={"Via": "1.1 google", "Retry-After": "1"},
    )
    started = time.monotonic()
    message_id = await bot.send(Outgoing(CHANNEL, Reply("Digest for today", Visibility.CHANNEL)))
    elapsed = time.monotonic() - started
    calls = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")
    assert len(calls) == 2
    assert elapsed >= 0.2
    assert message_id is not None
    assert fake.message(message_id)["content"] == "Digest for today"


async def test_a_message_the_api_refuses_raises_for_the_caller_to_retry(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    fake.script(
        "POST",
        rf"/channels/{CHANNEL_A}/messages",
        status=403,
        body={"message": "Missing Access", "code": 50001},
    )
    with pytest.raises(Exception, match="Missing Access"):
        await bot.send(Outgoing(CHANNEL, Reply("Nudge", Visibility.CHANNEL)))


# --- the gateway ----------------------------------------------------------------------------


async def test_reconnect_resumes_the_session_and_commands_keep_working(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    session = fake.frames(2)[0]  # IDENTIFY
    assert session["d"]["token"] == "test-token"
    fake.send_op(7)  # RECONNECT: Discord asks the bot to reconnect and resume
    resume = (await until(lambda: fake.frames(6), what="RESUME"))[0]["d"]
    assert resume["session_id"].startswith("session-")
    assert resume["seq"] >= 2  # READY and GUILD_CREATEs were seen
    await until(lambda: fake.resumes == 1 and fake.open_sockets() == 1, what="resumed")
    fake.drop_connection(1001)  # the network drops the socket
    await until(lambda: len(fake.frames(6)) == 2 and fake.open_sockets() == 1, what="resume")
    assert fake.identifies == 1, "resumed both times, never identified again"
    await until(lambda: bot.connected, what="connected")
    body = await discord_api.answer(slash(place(), "raid list"))
    assert body["type"] == 4


async def test_a_malformed_event_does_not_take_the_bot_down(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    bot.gateway.restart_delay = 0.05
    broken = slash(place(), "raid list")
    del broken["token"]  # discord.py cannot parse this and drops the connection
    fake.dispatch("INTERACTION_CREATE", broken)
    await until(lambda: fake.identifies == 2 and bot.connected, what="a new session")
    body = await discord_api.answer(slash(place(), "raid list"))
    assert body["type"] == 4


async def test_heartbeats_are_sent_and_acknowledged(start_bot: StartBot, fake: FakeDiscord) -> None:
    fake.heartbeat_ms = 50
    await start_bot()
    await until(lambda: len(fake.frames(1)) >= 3, what="heartbeats")


async def test_a_bad_token_stops_start_with_a_clear_error(
    fake: FakeDiscord, core: RecordingCore
) -> None:
    settings = settings_for(fake, DISCORD_BOT_TOKEN="not-the-token")
    adapter = DiscordAdapter(AdapterDeps(settings, core))
    with pytest.raises(ConfigError, match="DISCORD_BOT_TOKEN: Discord refused the token"):
        await adapter.start()
    assert "not-the-token" not in str(adapter.settings.discord_bot_token)
    assert not adapter.connected
    assert fake.frames(2) == []
    await adapter.stop()
    await adapter.stop()  # safe twice


async def test_an_unreachable_api_or_gateway_stops_start_with_a_clear_error(
    fake: FakeDiscord, core: RecordingCore
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    no_api = DiscordAdapter(
        AdapterDeps(
            settings_for(fake, DISCORD_API_URL=f"http://127.0.0.1:{closed_port}/api/v10"), core
        )
    )
    with pytest.raises(DiscordStartError, match="can't reach the Discord API"):
        await no_api.start()
    no_gateway = DiscordAdapter(
        AdapterDeps(
            settings_for(fake, DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{closed_port}/gateway"), core
        )
    )
    no_gateway.gateway.ready_timeout = 0.5
    with pytest.raises(DiscordStartError, match="no READY from the Discord gateway"):
        await no_gateway.start()
    assert not no_gateway.connected


async def test_stop_restores_discords_urls(fake: FakeDiscord, core: RecordingCore) -> None:
    import discord.gateway
    import discord.http

    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    adapter = DiscordAdapter(AdapterDeps(settings_for(fake), core))
    adapter.gateway.guild_ready_timeout = 0.05
    await adapter.start()
    assert fake.api_url == discord.http.Route.BASE
    await adapter.stop()
    assert before == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    assert not adapter.connected


# --- answering in time ----------------------------------------------------------------------


async def test_a_slow_core_is_deferred_then_the_answer_replaces_the_placeholder(
    bot: DiscordAdapter, core: RecordingCore, fake: FakeDiscord, discord_api: Driver
) -> None:
    bot.interactions.defer_after = 0.05
    core.delay = 0.3
    interaction = slash(place(), "blocker", [opt("title", "Slow one"), user_opt("owner", DANA)])
    first = await discord_api.answer(interaction)
    assert first["type"] == 5
    assert not is_ephemeral(first)
    message = await discord_api.message(interaction)
    assert message["content"].startswith("Logged B-1: Slow one")
    assert fake.calls_to("PATCH", rf"/webhooks/\d+/{interaction['token']}/messages/@original")

    # A slow refusal: the public placeholder goes away and the answer is private.
    refused = slash(place(), "blocker", [opt("title", "Bad"), opt("due", "12/05")])
    assert (await discord_api.answer(refused))["type"] == 5
    followup = await until(
        lambda: fake.calls_to("POST", rf"/webhooks/\d+/{refused['token']}"), what="followup"
    )
    assert followup[0].body["flags"] & 64
    assert fake.calls_to("DELETE", rf"/webhooks/\d+/{refused['token']}/messages/@original")


async def test_a_slow_click_is_deferred_and_then_edits_the_message(
    bot: DiscordAdapter, core: RecordingCore, fake: FakeDiscord, discord_api: Driver
) -> None:
    message = await discord_api.message(
        slash(place(), "blocker", [opt("title", "Slow click"), user_opt("owner", DANA)])
    )
    bot.interactions.defer_after = 0.05
    core.delay = 0.3
    interaction = click(place(user=DANA), message, "rl:a:resolve:B-1")
    assert (await discord_api.answer(interaction))["type"] == 6
    await until(
        lambda: fake.message(message["id"])["embeds"][0]["description"] == "**Blocker** · resolved",
        what="the edit",
    )


# --- messages the bot sends on its own ------------------------------------------------------


async def test_send_posts_cards_with_buttons_and_returns_the_message_id(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    await discord_api.message(slash(place(), "blocker", [opt("title", "Overdue thing")]))
    card = Card(
        "B-1",
        "blocker",
        "Overdue thing",
        "open",
        (Field("Owner", "no owner"),),
        (Action("Resolve", "resolve:B-1", "primary"), Action("Snooze 1 day", "snooze:B-1")),
        overdue=True,
    )
    message_id = await bot.send(
        Outgoing(
            CHANNEL, Reply("B-1 has had no owner for a day", Visibility.CHANNEL, cards=(card,))
        )
    )
    assert message_id is not None
    sent = fake.message(message_id)
    assert sent["channel_id"] == str(CHANNEL_A)
    assert sent["embeds"][0]["color"] == 0xE74C3C  # overdue
    assert custom_ids(sent) == ["rl:a:resolve:B-1", "rl:a:snooze:B-1"]
    # The button of a message the bot sent on its own works like any other.
    body = await discord_api.answer(click(place(), sent, "rl:a:resolve:B-1"))
    assert body["type"] == 7


async def test_an_edit_replaces_the_posted_message_in_place(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    summary = Reply(
        "Standup summary: 1 answered, 1 did not",
        Visibility.CHANNEL,
        sections=(Section("Standup of Thu 26 Nov", ("Answered: <@1>", "No answer: <@2>")),),
    )
    message_id = await bot.send(Outgoing(CHANNEL, summary))
    assert message_id is not None
    updated = Reply(
        "Standup summary: 2 answered",
        Visibility.CHANNEL,
        sections=(Section("Standup of Thu 26 Nov", ("Answered: <@1> <@2>", "Answered late: 2")),),
    )
    assert await bot.send(Outgoing(CHANNEL, updated, edit=message_id)) == message_id
    assert len(fake.calls_to("PATCH", rf"/channels/{CHANNEL_A}/messages/{message_id}")) == 1
    edited = fake.message(message_id)
    assert edited["edits"] == 1 and edited["content"].startswith("Standup summary: 2 answered")
    assert "Answered late: 2" in json.dumps(edited["embeds"])
    assert len(fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")) == 1  # no new post


async def test_a_late_answer_edits_the_posted_summary(
    bot: DiscordAdapter,
    core: RecordingCore,
    discord_api: Driver,
    fake: FakeDiscord,
    clock: FixedClock,
) -> None:
    """Through the Discord stand-in: late answers on, the summary posted, a late answer, and
    the summary message edited in place (PATCH), nothing new posted."""
    for path, options in (
        ("standup members", [user_opt("member", ANA), user_opt("member_2", DANA)]),
        ("standup window", [opt("duration", "1h")]),
        ("standup late", [opt("duration", "4h")]),
        ("standup now", []),
    ):
        await discord_api.answer(slash(place(), path, options))
    scheduler = Scheduler(core.uow_factory, bot, clock=clock)
    await scheduler.tick()
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    (standup,) = store.state.standups.values()
    form = actions.standup_answer(standup.stored_id)

    async def answer(user: int, text: str) -> Reply:
        return await core.handle(Request(CHANNEL, str(user), action_id=form, values={"q0": text}))

    await answer(ANA, "shipped login")
    clock.advance(hours=1)
    await scheduler.tick()
    close = next(r for r in store.state.runs.values() if r.key.startswith("standup_close:"))
    summary_id = close.result_ref
    assert summary_id is not None
    assert fake.message(summary_id)["content"].startswith("Standup summary: 1 answered")
    posts = len(fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages"))

    clock.advance(minutes=20)
    assert "saved as a late answer" in (await answer(DANA, "fixed the VPN")).text
    await scheduler.tick()
    edited = fake.message(summary_id)
    assert edited["edits"] == 1
    assert edited["content"].startswith("Standup summary: 2 answered")
    assert "(late, Wed 25 Nov 11:20 CET)" in json.dumps(edited["embeds"])
    assert len(fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")) == posts


async def test_send_to_a_person_is_a_direct_message(bot: DiscordAdapter, fake: FakeDiscord) -> None:
    message_id = await bot.send(
        Outgoing(CHANNEL, Reply("Standup: what changed?", Visibility.CHANNEL), to_user=str(DANA))
    )
    opened = fake.calls_to("POST", "/users/@me/channels")
    assert int(opened[0].body["recipient_id"]) == DANA
    assert message_id is not None
    assert fake.message(message_id)["content"] == "Standup: what changed?"
    assert fake.message(message_id)["channel_id"] != str(CHANNEL_A)


async def test_send_under_a_message_opens_its_thread(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    opening = await bot.send(Outgoing(CHANNEL, Reply("Standup is open", Visibility.CHANNEL)))
    assert opening is not None
    reply_id = await bot.send(
        Outgoing(CHANNEL, Reply("Reminder: answer the standup", Visibility.CHANNEL), thread=opening)
    )
    assert fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages/{opening}/threads")
    assert reply_id is not None
    assert fake.message(reply_id)["channel_id"] == opening


async def test_a_long_digest_is_sent_in_parts_and_nothing_is_dropped(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    lines = tuple(f"B-{n} blocker number {n} " + "y" * 100 for n in range(120))
    reply = Reply("Digest", Visibility.CHANNEL, sections=(Section("What is blocked", lines),))
    first = await bot.send(Outgoing(CHANNEL, reply))
    posts = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")
    assert len(posts) >= 3
    assert first == fake.message(first or "")["id"]
    text = json.dumps([p.body for p in posts])
    for n in range(120):
        assert f"B-{n} blocker number {n} " in text
    for post in posts:
        assert len(post.body["content"]) <= 2000
        assert len(post.body["embeds"]) <= 10
        assert sum(len(e.get("description") or "") for e in post.body["embeds"]) <= 6000


# --- guilds are isolated --------------------------------------------------------------------


async def test_another_guild_can_never_read_or_change_an_item(
    bot: DiscordAdapter, core: RecordingCore, fake: FakeDiscord, discord_api: Driver
) -> None:
    message = await discord_api.message(
        slash(place(), "decision", [opt("title", "Pick SSO"), opt("state", "needed")])
    )
    blocker = await discord_api.message(
        slash(place(), "blocker", [opt("title", "Secret blocker"), user_opt("owner", ANA)])
    )
    # Forged: guild B, but the very same channel id and user as in guild A.
    forged = place(guild=GUILD_B)
    shown = await discord_api.answer(slash(forged, "raid show", [opt("ref", "B-1")]))
    assert is_ephemeral(shown)
    assert "Secret blocker" not in json.dumps(shown)
    suggestions = await discord_api.answer(
        slash(forged, "raid show", [opt("ref", "", focused=True)], kind=4)
    )
    assert suggestions["data"]["choices"] == []
    clicked = await discord_api.answer(click(forged, blocker, "rl:a:resolve:B-1"))
    assert clicked["type"] == 4
    assert is_ephemeral(clicked)
    decided = await discord_api.answer(
        modal_submit(forged, "rl:f:decide:D-1", {"outcome": "Okta"}, message=message)
    )
    assert is_ephemeral(decided)
    listing = await discord_api.answer(slash(forged, "raid list", [opt("include_closed", True, 5)]))
    assert "none" in listing["data"]["content"]
    # Guild A's items are untouched.
    assert fake.message(blocker["id"])["embeds"] == blocker["embeds"]
    own = await discord_api.answer(slash(place(), "raid list"))
    text = json.dumps(own["data"]["embeds"])
    assert "Secret blocker" in text and "Pick SSO" in text
    assert "needs a decision" in text
    assert field_values(fake.message(message["id"])) == field_values(message)
    forged_requests = [r for r in core.requests if r.channel.workspace == str(GUILD_B)]
    assert len(forged_requests) >= 3, "the forged interactions reached the core as guild B's"


async def test_an_interaction_outside_a_guild_is_refused(
    bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    interaction = slash(place(), "raid list")
    del interaction["guild_id"]
    del interaction["guild"]
    interaction["data"].pop("guild_id", None)
    interaction["context"] = 1
    interaction["user"] = interaction.pop("member")["user"]
    interaction["channel"] = {"id": "5", "type": 1}
    body = await discord_api.answer(interaction)
    assert is_ephemeral(body)
    assert "server channels" in body["data"]["content"]


async def test_start_twice_and_the_unused_web_argument(
    fake: FakeDiscord, core: RecordingCore
) -> None:
    from aiohttp import web

    adapter = DiscordAdapter(AdapterDeps(settings_for(fake), core, web.Application()))
    adapter.gateway.guild_ready_timeout = 0.05
    await adapter.start()
    await adapter.start()
    assert fake.identifies == 1
    await adapter.stop()


async def test_a_scheduled_message_carries_a_nonce_so_a_resend_is_dropped(
    bot: DiscordAdapter, fake: FakeDiscord
) -> None:
    run = Outgoing(
        CHANNEL, Reply("Digest for today", Visibility.CHANNEL), key="digest:3:2026-11-26"
    )
    await bot.send(run)
    await bot.send(run)  # the same run again, as after a crash before it was recorded
    bodies = [c.body for c in fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")]
    assert len(bodies) == 2
    assert bodies[0]["nonce"] == bodies[1]["nonce"] and len(bodies[0]["nonce"]) <= 25
    assert all(b["enforce_nonce"] is True for b in bodies)
    other = Outgoing(
        CHANNEL, Reply("Digest for today", Visibility.CHANNEL), key="digest:3:2026-11-27"
    )
    await bot.send(other)
    third = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")[-1].body
    assert third["nonce"] != bodies[0]["nonce"]
    await bot.send(Outgoing(CHANNEL, Reply("No key", Visibility.CHANNEL)))
    unkeyed = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")[-1].body
    assert str(unkeyed["nonce"]).isdigit()  # discord.py's own random one
    await bot.send(Outgoing(CHANNEL, Reply("No key either", Visibility.CHANNEL)))
    again = fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")[-1].body
    assert again["nonce"] != unkeyed["nonce"]


# --- the edge error handler -----------------------------------------------------------------


class _BrokenCore(RecordingCore):
    """A core that logs items but fails, in a way it does not catch itself, at anything else."""

    async def handle(self, request: Request) -> Reply:
        if request.command == "blocker" or (request.action_id or "").startswith("new:"):
            return await super().handle(request)
        raise RuntimeError("the core is broken")


async def test_an_unexpected_error_gets_the_apology_with_an_incident_id(
    start_bot: StartBot,
    fake: FakeDiscord,
    discord_api: Driver,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await start_bot(_BrokenCore(FakeStore(), clock=clock, default_timezone="Europe/Berlin"))
    caplog.set_level(logging.ERROR, "raidline.discord")
    # A slash command: the tree's on_error.
    body = await discord_api.answer(slash(place(), "raid list"))
    assert is_ephemeral(body)
    incident = re.fullmatch(
        r"Sorry, something went wrong on our side and nothing was changed\. "
        r"If it happens again, tell your admin the incident id ([0-9a-f]{8})\.",
        body["data"]["content"],
    )
    assert incident is not None
    assert apology(incident[1]) == body["data"]["content"]
    # A click on an old message: the guard every component and modal goes through.
    message = await discord_api.message(
        slash(place(), "blocker", [opt("title", "Waiting on creds"), user_opt("owner", DANA)])
    )
    clicked = await discord_api.answer(click(place(), message, "rl:a:resolve:B-1"))
    assert is_ephemeral(clicked)
    assert clicked["data"]["content"].startswith("Sorry, something went wrong on our side")
    ids = {getattr(r, "incident_id", None) for r in caplog.records}
    assert incident[1] in ids
    assert len(ids - {None}) == 2
