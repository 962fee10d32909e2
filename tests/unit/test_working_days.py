"""A date on a day off of the channel is kept as given, and the reply says it is not a working day
(with the command that moves it). Base: Wed 25 Nov 2026 10:00 Berlin."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.messages import Tone
from tests.unit.conftest import Chat

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("command", "ref", "due", "note"),
    [
        (
            "/blocker Waiting on the API keys @dana due saturday",
            "B-1",
            datetime(2026, 11, 28, 17, tzinfo=BERLIN),
            "Sat 28 Nov is not a working day; the date is kept as given. "
            "To move it to Fri 27 Nov: `/raid due B-1 2026-11-27`.",
        ),
        (
            "/risk Vendor may slip likelihood high impact medium review Dec 13",
            "R-1",
            datetime(2026, 12, 13, 17, tzinfo=BERLIN),
            "Sun 13 Dec is not a working day; the date is kept as given. "
            "To move it to Fri 11 Dec: `/raid due R-1 2026-12-11`.",
        ),
        (
            "/decision needed Pick the SSO vendor @cio by 2026-12-05",
            "D-1",
            datetime(2026, 12, 5, 17, tzinfo=BERLIN),
            "Sat 5 Dec is not a working day; the date is kept as given. "
            "To move it to Fri 4 Dec: `/raid due D-1 2026-12-04`.",
        ),
    ],
    ids=["blocker", "risk", "decision"],
)
async def test_logging_with_a_weekend_date_says_so_and_keeps_it(
    chat: Chat, command: str, ref: str, due: datetime, note: str
) -> None:
    reply = await chat.say(command)
    assert reply.tone is Tone.SUCCESS
    assert chat.item(ref).due_at == due
    assert reply.text.splitlines()[-1] == note


async def test_a_working_day_gets_no_note(chat: Chat) -> None:
    reply = await chat.say("/blocker Waiting on the API keys @dana due friday")
    assert "working day" not in reply.text


async def test_re_dating_to_a_sunday_says_so(chat: Chat) -> None:
    await chat.say("/blocker Waiting on the API keys @dana due friday")
    reply = await chat.say("/raid due B-1 sunday")
    assert reply.tone is Tone.SUCCESS
    assert chat.item("B-1").due_at == datetime(2026, 11, 29, 17, tzinfo=BERLIN)
    assert reply.text.splitlines()[-1] == (
        "Sun 29 Nov is not a working day; the date is kept as given. "
        "To move it to Fri 27 Nov: `/raid due B-1 2026-11-27`."
    )
    reply = await chat.say("/raid due B-1 monday")
    assert "working day" not in reply.text


async def test_when_the_friday_before_has_passed_the_monday_after_is_offered(chat: Chat) -> None:
    chat.clock.advance(days=3)  # Saturday 28 Nov, 10:00
    reply = await chat.say("/blocker Servers down due today")
    assert reply.text.splitlines()[-1] == (
        "Sat 28 Nov is not a working day; the date is kept as given. "
        "To move it to Mon 30 Nov: `/raid due B-1 2026-11-30`."
    )


@pytest.mark.parametrize(
    ("setup", "command", "note"),
    [
        (  # a Sunday-Thursday week: Friday is off, Sunday is not
            "/raid settings workweek sun-thu",
            "/blocker Waiting on the API keys @dana due friday",
            "Fri 27 Nov is not a working day; the date is kept as given. "
            "To move it to Thu 26 Nov: `/raid due B-1 2026-11-26`.",
        ),
        (
            "/raid settings workweek sun-thu",
            "/blocker Waiting on the API keys @dana due sunday",
            None,
        ),
        (  # Christmas Day in Bavaria, and Boxing Day after it is a Saturday
            "/raid settings holidays DE-BY",
            "/blocker Waiting on the API keys @dana due 2026-12-25",
            "Fri 25 Dec is not a working day (public holiday: Christmas Day (DE-BY)); the date "
            "is kept as given. To move it to Thu 24 Dec: `/raid due B-1 2026-12-24`.",
        ),
        (
            "/raid settings holidays add 2026-12-02",
            "/blocker Waiting on the API keys @dana due 2026-12-02",
            "Wed 2 Dec is not a working day (a day off of this channel); the date is kept as "
            "given. To move it to Tue 1 Dec: `/raid due B-1 2026-12-01`.",
        ),
    ],
    ids=["sun-thu friday", "sun-thu sunday", "holiday", "extra day off"],
)
async def test_the_note_follows_the_channels_work_week_and_days_off(
    chat: Chat, setup: str, command: str, note: str | None
) -> None:
    assert (await chat.say(setup)).tone is Tone.SUCCESS
    reply = await chat.say(command)
    assert reply.tone is Tone.SUCCESS
    if note is None:
        assert "working day" not in reply.text
    else:
        assert reply.text.splitlines()[-1] == note
