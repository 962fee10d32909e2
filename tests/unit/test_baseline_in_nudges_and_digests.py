"""The first date an item was given (its baseline), shown as ``was Thu 26 Nov`` once its date
has moved, is also on an overdue blocker's nudge and on the digest's "date moved" warning,
read from the history by the same function as cards, lists and find."""

from __future__ import annotations

import pytest

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


# (the dates the blocker is moved to after "due tomorrow", Thu 26 Nov; what the nudge says
# after "was due", on Mon 30 Nov 10:00)
NUDGES = [
    ([], "Thu 26 Nov 17:00 CET, 3 days ago. Can you"),
    (["friday"], "Fri 27 Nov 17:00 CET, 2 days ago (was Thu 26 Nov). Can you"),
    (["friday", "saturday"], "Sat 28 Nov 17:00 CET, 1 day ago (was Thu 26 Nov). Can you"),
    (["friday", "thursday"], "Thu 26 Nov 17:00 CET, 3 days ago. Can you"),  # back on its first
    (["thursday 12:00"], "Thu 26 Nov 12:00 CET, 3 days ago (was Thu 26 Nov 17:00 CET). Can you"),
]


@pytest.mark.parametrize(("moves", "said"), NUDGES)
async def test_an_overdue_nudge_shows_the_first_date_once_it_moved(
    chat: Chat, scheduler: Scheduler, outbox: Recorder, moves: list[str], said: str
) -> None:
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    for when in moves:
        await chat.say(f"/raid due B-1 {when}", user="dana")
    at(chat, 2026, 11, 30, 10, 0)
    await scheduler.tick()
    (nudge,) = outbox.take()
    assert nudge.reply.text.startswith("<@dana>: B-1 “Waiting on VPN” was due " + said), (
        nudge.reply.text
    )
    (card,) = nudge.reply.cards
    due = next(f.value for f in card.fields if f.label == "Due")
    baseline = said.partition("(")[2].partition(")")[0]
    assert (baseline in due) if baseline else ("was " not in due), due


async def test_the_digests_date_moved_warning_shows_the_first_date(chat: Chat) -> None:
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    await chat.say("/blocker Waiting on keys @dana due friday")
    await chat.say("/raid due B-1 friday")
    await chat.say("/raid due B-1 monday")
    await chat.say("/raid due B-2 monday")
    await chat.say("/raid due B-2 friday")  # moved twice, back on its first date
    text = render_text(await chat.say("/digest"))
    assert "B-1 has had its date moved 2 times (was Thu 26 Nov)" in text, text
    assert "B-2 has had its date moved 2 times\n" in text + "\n", text
    assert "B-2 has had its date moved 2 times (" not in text
