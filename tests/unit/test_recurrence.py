"""Richer schedules through the chat: every other week, monthly, and several digest schedules
in one channel, each shown back in plain words and each run exactly once."""

from __future__ import annotations

import pytest

from bot.domain.model import RunKind
from bot.messages import Tone
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat
from tests.unit.test_scheduling import Recorder, at


@pytest.fixture
def outbox() -> Recorder:
    return Recorder()


@pytest.fixture
def scheduler(chat: Chat, outbox: Recorder) -> Scheduler:
    return Scheduler(
        chat.store,
        outbox,
        clock=chat.clock,
        default_timezone="Europe/Berlin",
        timetable=chat.core.timetable,
    )


def opened(chat: Chat) -> list[str]:
    return sorted(
        str(r.payload["local_date"])
        for r in chat.store.state.runs.values()
        if r.kind is RunKind.STANDUP_OPEN and r.status.value == "done"
    )


async def test_an_every_other_week_standup(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana")
    reply = await chat.say("/standup schedule every other monday 09:30")
    assert reply.tone is Tone.SUCCESS
    assert "every other Monday at 09:30 Europe/Berlin; next Mon 30 Nov 09:30 CET" in reply.text
    assert "every other Monday at 09:30 Europe/Berlin" in render_text(await chat.say("/standup"))
    for day in (30, 7, 14, 21):  # Mon 30 Nov, 7, 14 and 21 Dec
        at(chat, 2026, 11 if day == 30 else 12, day, 9, 30)
        await scheduler.tick()
        at(chat, 2026, 11 if day == 30 else 12, day, 12, 0)  # past the window: summary
        await scheduler.tick()
    assert opened(chat) == ["2026-11-30", "2026-12-14"]


async def test_a_monthly_standup_by_weekday(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana")
    reply = await chat.say("/standup schedule last friday 15:00")
    assert "the last Friday of each month at 15:00 Europe/Berlin; next Fri 27 Nov" in reply.text
    for month, day in ((11, 27), (12, 4), (12, 25), (12, 31)):
        at(chat, 2026, month, day, 15, 0)
        await scheduler.tick()
    # 25 Dec is the last Friday of December (and no holiday calendar is kept here)
    assert opened(chat) == ["2026-11-27", "2026-12-25"]


async def test_several_digest_schedules_each_once(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/blocker Waiting on VPN @dana due in 2 weeks")
    first = await chat.say("/digest daily weekdays 17:00")
    assert first.text.startswith("Digest scheduled: weekdays at 17:00 Europe/Berlin; next")
    assert "`/digest add weekly fri 16:00` keeps another one besides it." in first.text
    added = await chat.say("/digest add weekly fri 16:00")
    assert added.text == ("Digest 2 added: Fri at 16:00 Europe/Berlin; next Fri 27 Nov 16:00 CET.")
    status = render_text(await chat.say("/digest status"))
    assert "1. weekdays at 17:00 Europe/Berlin; next Wed 25 Nov 17:00 CET" in status
    assert "2. Fri at 16:00 Europe/Berlin; next Fri 27 Nov 16:00 CET" in status

    at(chat, 2026, 11, 27, 15, 0)
    await scheduler.tick()  # Thursday's daily digest, caught up
    outbox.take()
    for hour in (16, 17):  # Friday: the weekly one at 16:00, the daily one at 17:00
        at(chat, 2026, 11, 27, hour, 0)
        await scheduler.tick()
        await scheduler.tick()
    digests = [m for m in outbox.take() if m.reply.text.startswith("Digest")]
    assert len(digests) == 2
    friday = [
        r.key
        for r in chat.store.state.runs.values()
        if r.kind is RunKind.DIGEST and r.payload["local_date"] == "2026-11-27"
    ]
    assert len(friday) == len(set(friday)) == 2  # one run per schedule

    again = await chat.say("/digest daily 18:00")  # the first one changes, the second stays
    assert "The other digest schedule stays as it is (`/digest status`)." in again.text
    removed = await chat.say("/digest remove 2")
    assert removed.text == "Digest 2 removed (Fri at 16:00 Europe/Berlin)."
    status = render_text(await chat.say("/digest status"))
    assert status.startswith("Digest: every day at 18:00 Europe/Berlin")
    assert "Fri at 16:00" not in status


async def test_a_monthly_digest(chat: Chat) -> None:
    reply = await chat.say("/digest monthly first monday 09:00")
    assert "the first Monday of each month at 09:00 Europe/Berlin; next Mon 7 Dec" in reply.text
    day = await chat.say("/digest add monthly day 1 08:00 UTC")
    assert day.text.startswith("Digest 2 added: monthly on day 1 at 08:00 UTC; next Tue 1 Dec")


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("/digest remove 3", "Say which digest schedule by its number in `/digest status` (now: "
         "none): `/digest remove 2`."),
        ("/digest add fortnightly 10:00", "Say how often: `daily 17:00`"),
        ("/digest monthly monday 09:00", "Say which day of the month: "
         "`/digest monthly first monday 09:00`"),
        ("/digest weekly first monday 09:00", "A weekly digest runs on one day"),
        ("/standup schedule day 40 09:30", "Say the day of the month as a number from 1 to 31"),
        ("/standup schedule 09:30", "Say the days and the time, e.g. `weekdays 09:30`. Days: "
         "`weekdays`, `daily`, day names (`mon,wed,fri`), `every other monday`"),
    ],
)  # fmt: skip
async def test_rule_refusals_say_how(chat: Chat, line: str, refusal: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text
