"""Schedule rules: weekday names, a local time and a time zone -> the next UTC run.

Pure functions on ``zoneinfo``. Weekdays are stored by name, never by number (APScheduler 3
numbers them from Monday, cron from Sunday: names cannot be misread). The next run is always
computed from the rule, never by adding 24 hours, so daylight-saving changes are right:

- a local time that does not exist on a spring-forward day (02:30 in Berlin on 2026-03-29)
  runs at the same instant a clock would show an hour later (03:30 local);
- a local time that happens twice on a fall-back day runs once, at its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import WEEKDAYS, WORKDAYS
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


def parse_days(text: str) -> tuple[str, ...]:
    """``weekdays``, ``daily``/``every day``, ``mon,wed,fri``, ``mon-fri``, ``tuesday``."""
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
            if last < first:
                raise UsageError(f"`{part}` runs backwards; write it from the earlier day.")
            days.extend(WEEKDAYS[first : last + 1])
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


def local_at(day: date, at: str, tz: str) -> datetime:
    """``at`` on ``day`` in ``tz`` as UTC; nonexistent times move forward by the gap."""
    zone = ZoneInfo(tz)
    naive = datetime.combine(day, clock(at))
    local = naive.replace(tzinfo=zone, fold=0)
    # A wall time in a spring-forward gap does not survive a round trip through UTC; with
    # fold=0 zoneinfo reads it with the offset before the gap, which lands after the gap.
    return local.astimezone(UTC)


def next_run(days: tuple[str, ...], at: str, tz: str, after: datetime) -> datetime:
    """The first run strictly after ``after`` (aware), as an aware UTC datetime."""
    if not days:
        raise ValueError("a schedule needs at least one day")
    zone = ZoneInfo(tz)
    start = after.astimezone(zone).date()
    for offset in range(0, 8):
        day = start + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        candidate = local_at(day, at, tz)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a week always contains one of the days")


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


def working_days_between(start: datetime, end: datetime, tz: str, days: tuple[str, ...]) -> int:
    """Whole working days elapsed from ``start`` to ``end`` (the start day not counted)."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        if WEEKDAYS[day.weekday()] in days:
            count += 1
        day += timedelta(days=1)
    return count
