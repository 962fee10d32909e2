"""Each member's own time: ``/standup mode dm local`` asks every member at the standup's time
in their own zone; the close and the one summary stay at the channel's time. Across the
daylight-saving changes of 2026 (US 8 March, EU 29 March), exactly once per member and
occurrence (issue 16, item 4)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest

from bot.domain.model import ChannelKey
from bot.messages import Outgoing, Tone
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat


class Timed:
    """The messenger: records what is sent, and when (the scheduler's clock)."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.sent: list[tuple[datetime, Outgoing]] = []

    async def send(self, message: Outgoing) -> str:
        self.sent.append((self.chat.clock.now(), message))
        return f"ts-{len(self.sent)}"


class PlatformZones:
    """The platform's time zones (as Slack's users.info gives them)."""

    def __init__(self, zones: Mapping[str, str]) -> None:
        self.zones = dict(zones)
        self.asked: list[list[str]] = []

    async def timezones(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(people))
        return {p: self.zones[p] for p in people if p in self.zones}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def run_until(chat: Chat, scheduler: Scheduler, end: datetime) -> None:
    """Tick every 15 minutes up to ``end``."""
    while chat.clock.now() < end:
        chat.clock.advance(minutes=15)
        await scheduler.tick()


@pytest.fixture
def outbox(chat: Chat) -> Timed:
    return Timed(chat)


@pytest.fixture
def scheduler(chat: Chat, outbox: Timed) -> Scheduler:
    return Scheduler(chat.store, outbox, clock=chat.clock, default_timezone="Europe/Berlin")


async def test_each_member_is_asked_at_their_own_time_across_daylight_saving(
    chat: Chat, scheduler: Scheduler, outbox: Timed
) -> None:
    chat.clock._now = utc(2026, 3, 26, 12, 0)  # Thu 26 Mar, 13:00 in Berlin
    await chat.say("/standup members @ana @bob @cy @dee")
    await chat.say("/standup tz Asia/Kolkata", user="ana")
    await chat.say("/standup tz @bob Europe/Lisbon")
    await chat.say("/standup tz America/New_York", user="dee")
    await chat.say("/standup window 2h")
    local = await chat.say("/standup mode dm local")
    assert "Each member is asked at the standup time their own time" in local.text
    scheduled = await chat.say("/standup schedule weekdays 09:30")
    assert "next Fri 27 Mar 09:30 CET" in scheduled.text  # the channel's time, not the claim
    status = render_text(await chat.say("/standup"))
    assert "mode: dm local (each member at their own time)" in status
    assert "Own time zones: @ana Asia/Kolkata, @bob Europe/Lisbon, @dee America/New_York" in (
        status
    )

    await run_until(chat, scheduler, utc(2026, 3, 30, 12, 0))
    prompts = [
        (at, m.to_user) for at, m in outbox.sent if m.to_user and "Standup time" in m.reply.text
    ]
    assert prompts == [
        # Fri 27 Mar: Berlin CET (UTC+1), Lisbon WET (UTC+0), New York already EDT (UTC-4)
        (utc(2026, 3, 27, 4, 0), "ana"),  # 09:30 in Kolkata
        (utc(2026, 3, 27, 8, 30), "cy"),  # the channel's zone
        (utc(2026, 3, 27, 8, 30), "dee"),  # 09:30 New York is after the close: channel time
        (utc(2026, 3, 27, 9, 30), "bob"),  # 09:30 in Lisbon
        # Mon 30 Mar: Berlin CEST (UTC+2), Lisbon WEST (UTC+1); Kolkata has no DST
        (utc(2026, 3, 30, 4, 0), "ana"),
        (utc(2026, 3, 30, 7, 30), "cy"),
        (utc(2026, 3, 30, 7, 30), "dee"),
        (utc(2026, 3, 30, 8, 30), "bob"),
    ]
    # The channel hears of it, the reminder comes and the summary is posted at its own time.
    channel = [
        (at, m.reply.text.split("!")[0].split(":")[0]) for at, m in outbox.sent if not m.to_user
    ]
    assert (utc(2026, 3, 27, 8, 30), "Standup time") in channel
    assert (utc(2026, 3, 27, 10, 30), "Standup summary") in channel
    assert (utc(2026, 3, 30, 7, 30), "Standup time") in channel
    assert (utc(2026, 3, 30, 9, 30), "Standup summary") in channel
    assert Counter(text for _, text in channel)["Standup time"] == 2
    # The member reads the times in their own zone.
    ana = next(m for at, m in outbox.sent if m.to_user == "ana")
    assert "Please answer by Fri 27 Mar 16:00 IST" in ana.reply.text
    # The summary is about the channel's day.
    summary = next(m for at, m in outbox.sent if "Standup summary" in m.reply.text)
    assert "Standup of Fri 27 Mar" in render_text(summary.reply)

    # A few more ticks change nothing: once per member and occurrence.
    before = len(outbox.sent)
    for _ in range(3):
        await scheduler.tick()
    assert len(outbox.sent) == before


async def test_the_platforms_zone_is_used_unless_the_member_set_one(
    chat: Chat, scheduler: Scheduler, outbox: Timed
) -> None:
    zones = PlatformZones({"ana": "Asia/Kolkata", "bob": "Europe/Lisbon"})
    scheduler.zone_directories = {"console": zones}
    chat.clock._now = utc(2026, 11, 25, 12, 0)  # Wed 25 Nov: Berlin CET, Lisbon WET
    await chat.say("/standup members @ana @bob @cy")
    await chat.say("/standup tz Europe/Berlin", user="bob")  # set here: wins over the platform
    await chat.say("/standup mode dm local")
    await chat.say("/standup schedule thu 09:30")
    await run_until(chat, scheduler, utc(2026, 11, 26, 12, 0))
    prompts = [(at, m.to_user) for at, m in outbox.sent if m.to_user and "time" in m.reply.text]
    assert prompts == [
        (utc(2026, 11, 26, 4, 0), "ana"),
        (utc(2026, 11, 26, 8, 30), "bob"),
        (utc(2026, 11, 26, 8, 30), "cy"),
    ]
    assert zones.asked == [["ana", "bob", "cy"]]  # asked once, when the standup was prepared


async def test_a_platform_that_does_not_answer_leaves_the_channels_zone(
    chat: Chat, scheduler: Scheduler, outbox: Timed
) -> None:
    class Down:
        async def timezones(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
            raise ConnectionError("users.info: 503")

    scheduler.zone_directories = {"console": Down()}
    chat.clock._now = utc(2026, 11, 25, 12, 0)
    await chat.say("/standup members @ana")
    await chat.say("/standup mode dm local")
    await chat.say("/standup schedule thu 09:30")
    await run_until(chat, scheduler, utc(2026, 11, 26, 9, 0))
    assert [(at, m.to_user) for at, m in outbox.sent if m.to_user] == [
        (utc(2026, 11, 26, 8, 30), "ana")
    ]


async def test_switching_back_to_plain_dm_asks_everyone_at_the_channels_time(
    chat: Chat, scheduler: Scheduler, outbox: Timed
) -> None:
    chat.clock._now = utc(2026, 11, 25, 12, 0)
    await chat.say("/standup members @ana")
    await chat.say("/standup tz Asia/Kolkata", user="ana")
    await chat.say("/standup mode dm local")
    await chat.say("/standup schedule thu 09:30")
    assert (await chat.say("/standup mode dm")).text == "Standup mode: dm."
    await run_until(chat, scheduler, utc(2026, 11, 26, 9, 0))
    # queued when the standup opens at the channel's 09:30, sent by the next tick
    assert [(at, m.to_user) for at, m in outbox.sent if m.to_user] == [
        (utc(2026, 11, 26, 8, 45), "ana")
    ]
    assert "local" not in render_text(await chat.say("/standup")).split("Own time")[0]


@pytest.mark.parametrize(
    ("line", "user", "refusal"),
    [
        ("/standup tz", "ana", "Say your time zone: `/standup tz Europe/Lisbon`"),
        ("/standup tz Mars/Olympus", "ana", "Mars/Olympus"),
        ("/standup tz Europe/Lisbon Asia/Tokyo", "ana", "Say your time zone"),
        ("/standup tz @bob Europe/Lisbon", "zoe", "Only a lead"),
        ("/standup mode dm everywhere", "ana", "`dm local`"),
    ],
)
async def test_local_time_refusals(chat: Chat, line: str, user: str, refusal: str) -> None:
    await chat.say("/raid settings leads @ana")
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


async def test_anyone_sets_and_forgets_their_own_zone(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    set_ = await chat.say("/standup tz Europe/Lisbon", user="zoe")
    assert set_.tone is Tone.SUCCESS
    assert (
        set_.text
        == "<@zoe>: asked at the standup time in Europe/Lisbon (`/standup mode dm local`)."
    )
    assert "@zoe Europe/Lisbon" in render_text(await chat.say("/standup"))
    off = await chat.say("/standup tz off", user="zoe")
    assert "no time zone of your own here" in off.text
    assert "Own time zones" not in render_text(await chat.say("/standup"))


async def test_on_a_day_off_no_member_is_asked_ahead_of_time(
    chat: Chat, scheduler: Scheduler, outbox: Timed
) -> None:
    chat.clock._now = utc(2026, 11, 25, 12, 0)
    await chat.say("/standup members @ana")
    await chat.say("/standup tz Asia/Kolkata", user="ana")
    await chat.say("/standup mode dm local")
    await chat.say("/standup schedule thu,fri 09:30")
    added = await chat.say("/raid settings holidays add 2026-11-26")
    assert added.tone is Tone.SUCCESS, added.text
    await run_until(chat, scheduler, utc(2026, 11, 27, 9, 0))
    prompts = [(at, m.to_user) for at, m in outbox.sent if m.to_user]
    assert prompts == [(utc(2026, 11, 27, 4, 0), "ana")]  # Thursday off, Friday asked
