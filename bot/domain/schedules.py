"""Schedule rules: weekday names (or a monthly day), a local time and a time zone.

The rule is a :class:`Recurrence`; its next UTC run is computed by a
:class:`bot.ports.Timetable` (APScheduler's ``CronTrigger`` in ``adapters.runtime.timetable``).
Weekdays are stored by name, never by number (APScheduler 3 numbers them from Monday, cron
from Sunday: names cannot be misread). The next run is always computed from the rule, never
by adding 24 hours, so daylight-saving changes are right:

- a local time that does not exist on a spring-forward day (02:30 in Berlin on 2026-03-29)
  runs at the same instant a clock would show an hour later (03:30 local);
- a local time that happens twice on a fall-back day runs once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import WEEKDAYS, WORKDAYS, Schedule
from bot.errors import UsageError

_DAY_ALIASES = {
    "monday": "mon",
    "tuesday": "tue",
    "tues": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "thur": "thu",
    "thurs": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_RANGE_RE = re.compile(r"^([a-z]+)-([a-z]+)$")
_TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


def _day(word: str) -> str:
    word = word.strip().lower().rstrip(".")
    word = _DAY_ALIASES.get(word, word)
    if word not in WEEKDAYS:
        raise UsageError(
            f"`{word}` is not a day. Use `weekdays`, `daily`, or names such as `mon,wed,fri`."
        )
    return word


def parse_days(text: str, *, wrap: bool = False) -> tuple[str, ...]:
    """``weekdays``, ``daily``/``every day``, ``mon,wed,fri``, ``mon-fri``, ``tuesday``; with
    ``wrap`` a range may run over the weekend (``sun-thu``, ``sat-wed``)."""
    key = " ".join(text.lower().split())
    if key in ("weekdays", "workdays", "week days", "mon-fri"):
        return WORKDAYS
    if key in ("daily", "every day", "everyday", "all"):
        return WEEKDAYS
    days: list[str] = []
    for part in re.split(r"[,\s]+", key):
        if not part:
            continue
        m = _RANGE_RE.match(part)
        if m:
            first, last = WEEKDAYS.index(_day(m.group(1))), WEEKDAYS.index(_day(m.group(2)))
            if last < first and not wrap:
                raise UsageError(f"`{part}` runs backwards; write it from the earlier day.")
            span = last - first if last >= first else last + 7 - first
            days.extend(WEEKDAYS[(first + n) % 7] for n in range(span + 1))
        else:
            days.append(_day(part))
    if not days:
        raise UsageError("Say which days: `weekdays`, `daily` or names such as `mon,wed,fri`.")
    return tuple(d for d in WEEKDAYS if d in days)


def parse_time(text: str) -> str:
    """``09:30``, ``9:30``, ``9am``, ``4:15pm`` -> ``HH:MM``."""
    m = _TIME_RE.match(text.strip().lower())
    if not m:
        raise UsageError(f"`{text}` is not a time of day. Write it like `09:30` or `4pm`.")
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise UsageError(f"`{text}` is not a time of day. Write it like `09:30` or `4pm`.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise UsageError(f"`{text}` is not a time of day. Write it like `09:30` or `4pm`.")
    return f"{hour:02d}:{minute:02d}"


def clock(at: str) -> time:
    hour, minute = at.split(":")
    return time(int(hour), int(minute))


#: ``Recurrence.nth`` values, in the order a month has them.
NTH = ("first", "second", "third", "fourth", "last")


@dataclass(frozen=True)
class Recurrence:
    """When a schedule runs: weekday names (every week or every other week), or once a month
    (the ``nth`` weekday, or day ``month_day``), at ``at`` local to ``timezone``.

    The next run is computed by a :class:`bot.ports.Timetable`, never here.
    """

    days: tuple[str, ...]
    at: str
    timezone: str
    #: 1: every week; 2: every other week, the weeks of ``anchor``
    every_weeks: int = 1
    #: the ISO date of a Monday whose week runs (every other week)
    anchor: str | None = None
    #: monthly on the ``nth`` (``NTH``) of ``days[0]``
    nth: str | None = None
    #: monthly on this day of the month (months without it are skipped)
    month_day: int | None = None

    @property
    def monthly(self) -> bool:
        return self.nth is not None or self.month_day is not None

    def in_cycle(self, day: date) -> bool:
        """Whether ``day`` (local) is in a week this rule runs in (every other week)."""
        if self.every_weeks <= 1 or self.anchor is None:
            return True
        monday = day - timedelta(days=day.weekday())
        weeks = (monday - date.fromisoformat(self.anchor)).days // 7
        return weeks % self.every_weeks == 0

    def runs_on(self, day: date) -> bool:
        """Whether the rule has a run on the local date ``day``."""
        if self.month_day is not None:
            return day.day == self.month_day
        if WEEKDAYS[day.weekday()] not in self.days:
            return False
        if self.nth is not None:
            if self.nth == "last":
                return (day + timedelta(days=7)).month != day.month
            return (day.day - 1) // 7 == NTH.index(self.nth)
        return self.in_cycle(day)


_ORDINALS = {
    "first": "first",
    "1st": "first",
    "second": "second",
    "2nd": "second",
    "third": "third",
    "3rd": "third",
    "fourth": "fourth",
    "4th": "fourth",
    "last": "last",
}
_DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
PATTERN_FORMS = (
    "`weekdays`, `daily`, day names (`mon,wed,fri`), `every other monday`, "
    "`first monday` or `last friday` (monthly), `day 1` (monthly)"
)


@dataclass(frozen=True)
class Pattern:
    """The days of a rule as typed, without its time and zone."""

    days: tuple[str, ...]
    every_weeks: int = 1
    nth: str | None = None
    month_day: int | None = None


def parse_pattern(text: str) -> Pattern:
    """The days of a schedule: what :func:`parse_days` reads, and ``every other monday``
    (``biweekly mon,thu``), ``first monday`` … ``last friday`` (monthly by weekday) and
    ``day 1`` (monthly by day), each optionally after ``monthly``."""
    words = text.lower().replace(",", " , ").split()
    if words[:1] == ["monthly"] or words[:1] == ["on"]:
        words = words[1:]
    if words[:1] == ["the"]:
        words = words[1:]
    if not words:
        raise UsageError(f"Say which days: {PATTERN_FORMS}.")
    if words[:2] == ["every", "other"] or words[0] in ("biweekly", "fortnightly"):
        rest = words[2:] if words[0] == "every" else words[1:]
        if not rest:
            raise UsageError("Say which day: `every other monday`.")
        return Pattern(parse_days(" ".join(rest)), every_weeks=2)
    if words[0] in _ORDINALS:
        rest = [w for w in words[1:] if w != "of"]
        if len(rest) < 1 or rest[1:] not in ([], ["month"], ["each", "month"], ["the", "month"]):
            raise UsageError(
                f"Say one day after `{words[0]}`: `{words[0]} monday` runs on the "
                f"{_ORDINALS[words[0]]} Monday of each month."
            )
        return Pattern((_day(rest[0]),), nth=_ORDINALS[words[0]])
    if words[0] == "day":
        number = words[1] if len(words) == 2 else ""
        if not number.isdigit() or not 1 <= int(number) <= 31:
            raise UsageError(
                "Say the day of the month as a number from 1 to 31: `day 1` (a month without "
                "that day is skipped)."
            )
        return Pattern(WEEKDAYS, month_day=int(number))
    if words[0] == "every" and words[1:2] != ["day"]:
        words = words[1:]
    return Pattern(parse_days(" ".join(words)))


def describe_rule(rule: Recurrence) -> str:
    """A rule in plain words: ``every other Monday at 09:30 Europe/Berlin``."""
    when = f"at {rule.at} {rule.timezone}"
    if rule.month_day is not None:
        return f"monthly on day {rule.month_day} {when}"
    if rule.nth is not None:
        return f"the {rule.nth} {_DAY_NAMES[rule.days[0]]} of each month {when}"
    if rule.every_weeks == 2:
        names = [_DAY_NAMES[d] for d in rule.days]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"every other {joined} {when}"
    return f"{describe_days(rule.days)} {when}"


def rule_of(schedule: Schedule) -> Recurrence:
    """The rule of a schedule that has days and a time."""
    if schedule.at is None:
        raise ValueError("the schedule has no time")
    return Recurrence(
        schedule.days,
        schedule.at,
        schedule.timezone,
        every_weeks=schedule.every_weeks,
        anchor=schedule.week_anchor,
        nth=schedule.nth,
        month_day=schedule.month_day,
    )


def local_at(day: date, at: str, tz: str) -> datetime:
    """``at`` on ``day`` in ``tz`` as UTC; a wall time in a spring-forward gap reads with the
    offset before the gap (so it lands after it), a repeated one is its first occurrence."""
    return datetime.combine(day, clock(at), ZoneInfo(tz)).astimezone(UTC)


def first_of_repeated(moment: datetime, tz: str) -> bool:
    """False for the second occurrence of a local time that happens twice (fall back)."""
    local = moment.astimezone(ZoneInfo(tz))
    return local.replace(fold=0).astimezone(UTC) == moment.astimezone(UTC)


class ZoneTimetable:
    """A :class:`bot.ports.Timetable` on ``zoneinfo`` alone, without holiday data: the
    fallback of tests and fakes. raidline itself runs with the APScheduler timetable of
    ``adapters.runtime.timetable``, which must agree with this one (tests compare them)."""

    def next_run(self, rule: Recurrence, after: datetime) -> datetime:
        zone = ZoneInfo(rule.timezone)
        start = after.astimezone(zone).date()
        for offset in range(0, 800):
            day = start + timedelta(days=offset)
            if not rule.runs_on(day):
                continue
            candidate = local_at(day, rule.at, rule.timezone)
            if candidate > after:
                return candidate
        raise ValueError(f"{rule} has no run in the next two years")

    def holiday(self, region: str, day: date) -> str | None:
        return None

    def check_region(self, text: str) -> str:
        raise UsageError("Holiday calendars are not available here.")


def local_date(moment: datetime, tz: str) -> str:
    """The ISO local date of ``moment`` in ``tz``: one run per local date keys on it."""
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def describe_days(days: tuple[str, ...]) -> str:
    if days == WORKDAYS:
        return "weekdays"
    if days == WEEKDAYS:
        return "every day"
    return ", ".join(d.capitalize() for d in days)


def within_hours(moment: datetime, tz: str, days: tuple[str, ...], start: str, end: str) -> bool:
    """Whether ``moment`` falls in the working hours of a channel."""
    local = moment.astimezone(ZoneInfo(tz))
    if WEEKDAYS[local.weekday()] not in days:
        return False
    return clock(start) <= local.time().replace(tzinfo=None) < clock(end)


def working_days_between(
    start: datetime, end: datetime, tz: str, working: Callable[[date], bool]
) -> int:
    """Whole working days elapsed from ``start`` to ``end`` (the start day not counted).
    ``working`` tells a working day (local to ``tz``) from a day off: the channel's work
    week, public holidays and further days off (``bot.services.days_off.reason``)."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        if working(day):
            count += 1
        day += timedelta(days=1)
    return count
