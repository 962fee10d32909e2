"""bot.text.dates: parsing and showing dates (SPEC.md §1), with a frozen base time.

Base: Wed 2026-11-25 10:00 Europe/Berlin (09:00 UTC). Expected results are written as local
wall times in the zone under test and converted to UTC instants by ``at()``.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.text import dates
from bot.text.dates import (
    check_timezone,
    format_age,
    format_datetime,
    format_relative,
    parse_date,
    parse_duration,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"

Wall = tuple[int, int, int, int, int]


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """The UTC instant of a local wall time."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


BASE = at(BERLIN, 2026, 11, 25, 10)  # Wed 25 Nov 2026 10:00 CET = 09:00 UTC


def test_base_time_is_what_the_tests_assume() -> None:
    assert datetime(2026, 11, 25, 9, 0, tzinfo=UTC) == BASE
    assert BASE.astimezone(ZoneInfo(BERLIN)).strftime("%a %H:%M") == "Wed 10:00"


# --------------------------------------------------------------------------- happy paths

BERLIN_CASES: list[tuple[str, Wall]] = [
    ("today", (2026, 11, 25, 17, 0)),
    ("tomorrow", (2026, 11, 26, 17, 0)),
    ("friday", (2026, 11, 27, 17, 0)),
    ("fri", (2026, 11, 27, 17, 0)),
    ("Friday", (2026, 11, 27, 17, 0)),
    ("  FRIDAY  ", (2026, 11, 27, 17, 0)),
    ("this friday", (2026, 11, 27, 17, 0)),
    ("next friday", (2026, 11, 27, 17, 0)),
    ("monday", (2026, 11, 30, 17, 0)),
    ("thurs", (2026, 11, 26, 17, 0)),
    ("sunday", (2026, 11, 29, 17, 0)),
    # today's weekday: today while its moment (17:00, or the time given) is ahead
    ("wednesday", (2026, 11, 25, 17, 0)),
    ("wed", (2026, 11, 25, 17, 0)),
    ("wednesday 5pm", (2026, 11, 25, 17, 0)),
    ("wednesday 9am", (2026, 12, 2, 9, 0)),
    ("next tuesday", (2026, 12, 1, 17, 0)),
    ("tomorrow 3pm", (2026, 11, 26, 15, 0)),
    ("3pm tomorrow", (2026, 11, 26, 15, 0)),
    ("tomorrow at 3:30 pm", (2026, 11, 26, 15, 30)),
    ("tomorrow 09:15", (2026, 11, 26, 9, 15)),
    ("friday 5pm", (2026, 11, 27, 17, 0)),
    ("friday 5 p.m.", (2026, 11, 27, 17, 0)),
    ("at 3pm on friday", (2026, 11, 27, 15, 0)),
    ("friday noon", (2026, 11, 27, 12, 0)),
    ("friday 12am", (2026, 11, 27, 0, 0)),
    ("friday 12pm", (2026, 11, 27, 12, 0)),
    ("in 3 days", (2026, 11, 28, 17, 0)),
    ("in 2 weeks", (2026, 12, 9, 17, 0)),
    ("in a week", (2026, 12, 2, 17, 0)),
    ("in two days", (2026, 11, 27, 17, 0)),
    ("2 weeks from now", (2026, 12, 9, 17, 0)),
    ("in 1 month", (2026, 12, 25, 17, 0)),
    ("in 3 days 9am", (2026, 11, 28, 9, 0)),
    ("in 3 hours", (2026, 11, 25, 13, 0)),
    ("in 90 minutes", (2026, 11, 25, 11, 30)),
    ("in an hour", (2026, 11, 25, 11, 0)),
    ("Dec 5", (2026, 12, 5, 17, 0)),
    ("5 Dec", (2026, 12, 5, 17, 0)),
    ("December 5", (2026, 12, 5, 17, 0)),
    ("dec 5th", (2026, 12, 5, 17, 0)),
    ("5th of December", (2026, 12, 5, 17, 0)),
    ("Dec 5 2026", (2026, 12, 5, 17, 0)),
    ("Dec 5, 2026", (2026, 12, 5, 17, 0)),
    ("5 dec 2026", (2026, 12, 5, 17, 0)),
    ("Sept 3", (2027, 9, 3, 17, 0)),
    ("3rd September", (2027, 9, 3, 17, 0)),
    ("Dec 5 3pm", (2026, 12, 5, 15, 0)),
    ("dec 5 at 14:30", (2026, 12, 5, 14, 30)),
    ("2026-12-05", (2026, 12, 5, 17, 0)),
    ("2026-12-05 14:00", (2026, 12, 5, 14, 0)),
    ("2026-12-05T14:00", (2026, 12, 5, 14, 0)),
    ("EOD", (2026, 11, 25, 17, 0)),
    ("eod", (2026, 11, 25, 17, 0)),
    ("COB", (2026, 11, 25, 17, 0)),
    ("end of day", (2026, 11, 25, 17, 0)),
    ("by EOD", (2026, 11, 25, 17, 0)),
    ("eod friday", (2026, 11, 27, 17, 0)),
    ("friday eod", (2026, 11, 27, 17, 0)),
    ("eod tomorrow", (2026, 11, 26, 17, 0)),
    ("end of week", (2026, 11, 27, 17, 0)),
    ("EOW", (2026, 11, 27, 17, 0)),
    ("end of month", (2026, 11, 30, 17, 0)),
    ("EOM", (2026, 11, 30, 17, 0)),
    ("end of next month", (2026, 12, 31, 17, 0)),
    ("next week", (2026, 11, 30, 17, 0)),
    ("noon", (2026, 11, 25, 12, 0)),
    ("15:00", (2026, 11, 25, 15, 0)),
    ("at 3pm", (2026, 11, 25, 15, 0)),
    ("tonight", (2026, 11, 25, 20, 0)),
    # leading words and trailing punctuation
    ("by friday", (2026, 11, 27, 17, 0)),
    ("due friday", (2026, 11, 27, 17, 0)),
    ("due: friday", (2026, 11, 27, 17, 0)),
    ("until dec 8", (2026, 12, 8, 17, 0)),
    ("on Dec 5", (2026, 12, 5, 17, 0)),
    ("before friday", (2026, 11, 27, 17, 0)),
    ("due by friday.", (2026, 11, 27, 17, 0)),
    # month names without a year: the next such date that is not past
    ("Nov 25", (2026, 11, 25, 17, 0)),
    ("Nov 20", (2027, 11, 20, 17, 0)),
    ("Jan 10", (2027, 1, 10, 17, 0)),
    ("Feb 29", (2028, 2, 29, 17, 0)),
]


@pytest.mark.parametrize(("text", "wall"), BERLIN_CASES)
def test_parse_berlin(text: str, wall: Wall) -> None:
    result = parse_date(text, BASE, BERLIN)
    assert result.tzinfo is UTC
    assert result == at(BERLIN, *wall), format_datetime(result, BERLIN, BASE)


def test_in_hours_keeps_the_exact_time() -> None:
    assert parse_date("in 3 hours", BASE + timedelta(seconds=17), BERLIN) == BASE + timedelta(
        hours=3, seconds=17
    )


def test_explicit_utc_offset_is_honoured() -> None:
    assert parse_date("2026-12-05T14:00Z", BASE, BERLIN) == datetime(2026, 12, 5, 14, tzinfo=UTC)
    assert parse_date("2026-12-05T14:00+05:30", BASE, BERLIN) == datetime(
        2026, 12, 5, 8, 30, tzinfo=UTC
    )


NEW_YORK_CASES: list[tuple[str, Wall]] = [  # BASE is Wed 25 Nov 04:00 EST there
    ("today", (2026, 11, 25, 17, 0)),
    ("friday", (2026, 11, 27, 17, 0)),
    ("tomorrow 3pm", (2026, 11, 26, 15, 0)),
    ("in 2 weeks", (2026, 12, 9, 17, 0)),
    ("in 3 hours", (2026, 11, 25, 7, 0)),
    ("Dec 5", (2026, 12, 5, 17, 0)),
    ("EOD", (2026, 11, 25, 17, 0)),
    ("end of month", (2026, 11, 30, 17, 0)),
    ("eod friday", (2026, 11, 27, 17, 0)),
]


@pytest.mark.parametrize(("text", "wall"), NEW_YORK_CASES)
def test_parse_new_york(text: str, wall: Wall) -> None:
    assert parse_date(text, BASE, NEW_YORK) == at(NEW_YORK, *wall)


UTC_CASES: list[tuple[str, Wall]] = [  # BASE is Wed 25 Nov 09:00 UTC
    ("friday", (2026, 11, 27, 17, 0)),
    ("tomorrow 3pm", (2026, 11, 26, 15, 0)),
    ("EOD", (2026, 11, 25, 17, 0)),
    ("2026-12-05", (2026, 12, 5, 17, 0)),
    ("end of week", (2026, 11, 27, 17, 0)),
]


@pytest.mark.parametrize(("text", "wall"), UTC_CASES)
def test_parse_utc(text: str, wall: Wall) -> None:
    assert parse_date(text, BASE, "UTC") == datetime(*wall, tzinfo=UTC)


def test_local_date_is_the_zones_not_utcs() -> None:
    # 03:00 UTC Wed is still Tue 22:00 in New York: "tomorrow" is Wednesday there and EOD,
    # already past for Tuesday, is Wednesday 17:00.
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert parse_date("tomorrow", now, NEW_YORK) == at(NEW_YORK, 2026, 11, 25, 17)
    assert parse_date("eod", now, NEW_YORK) == at(NEW_YORK, 2026, 11, 25, 17)
    assert parse_date("tomorrow", now, BERLIN) == at(BERLIN, 2026, 11, 26, 17)


def test_timezone_name_is_case_insensitive_in_parse() -> None:
    assert parse_date("friday", BASE, "europe/berlin") == at(BERLIN, 2026, 11, 27, 17)


# --------------------------------------------------------------------------- DST

DST_CASES: list[tuple[str, datetime, str, datetime]] = [
    # Berlin springs forward on Sun 2026-03-29: 17:00 CEST is 15:00 UTC
    ("sunday", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 29, 15, 0, tzinfo=UTC)),
    ("in 2 days", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 29, 15, tzinfo=UTC)),
    ("Mar 29", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 29, 15, tzinfo=UTC)),
    ("2026-03-29", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 29, 15, tzinfo=UTC)),
    ("sunday 9am", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 29, 7, tzinfo=UTC)),
    ("tomorrow", at(BERLIN, 2026, 3, 27, 10), BERLIN, datetime(2026, 3, 28, 16, tzinfo=UTC)),
    # Berlin falls back on Sun 2026-10-25: 17:00 CET is 16:00 UTC
    ("sunday", at(BERLIN, 2026, 10, 23, 10), BERLIN, datetime(2026, 10, 25, 16, 0, tzinfo=UTC)),
    ("Oct 25", at(BERLIN, 2026, 10, 23, 10), BERLIN, datetime(2026, 10, 25, 16, tzinfo=UTC)),
    ("saturday", at(BERLIN, 2026, 10, 23, 10), BERLIN, datetime(2026, 10, 24, 15, tzinfo=UTC)),
    ("EOM", at(BERLIN, 2026, 10, 23, 10), BERLIN, datetime(2026, 10, 31, 16, tzinfo=UTC)),
    # New York: EDT from Sun 2026-03-08, EST from Sun 2026-11-01
    ("sunday", at(NEW_YORK, 2026, 3, 6, 10), NEW_YORK, datetime(2026, 3, 8, 21, tzinfo=UTC)),
    ("sunday", at(NEW_YORK, 2026, 10, 30, 10), NEW_YORK, datetime(2026, 11, 1, 22, tzinfo=UTC)),
    ("friday", at(NEW_YORK, 2026, 3, 6, 18), NEW_YORK, datetime(2026, 3, 13, 21, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "now", "tz", "expected"), DST_CASES)
def test_parse_across_dst(text: str, now: datetime, tz: str, expected: datetime) -> None:
    assert parse_date(text, now, tz) == expected


def test_in_hours_across_spring_forward_is_real_elapsed_time() -> None:
    now = at(BERLIN, 2026, 3, 29, 0, 30)  # 23:30 UTC the day before; 02:00 local is skipped
    result = parse_date("in 3 hours", now, BERLIN)
    assert result == now + timedelta(hours=3)
    assert format_datetime(result, BERLIN, now) == "Sun 29 Mar 04:30 CEST"


# --------------------------------------------------------------------------- rollovers

ROLLOVER_CASES: list[tuple[str, datetime, datetime]] = [
    # EOD after 17:00 is tomorrow 17:00 (before or at 17:00 it is today)
    ("EOD", at(BERLIN, 2026, 11, 25, 18), at(BERLIN, 2026, 11, 26, 17)),
    ("end of day", at(BERLIN, 2026, 11, 25, 17, 1), at(BERLIN, 2026, 11, 26, 17)),
    ("EOD", at(BERLIN, 2026, 11, 25, 17), at(BERLIN, 2026, 11, 25, 17)),
    # end of week: this Friday 17:00, next Friday once that has passed
    ("end of week", at(BERLIN, 2026, 11, 27, 16), at(BERLIN, 2026, 11, 27, 17)),
    ("end of week", at(BERLIN, 2026, 11, 27, 18), at(BERLIN, 2026, 12, 4, 17)),
    ("EOW", at(BERLIN, 2026, 11, 28, 10), at(BERLIN, 2026, 12, 4, 17)),
    # end of month: last day 17:00, next month's once that has passed
    ("end of month", at(BERLIN, 2026, 11, 30, 16), at(BERLIN, 2026, 11, 30, 17)),
    ("end of month", at(BERLIN, 2026, 11, 30, 18), at(BERLIN, 2026, 12, 31, 17)),
    ("EOM", at(BERLIN, 2027, 1, 31, 18), at(BERLIN, 2027, 2, 28, 17)),
    # a weekday on that weekday: today until its 17:00, then next week's
    ("friday", at(BERLIN, 2026, 11, 27, 9), at(BERLIN, 2026, 11, 27, 17)),
    ("friday", at(BERLIN, 2026, 11, 27, 17), at(BERLIN, 2026, 11, 27, 17)),
    ("friday", at(BERLIN, 2026, 11, 27, 17, 1), at(BERLIN, 2026, 12, 4, 17)),
    ("friday 5pm", at(BERLIN, 2026, 11, 27, 16), at(BERLIN, 2026, 11, 27, 17)),
    ("friday 3pm", at(BERLIN, 2026, 11, 27, 16), at(BERLIN, 2026, 12, 4, 15)),
    ("next week", at(BERLIN, 2026, 11, 29, 23), at(BERLIN, 2026, 11, 30, 17)),
    # month name without a year whose day has passed today: next year
    ("Nov 25", at(BERLIN, 2026, 11, 25, 18), at(BERLIN, 2027, 11, 25, 17)),
    ("Dec 31", at(BERLIN, 2026, 12, 31, 18), at(BERLIN, 2027, 12, 31, 17)),
    ("Jan 2", at(BERLIN, 2026, 12, 31, 18), at(BERLIN, 2027, 1, 2, 17)),
    # a day that only leap years have: the next one
    ("Feb 29", at(BERLIN, 2026, 11, 25, 10), at(BERLIN, 2028, 2, 29, 17)),
    ("29th feb", at(BERLIN, 2028, 3, 1, 10), at(BERLIN, 2032, 2, 29, 17)),
    ("in 1 month", at(BERLIN, 2027, 1, 31, 10), at(BERLIN, 2027, 2, 28, 17)),
]


@pytest.mark.parametrize(("text", "now", "expected"), ROLLOVER_CASES)
def test_rollovers(text: str, now: datetime, expected: datetime) -> None:
    assert parse_date(text, now, BERLIN) == expected


# ------------------------------------------------------- one meaning for "this week"

#: The week of Mon 30 Nov to Sun 6 Dec 2026 (the next week's Friday is 11 Dec), by weekday.
WEEK = {
    name: date(2026, 11, 30) + timedelta(days=i)
    for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}
#: (weekday, hour now, the day ``friday``/``end of week``/``this week`` mean, the day
#: ``friday 3:30pm`` means): one rule, the next such moment that is not past.
WEEK_RULE: list[tuple[str, int, int, int]] = [
    # Monday to Thursday: this week's Friday, whatever the time
    ("mon", 10, 4, 4),
    ("mon", 18, 4, 4),
    ("tue", 14, 4, 4),
    ("wed", 14, 4, 4),
    ("thu", 18, 4, 4),
    # Friday: today while the moment is ahead (the Friday afternoon)
    ("fri", 9, 4, 4),
    ("fri", 14, 4, 4),
    # Friday after 15:30: 3:30pm has passed, 17:00 has not
    ("fri", 16, 4, 11),
    # Friday evening: next week's
    ("fri", 18, 11, 11),
    # the weekend: next week's
    ("sat", 10, 11, 11),
    ("sun", 14, 11, 11),
]


def _on(day: str, hour: int, minute: int = 0) -> datetime:
    d = WEEK[day]
    return at(BERLIN, d.year, d.month, d.day, hour, minute)


@pytest.mark.parametrize(("today", "hour", "friday", "friday_330"), WEEK_RULE)
def test_a_weekday_a_weekday_with_a_time_and_end_of_week_agree(
    today: str, hour: int, friday: int, friday_330: int
) -> None:
    now = _on(today, hour)
    for text in ("friday", "fri", "by friday", "end of week", "EOW", "this week"):
        assert parse_date(text, now, BERLIN) == at(BERLIN, 2026, 12, friday, 17), text
    assert parse_date("friday 3:30pm", now, BERLIN) == at(BERLIN, 2026, 12, friday_330, 15, 30)


@pytest.mark.parametrize("today", list(WEEK))
@pytest.mark.parametrize(("hour", "weeks"), [(10, 0), (16, 0), (18, 1)])
def test_today_s_weekday_is_today_until_the_end_of_the_working_day(
    today: str, hour: int, weeks: int
) -> None:
    now = _on(today, hour)
    expected = _on(today, 17) + timedelta(weeks=weeks)
    names = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday"}
    names |= {"fri": "friday", "sat": "saturday", "sun": "sunday"}
    assert parse_date(names[today], now, BERLIN) == expected
    assert parse_date(f"this {today}", now, BERLIN) == expected
    assert parse_date(f"next {names[today]}", now, BERLIN) == expected


@pytest.mark.parametrize(
    ("text", "hour", "expected"),
    [
        ("friday 3:30pm", 15, (12, 4, 15, 30)),  # still ahead at 15:00: today
        ("friday 3:30pm", 16, (12, 11, 15, 30)),  # passed at 16:00: next week's
        ("friday 9am", 14, (12, 11, 9, 0)),
        ("friday 11pm", 18, (12, 4, 23, 0)),  # after 17:00, a later time is still today
        ("eod friday", 16, (12, 4, 17, 0)),
        ("eod", 18, (12, 5, 17, 0)),  # end of *the* day: tomorrow's, even on a Saturday
    ],
)
def test_on_friday_the_time_given_decides(
    text: str, hour: int, expected: tuple[int, int, int, int]
) -> None:
    month, day, h, m = expected
    assert parse_date(text, _on("fri", hour), BERLIN) == at(BERLIN, 2026, month, day, h, m)


# --------------------------------------------------------------------------- refusals

AMBIGUOUS_CASES: list[tuple[str, list[str]]] = [
    ("12/05", ["`12/05` is ambiguous", "`Dec 5`", "`2026-12-05`", "`May 12`", "`2027-05-12`"]),
    ("05/12/2026", ["`05/12/2026` is ambiguous", "`Dec 5 2026`", "`2026-12-05`"]),
    ("12.05.", ["`12.05.` is ambiguous", "`May 12`", "`2027-05-12`", "`Dec 5`", "`2026-12-05`"]),
    ("12-05", ["`12-05` is ambiguous", "`Dec 5`", "`2026-12-05`"]),
    ("by 12/05", ["`12/05` is ambiguous", "`Dec 5`", "`2026-12-05`"]),
    ("12/05 3pm", ["`12/05` is ambiguous", "`Dec 5`", "`2026-12-05`"]),
    ("5/12/26", ["`5/12/26` is ambiguous", "`Dec 5 2026`", "`2026-12-05`"]),
    ("25/11", ["`25/11` is ambiguous", "`Nov 25`", "`2026-11-25`"]),
    ("01.12.2026", ["`01.12.2026` is ambiguous", "`Dec 1 2026`", "`2026-12-01`"]),
]


@pytest.mark.parametrize(("text", "fragments"), AMBIGUOUS_CASES)
def test_ambiguous_numeric_dates_are_refused(text: str, fragments: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, BASE, BERLIN)
    for fragment in fragments:
        assert fragment in caught.value.message


def test_a_past_reading_is_left_out_of_the_suggestions() -> None:
    with pytest.raises(UsageError) as caught:
        parse_date("05/12/2026", BASE, BERLIN)
    assert caught.value.message == (
        "`05/12/2026` is ambiguous: write `Dec 5 2026` or `2026-12-05`."
    )


def test_ambiguous_message_in_full() -> None:
    with pytest.raises(UsageError) as caught:
        parse_date("12/05", BASE, BERLIN)
    assert caught.value.message == (
        "`12/05` is ambiguous: write `Dec 5` or `2026-12-05`, or `May 12` or `2027-05-12`."
    )


UNKNOWN = "I couldn't read `{}` as a date. Try `friday`, `Dec 5`, `in 2 weeks` or `2026-12-05`."


@pytest.mark.parametrize(
    "text",
    [
        "next sprint",
        "asap",
        "Q1",
        "someday",
        "December",
        "2027",
        "next month",
        "5",
        "1 2",
        "soon-ish",
        "2026-13-01",
        "2026-02-30",
        "in 3 hours 5pm",
        "in 9999 years",
    ],
)
def test_unknown_phrases_are_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, BASE, BERLIN)
    assert caught.value.message == UNKNOWN.format(text)


IMPOSSIBLE_TIMES = [
    ("tomorrow 24:00", "24:00"),  # was read as tomorrow 17:00
    ("friday 25:00", "25:00"),
    ("friday 13pm", "13pm"),
    ("13pm", "13pm"),
    ("friday 0am", "0am"),
    ("friday at 99:99", "99:99"),
    ("12:60", "12:60"),
    ("tomorrow 9:5", "9:5"),
    ("25:00", "25:00"),
    ("friday 99:00", "99:00"),
    ("by thursday 24:30", "24:30"),
]


@pytest.mark.parametrize(("text", "token"), IMPOSSIBLE_TIMES)
def test_impossible_times_of_day_are_refused_with_the_accepted_forms(text: str, token: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, BASE, BERLIN)
    assert caught.value.message == (
        f"`{token}` in `{text}` is not a time of day: write a time from `00:00` to `23:59` or "
        "from `1am` to `12pm`, e.g. `friday 15:30` or `friday 3:30pm`."
    )


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("by thursday", (2026, 11, 26, 17, 0)),
        ("due by thursday", (2026, 11, 26, 17, 0)),
        ("thursday 23:59", (2026, 11, 26, 23, 59)),
        ("thursday 00:00", (2026, 11, 26, 0, 0)),
        ("thursday 12am", (2026, 11, 26, 0, 0)),
        ("thursday 12pm", (2026, 11, 26, 12, 0)),
    ],
)
def test_the_edges_of_the_day_and_date_introducers_still_read(text: str, wall: Wall) -> None:
    assert parse_date(text, BASE, BERLIN) == at(BERLIN, *wall)


@pytest.mark.parametrize("text", ["", "   ", "by", "due "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, BASE, BERLIN)
    assert "Try `friday`, `Dec 5`, `in 2 weeks` or `2026-12-05`." in caught.value.message


def test_backticks_do_not_break_the_message() -> None:
    with pytest.raises(UsageError) as caught:
        parse_date("next `sprint`", BASE, BERLIN)
    assert caught.value.message == UNKNOWN.format("next 'sprint'")


def test_input_longer_than_64_characters_is_refused() -> None:
    text = "friday " + "x" * 60
    with pytest.raises(UsageError) as caught:
        parse_date(text, BASE, BERLIN)
    assert "64 at most" in caught.value.message
    assert parse_date(" " * 100 + "friday" + " " * 100, BASE, BERLIN) == at(
        BERLIN, 2026, 11, 27, 17
    )


PAST_CASES: list[tuple[str, datetime, str]] = [
    ("yesterday", BASE, "Tue 24 Nov 17:00 CET"),
    ("2026-11-24", BASE, "Tue 24 Nov 17:00 CET"),
    ("Nov 24 2026", BASE, "Tue 24 Nov 17:00 CET"),
    ("Dec 5 2025", BASE, "Fri 5 Dec 2025 17:00 CET"),
    ("last friday", BASE, "Fri 20 Nov 17:00 CET"),
    ("today 9am", BASE, "Wed 25 Nov 09:00 CET"),
    ("9:30", BASE, "Wed 25 Nov 09:30 CET"),
    ("2 days ago", BASE, "Mon 23 Nov 17:00 CET"),
    # today at 17:00 when it is already 18:00
    ("today", at(BERLIN, 2026, 11, 25, 18), "Wed 25 Nov 17:00 CET"),
    ("15:00", at(BERLIN, 2026, 11, 25, 16), "Wed 25 Nov 15:00 CET"),
    ("noon", at(BERLIN, 2026, 11, 25, 13), "Wed 25 Nov 12:00 CET"),
]


@pytest.mark.parametrize(("text", "now", "shown"), PAST_CASES)
def test_past_dates_are_refused(text: str, now: datetime, shown: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, now, BERLIN)
    assert caught.value.message == (
        f"`{text}` is in the past ({shown}). Give a date from today on, e.g. `friday`, "
        "`Dec 5`, `in 2 weeks` or `2026-12-05`."
    )


def test_unknown_timezone_in_parse_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a time zone I know"):
        parse_date("friday", BASE, "Mars/Olympus")


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_date("friday", datetime(2026, 11, 25, 9), BERLIN)


# --------------------------------------------------------------------------- property


VOCABULARY = [
    "by", "due", "on", "next", "this", "in", "at", "eod", "end", "of", "week", "month", "day",
    "friday", "fri", "wednesday", "tomorrow", "today", "yesterday", "dec", "5", "12", "2026",
    "3pm", "15:00", "12/05", "2026-12-05", "hours", "days", "weeks", "ago", "noon", "q1",
    "a", "2", "-", ".", "/", ":", "99", "0", "am", "pst", "t", "z",
]  # fmt: skip


def _assert_sane(text: str, now: datetime, tz: str) -> None:
    try:
        result = parse_date(text, now, tz)
    except UsageError as error:
        assert error.message
        return
    assert result.tzinfo is UTC
    assert result >= now


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=80))
def test_any_text_gives_a_future_utc_datetime_or_a_usage_error(text: str) -> None:
    _assert_sane(text, BASE, BERLIN)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(VOCABULARY), max_size=6),
    tz=st.sampled_from([BERLIN, NEW_YORK, "UTC", "Asia/Kolkata", "Pacific/Auckland"]),
    offset=st.integers(min_value=0, max_value=400 * 24 * 60),
)
def test_date_like_text_gives_a_future_utc_datetime_or_a_usage_error(
    words: list[str], tz: str, offset: int
) -> None:
    _assert_sane(" ".join(words), BASE + timedelta(minutes=offset), tz)


# --------------------------------------------------------------------------- implementation


def test_one_english_dateparser_is_reused() -> None:
    parse_date("Dec 5", BASE, BERLIN)
    first = dates._parser()
    parse_date("5 Dec", BASE, NEW_YORK)
    assert dates._parser() is first
    assert first.languages == ["en"]
    assert first._settings.PREFER_DATES_FROM == "future"
    assert first._settings.RETURN_AS_TIMEZONE_AWARE is True


def test_warm_up_builds_the_shared_parser() -> None:
    dates.warm_up()
    assert dates._PARSER is not None
    assert dates._parser() is dates._PARSER


def test_dates_module_imports_no_chat_database_or_scheduler_library() -> None:
    source = Path(dates.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    banned = {"slack_bolt", "slack_sdk", "discord", "sqlalchemy", "apscheduler", "aiosqlite"}
    assert not imported & banned
    assert imported <= {
        "__future__", "calendar", "dataclasses", "datetime", "difflib", "functools", "re",
        "threading", "typing", "zoneinfo", "dateparser", "bot",
    }  # fmt: skip


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("  EUROPE/BERLIN ", "Europe/Berlin"),
        ("america/new_york", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("utc", "UTC"),
        ("UTC", "UTC"),
        ("asia/kolkata", "Asia/Kolkata"),
    ],
)
def test_check_timezone_accepts_iana_names(name: str, canonical: str) -> None:
    assert check_timezone(name) == canonical


TZ_HELP = "Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`."


def test_check_timezone_refuses_unknown_names() -> None:
    with pytest.raises(UsageError) as caught:
        check_timezone("Mars/Olympus")
    assert caught.value.message == f"`Mars/Olympus` is not a time zone I know. {TZ_HELP}"


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/berln", "Europe/Berlin"),
        ("America/NewYork", "America/New_York"),
        ("Berlin", "Europe/Berlin"),
    ],
)
def test_check_timezone_suggests_the_closest_zone(name: str, suggestion: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_timezone(name)
    assert caught.value.message == (
        f"`{name}` is not a time zone I know. Did you mean `{suggestion}`? {TZ_HELP}"
    )


@pytest.mark.parametrize("name", ["", "localtime", "Factory", "../etc/passwd", "x" * 200])
def test_check_timezone_refuses_odd_names(name: str) -> None:
    with pytest.raises(UsageError, match="not a time zone I know"):
        check_timezone(name)


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("dt", "tz", "now", "expected"),
    [
        (at(BERLIN, 2026, 11, 27, 17), BERLIN, BASE, "Fri 27 Nov 17:00 CET"),
        (at(BERLIN, 2026, 7, 1, 9, 5), BERLIN, BASE, "Wed 1 Jul 09:05 CEST"),
        (at(BERLIN, 2027, 1, 10, 17), BERLIN, BASE, "Sun 10 Jan 2027 17:00 CET"),
        (at(BERLIN, 2025, 12, 5, 17), BERLIN, BASE, "Fri 5 Dec 2025 17:00 CET"),
        (at(BERLIN, 2026, 11, 27, 17), NEW_YORK, BASE, "Fri 27 Nov 11:00 EST"),
        (at(BERLIN, 2026, 11, 27, 17), "UTC", BASE, "Fri 27 Nov 16:00 UTC"),
        (at(BERLIN, 2026, 11, 27, 17), "Asia/Dubai", BASE, "Fri 27 Nov 20:00 UTC+4"),
        (at(BERLIN, 2026, 11, 27, 17), "Asia/Kathmandu", BASE, "Fri 27 Nov 21:45 UTC+5:45"),
        (at(BERLIN, 2026, 11, 27, 17), "America/Sao_Paulo", BASE, "Fri 27 Nov 13:00 UTC-3"),
        (at(BERLIN, 2026, 11, 27, 17), "Asia/Kolkata", BASE, "Fri 27 Nov 21:30 IST"),
        # the year is that of the local "now": 31 Dec 23:30 UTC is already 2027 in Berlin
        (
            datetime(2027, 1, 1, 9, tzinfo=UTC),
            BERLIN,
            datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
            "Fri 1 Jan 10:00 CET",
        ),
    ],
)
def test_format_datetime(dt: datetime, tz: str, now: datetime, expected: str) -> None:
    assert format_datetime(dt, tz, now) == expected


def test_format_datetime_without_now_uses_the_current_year() -> None:
    this_year = datetime.now(UTC).year
    assert str(this_year + 2) in format_datetime(datetime(this_year + 2, 6, 1, tzinfo=UTC), "UTC")
    assert (
        str(this_year)
        not in format_datetime(datetime(this_year, 6, 1, 12, tzinfo=UTC), "UTC").split()[:3]
    )


def test_format_datetime_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_datetime(datetime(2026, 11, 27, 17), BERLIN, BASE)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-59), "just now"),
        (timedelta(minutes=1), "in 1 minute"),
        (timedelta(minutes=45), "in 45 minutes"),
        (timedelta(minutes=-5), "5 minutes ago"),
        (timedelta(hours=3), "in 3 hours"),
        (timedelta(hours=3, minutes=59), "in 3 hours"),
        (timedelta(hours=-1), "1 hour ago"),
        (timedelta(days=1), "in 1 day"),
        (timedelta(days=2, hours=7), "in 2 days"),
        (timedelta(days=-2), "2 days ago"),
        (timedelta(days=13), "in 13 days"),
        (timedelta(days=14), "in 2 weeks"),
        (timedelta(days=-21), "3 weeks ago"),
        (timedelta(days=90), "in 3 months"),
        (timedelta(days=400), "in 1 year"),
        (timedelta(days=-800), "2 years ago"),
    ],
)
def test_format_relative(delta: timedelta, expected: str) -> None:
    assert format_relative(BASE + delta, BASE) == expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=30), "just now"),
        (timedelta(minutes=-10), "just now"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=5), "5h"),
        (timedelta(hours=23, minutes=59), "23h"),
        (timedelta(days=3), "3d"),
        (timedelta(days=13), "13d"),
        (timedelta(days=14), "2w"),
        (timedelta(days=100), "14w"),
        (timedelta(days=800), "2y"),
    ],
)
def test_format_age(age: timedelta, expected: str) -> None:
    assert format_age(BASE - age, BASE) == expected


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
        ("1 hour, 15 mins", timedelta(hours=1, minutes=15)),
        ("45 minutes", timedelta(minutes=45)),
        ("45 min", timedelta(minutes=45)),
        ("2 hours", timedelta(hours=2)),
        ("2 hrs", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("3d", timedelta(days=3)),
        ("1 week", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("an hour", timedelta(hours=1)),
        ("  2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2", "90", "soon", "2x", "h2", "2 hours ago", "-2h", "2 hourz", "1h30", "x" * 70]
)
def test_parse_duration_refuses_other_text(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    assert "as a duration. Try `2h`, `90m`, `1h30m` or `45 minutes`." in caught.value.message


@pytest.mark.parametrize("text", ["0m", "0h 0m"])
def test_parse_duration_refuses_zero(text: str) -> None:
    with pytest.raises(UsageError, match="no time at all"):
        parse_duration(text)
