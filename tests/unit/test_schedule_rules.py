"""Next runs from weekday names, a local time and a zone, across daylight-saving changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from adapters.runtime.timetable import CronTimetable
from bot.domain.schedules import (
    Recurrence,
    ZoneTimetable,
    describe_rule,
    local_date,
    parse_days,
    parse_pattern,
    parse_time,
    within_hours,
    working_days_between,
)
from bot.errors import UsageError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
DAILY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


#: raidline's timetable (APScheduler's CronTrigger) and the zoneinfo fallback of tests and
#: fakes: both must give the same runs.
TIMETABLES = [CronTimetable(), ZoneTimetable()]


def next_run(
    days: tuple[str, ...], at: str, tz: str, after: datetime, timetable: object = TIMETABLES[0]
) -> datetime:
    assert isinstance(timetable, CronTimetable | ZoneTimetable)
    return timetable.next_run(Recurrence(days, at, tz), after)


@pytest.mark.parametrize(
    ("days", "at", "tz", "after", "expected"),
    [
        # Europe/Berlin: CET (+1) until 2026-03-29 02:00, CEST (+2) until 2026-10-25 03:00
        (WEEKDAYS, "09:30", "Europe/Berlin", utc(2026, 3, 27, 8, 30), utc(2026, 3, 30, 7, 30)),
        (WEEKDAYS, "09:30", "Europe/Berlin", utc(2026, 3, 26, 9, 0), utc(2026, 3, 27, 8, 30)),
        (WEEKDAYS, "09:30", "Europe/Berlin", utc(2026, 10, 23, 7, 30), utc(2026, 10, 26, 8, 30)),
        # 02:30 does not exist on 29 Mar: it runs once, at 03:30 CEST (01:30Z)
        (DAILY, "02:30", "Europe/Berlin", utc(2026, 3, 28, 2, 0), utc(2026, 3, 29, 1, 30)),
        (DAILY, "02:30", "Europe/Berlin", utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)),
        # 02:30 happens twice on 25 Oct: it runs once, at the first (CEST, 00:30Z)
        (DAILY, "02:30", "Europe/Berlin", utc(2026, 10, 24, 1, 0), utc(2026, 10, 25, 0, 30)),
        (DAILY, "02:30", "Europe/Berlin", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        # America/New_York: EST (-5) until 2026-03-08 02:00, EDT (-4) until 2026-11-01 02:00
        (WEEKDAYS, "09:30", "America/New_York", utc(2026, 3, 6, 14, 30), utc(2026, 3, 9, 13, 30)),
        (WEEKDAYS, "09:30", "America/New_York", utc(2026, 10, 30, 13, 30),
         utc(2026, 11, 2, 14, 30)),
        (DAILY, "02:30", "America/New_York", utc(2026, 3, 7, 8, 0), utc(2026, 3, 8, 7, 30)),
        (DAILY, "01:30", "America/New_York", utc(2026, 10, 31, 6, 0), utc(2026, 11, 1, 5, 30)),
        (DAILY, "01:30", "America/New_York", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
        # named days
        (("mon", "wed", "fri"), "10:00", "Europe/London", utc(2026, 11, 25, 10, 0),
         utc(2026, 11, 27, 10, 0)),
        (("sun",), "23:59", "UTC", utc(2026, 11, 29, 23, 59), utc(2026, 12, 6, 23, 59)),
    ],
)  # fmt: skip
@pytest.mark.parametrize("timetable", TIMETABLES, ids=["apscheduler", "zoneinfo"])
def test_next_run(
    days: tuple[str, ...],
    at: str,
    tz: str,
    after: datetime,
    expected: datetime,
    timetable: CronTimetable | ZoneTimetable,
) -> None:
    assert next_run(days, at, tz, after, timetable) == expected


@pytest.mark.parametrize("timetable", TIMETABLES, ids=["apscheduler", "zoneinfo"])
@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_one_run_per_local_date_through_a_whole_year(
    tz: str, timetable: CronTimetable | ZoneTimetable
) -> None:
    """Daily at 02:30 for all of 2026: 365 runs on 365 different local dates."""
    moment = utc(2025, 12, 31, 12, 0)
    dates = []
    for _ in range(365):
        moment = next_run(DAILY, "02:30", tz, moment, timetable)
        dates.append(local_date(moment, tz))
    assert len(set(dates)) == 365
    assert dates[0] == "2026-01-01" and dates[-1] == "2026-12-31"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("weekdays", WEEKDAYS),
        ("daily", DAILY),
        ("mon,wed,fri", ("mon", "wed", "fri")),
        ("Fri, Mon", ("mon", "fri")),
        ("tue-thu", ("tue", "wed", "thu")),
        ("monday wednesday", ("mon", "wed")),
    ],
)
def test_parse_days(text: str, days: tuple[str, ...]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("text", ["funday", "fri-mon", ""])
def test_parse_days_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_days(text)


@pytest.mark.parametrize(
    ("text", "at"),
    [("09:30", "09:30"), ("9:30", "09:30"), ("9am", "09:00"), ("4:15pm", "16:15"),
     ("12am", "00:00"), ("12pm", "12:00"), ("17", "17:00")],
)  # fmt: skip
def test_parse_time(text: str, at: str) -> None:
    assert parse_time(text) == at


@pytest.mark.parametrize("text", ["25:00", "9:75", "13pm", "noonish"])
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="not a time of day"):
        parse_time(text)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (utc(2026, 11, 25, 8, 0), True),  # Wed 09:00 Berlin
        (utc(2026, 11, 25, 7, 59), False),  # Wed 08:59
        (utc(2026, 11, 25, 17, 0), False),  # Wed 18:00
        (utc(2026, 11, 28, 10, 0), False),  # Saturday
    ],
)
def test_within_hours(moment: datetime, inside: bool) -> None:
    assert within_hours(moment, "Europe/Berlin", WEEKDAYS, "09:00", "18:00") is inside


def test_working_days_skip_the_weekend() -> None:
    friday, tuesday = utc(2026, 11, 27, 9), utc(2026, 12, 1, 9)
    assert working_days_between(friday, tuesday, "Europe/Berlin", lambda d: d.weekday() < 5) == 2


# --- richer rules: every other week, monthly -------------------------------------------------

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize("timetable", TIMETABLES, ids=["apscheduler", "zoneinfo"])
@pytest.mark.parametrize(
    ("rule", "after", "runs"),
    [
        # every other Monday, the cycle of the week of Mon 30 Nov
        (Recurrence(("mon",), "09:30", BERLIN, every_weeks=2, anchor="2026-11-30"),
         utc(2026, 11, 25, 12, 0),
         [utc(2026, 11, 30, 8, 30), utc(2026, 12, 14, 8, 30), utc(2026, 12, 28, 8, 30)]),
        # every other Monday and Thursday: the weeks of 23 Nov, 7 Dec...
        (Recurrence(("mon", "thu"), "10:00", "UTC", every_weeks=2, anchor="2026-12-07"),
         utc(2026, 11, 25, 12, 0),
         [utc(2026, 11, 26, 10, 0), utc(2026, 12, 7, 10, 0), utc(2026, 12, 10, 10, 0)]),
        # the first Monday and the last Friday of each month
        (Recurrence(("mon",), "09:00", BERLIN, nth="first"), utc(2026, 11, 25, 12, 0),
         [utc(2026, 12, 7, 8, 0), utc(2027, 1, 4, 8, 0), utc(2027, 2, 1, 8, 0)]),
        (Recurrence(("fri",), "16:00", BERLIN, nth="last"), utc(2026, 11, 25, 12, 0),
         [utc(2026, 11, 27, 15, 0), utc(2026, 12, 25, 15, 0), utc(2027, 1, 29, 15, 0)]),
        # day 31: months without one are skipped
        (Recurrence(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00", "UTC",
                    month_day=31),
         utc(2027, 1, 31, 12, 0), [utc(2027, 3, 31, 9, 0), utc(2027, 5, 31, 9, 0)]),
        # the last Sunday of March and October at 02:30 in Berlin: the day the clocks change.
        # 29 Mar: 02:30 does not exist, it runs at 03:30 CEST (01:30Z); 25 Oct: it happens
        # twice, it runs once (00:30Z, the first).
        (Recurrence(("sun",), "02:30", BERLIN, nth="last"), utc(2026, 3, 1, 0, 0),
         [utc(2026, 3, 29, 1, 30), utc(2026, 4, 26, 0, 30)]),
        (Recurrence(("sun",), "02:30", BERLIN, nth="last"), utc(2026, 10, 1, 0, 0),
         [utc(2026, 10, 25, 0, 30), utc(2026, 11, 29, 1, 30)]),
        # New York: every other Sunday at 01:30 through the fall-back night (1 Nov 2026)
        (Recurrence(("sun",), "01:30", "America/New_York", every_weeks=2, anchor="2026-10-26"),
         utc(2026, 10, 20, 0, 0), [utc(2026, 11, 1, 5, 30), utc(2026, 11, 15, 6, 30)]),
    ],
)  # fmt: skip
def test_richer_rules(
    rule: Recurrence,
    after: datetime,
    runs: list[datetime],
    timetable: CronTimetable | ZoneTimetable,
) -> None:
    found = []
    moment = after
    for _ in runs:
        moment = timetable.next_run(rule, moment)
        found.append(moment)
    assert found == runs


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("every other monday", "every other Monday at 09:30 Europe/Berlin"),
        ("biweekly mon,thu", "every other Monday and Thursday at 09:30 Europe/Berlin"),
        ("first monday", "the first Monday of each month at 09:30 Europe/Berlin"),
        ("monthly last friday", "the last Friday of each month at 09:30 Europe/Berlin"),
        ("day 1", "monthly on day 1 at 09:30 Europe/Berlin"),
        ("weekdays", "weekdays at 09:30 Europe/Berlin"),
        ("every monday", "Mon at 09:30 Europe/Berlin"),
    ],
)
def test_rules_in_plain_words(text: str, words: str) -> None:
    p = parse_pattern(text)
    rule = Recurrence(p.days, "09:30", BERLIN, p.every_weeks, None, p.nth, p.month_day)
    assert describe_rule(rule) == words


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("every other", "Say which day: `every other monday`."),
        ("first", "Say one day after `first`: `first monday` runs on the first Monday"),
        ("second mon tue", "Say one day after `second`"),
        ("day 0", "Say the day of the month as a number from 1 to 31"),
        ("day 32", "Say the day of the month as a number from 1 to 31"),
        ("last funday", "`funday` is not a day."),
    ],
)
def test_rule_refusals(text: str, refusal: str) -> None:
    with pytest.raises(UsageError, match=re.escape(refusal)):
        parse_pattern(text)
