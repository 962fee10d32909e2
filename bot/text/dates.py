"""Reading and showing dates and times (SPEC.md §1, Time).

Everything is stored in UTC and shown or parsed in an IANA time zone. :func:`parse_date` turns
what a user typed (``friday``, ``tomorrow 3pm``, ``in 2 weeks``, ``Dec 5``, ``EOD``...) into an
aware UTC datetime, or raises :class:`~bot.errors.UsageError` with a message that says how to
write it. The rules, in the order they are tried:

* Input: case-insensitive, whitespace collapsed, at most 64 characters; one or more leading
  ``by``/``due``/``until``/``till``/``on``/``before`` are dropped, as is trailing punctuation.
* Numeric day/month forms (``12/05``, ``05/12/2026``, ``12.05.``, ``12-05``) are refused as
  ambiguous; the message spells out each valid reading (``Dec 5`` or ``2026-12-05``...).
* A date without a time means **17:00 local** on that day (``in 3 days``, ``in 2 weeks`` are
  dates; ``in 3 hours``/``in 90 minutes`` keep the time of day).
* A time without a date (``15:00``, ``3pm``, ``noon``) means **today**; if that time has passed
  it is refused as past (it never silently becomes tomorrow).
* ``EOD``/``COB``/``end of day`` alone: today 17:00, or **tomorrow 17:00 once 17:00 has
  passed** (end of *the* working day). ``eod friday`` is Friday 17:00.
* ``today`` is today 17:00: after 17:00 it is refused as past.
* **One rule for "this week"**: a weekday (``friday``, ``fri``, ``this friday``, ``next
  friday``), a weekday with a time (``friday 3:30pm``) and a week phrase (``end of week``,
  ``EOW``, ``this week``) all mean **the next such day whose moment is not past**. Today counts
  while that moment is still ahead: a bare weekday stands for the end of that working day
  (17:00), so on a Friday at 14:00 ``friday``, ``friday 3:30pm`` and ``end of week`` are all
  today; at 18:00 all three are next week's Friday. ``next friday`` is the same day as
  ``friday``.
* ``next week``: Monday of next week. ``end of next week``: next week's Friday.
  ``end of month``/``EOM``: the last day of this month 17:00, or of next month once that has
  passed.
* Any day is accepted; the replies that set a date say when it is not a working day of the
  channel (its work week, public holidays and extra days off: ``bot.views.items``).
* Month names without a year (``Dec 5``, ``5 Dec``): the next such date that is not in the past
  (today's date counts while its time is ahead). With a year: exactly that date.
* ``2026-12-05``, ``2026-12-05 14:00``, ``2026-12-05T14:00Z`` (an explicit offset is honoured).
* Anything else goes to dateparser (English only, one reused parser). Answers that are only a
  month, a year or a quarter (``December``, ``2027``, ``Q1``) are refused as unreadable.
* The result must not be before ``now``; otherwise the message shows what was understood.

The module imports no chat, database or scheduler library; dateparser is imported lazily on
first use (call :func:`warm_up` at start-up to pay that cost early).
"""

from __future__ import annotations

import calendar
import difflib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from bot.errors import UsageError

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = [
    "DATE_FORMS",
    "DEFAULT_TIME",
    "MAX_DATE_LENGTH",
    "check_timezone",
    "format_age",
    "format_date",
    "format_datetime",
    "format_day",
    "format_local_date",
    "format_relative",
    "parse_date",
    "parse_duration",
    "warm_up",
]

MAX_DATE_LENGTH = 64
"""Longest date text accepted (characters, after collapsing whitespace)."""

DEFAULT_TIME = time(17, 0)
"""The time of day a date without a time stands for."""

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DATE_FORMS = "`friday`, `Dec 5`, `in 2 weeks` or `2026-12-05`"
"""The accepted date forms, as every refusal of a date shows them."""
_TRY = f"Try {DATE_FORMS}."
_TZ_EXAMPLES = "Use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`."

_WEEKDAY_NAMES: dict[str, int] = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "weds": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}

_NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

_A = re.ASCII

# ``12/05``, ``05/12/2026``, ``12.05.``, ``12-05``, ``5/12/26``: not preceded or followed by
# more digits or separators (so ``2026-12-05`` and ``14:00`` never match) and not a decimal
# quantity such as ``1.5 days``.
_UNIT_WORDS = (
    r"(?:m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mos?|months?|y|yrs?|years?)"
)
_NUMERIC_DM = re.compile(
    r"(?<![\w/.:-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})"
    r"(?:(?P=sep)(?P<year>\d{4}|\d{2}))?(?P<trail>\.)?"
    rf"(?![\w/:-]|\.\d)(?!\s*{_UNIT_WORDS}\b)",
    _A,
)

_PREFIX = re.compile(r"^(?:(?:by|due|until|till|til|on|before)\b[\s:]*)+", _A)

_EOD_WORDS = r"eod|cob|end\s+of\s+(?:the\s+)?(?:day|business(?:\s+day)?)|close\s+of\s+business"
_EOD = re.compile(rf"(?:at\s+)?(?:{_EOD_WORDS})", _A)
_TIME = (
    r"(?:(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))?\s*(?P<ampm>[ap])\.?m\.?"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})"
    rf"|(?P<word>noon|midday|{_EOD_WORDS}))"
)
_TIME_ONLY = re.compile(rf"(?:at\s+|@\s*)?{_TIME}", _A)
_TIME_AFTER = re.compile(rf"(?P<date>.+?)(?:\s*,)?\s+(?:(?:at|by)\s+|@\s*)?{_TIME}", _A)
_TIME_BEFORE = re.compile(rf"(?:at\s+|@\s*)?{_TIME}(?:\s*,)?\s+(?:on\s+)?(?P<date>.+)", _A)

_ISO_DATE = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})", _A)
_ISO_DATETIME = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})t(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?P<off>z|[+-]\d{2}:?\d{2})?",
    _A,
)
_RELATIVE = re.compile(
    r"(?:in\s+)?(?:(?P<n>\d{1,4})\s*|(?P<word>" + "|".join(_NUMBER_WORDS) + r")\s+)"
    r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?)"
    r"(?:\s+from\s+(?:now|today))?",
    _A,
)
_WEEKDAY = re.compile(
    r"(?:(?:this|next|coming)\s+)?(?P<wd>" + "|".join(_WEEKDAY_NAMES) + r")\.?",
    _A,
)
_LETTER = re.compile(r"[a-z]", _A)
_MONTH_NUMBERS = {
    name: n
    for n, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "(?:" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
#: "Dec 5", "5 Dec", "December 5th", "5 dec 2026", "Dec 5, 2026": the commonest dates,
#: answered without dateparser (which takes ~1.5 ms for them).
_MONTH_DAY = re.compile(
    rf"(?:(?P<m1>{_MONTH})\.?\s+(?P<d1>{_ORDINAL})|(?P<d2>{_ORDINAL})\s+(?P<m2>{_MONTH})\.?)"
    r"(?:,?\s+(?P<y>\d{4}))?",
    _A,
)

_DURATION_AMOUNT = r"(?:\d{1,6}(?:\.\d{1,3})?|an?(?=\s))"
_DURATION_UNIT = r"(?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])"
_DURATION_ITEM = rf"{_DURATION_AMOUNT}\s*{_DURATION_UNIT}"
_DURATION = re.compile(rf"{_DURATION_ITEM}(?:\s*(?:,\s*|and\s+)?{_DURATION_ITEM})*", _A)
_DURATION_ONE = re.compile(rf"(?P<n>{_DURATION_AMOUNT})\s*(?P<unit>{_DURATION_UNIT})", _A)


# --------------------------------------------------------------------------- time zones


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """lower-case name -> canonical IANA name, for every zone the tz database knows."""
    return {
        name.lower(): name
        for name in available_timezones()
        if name not in {"localtime", "Factory", "posixrules"}
    }


@lru_cache(maxsize=1)
def _city_names() -> dict[str, str]:
    """lower-case last component (``berlin``) -> zone name, for suggestions only."""
    cities: dict[str, str] = {}
    for name in sorted(_zone_names().values()):
        if "/" in name:
            cities.setdefault(name.rsplit("/", 1)[1].lower(), name)
    return cities


def check_timezone(name: str) -> str:
    """Return the canonical IANA name for ``name`` (case-insensitive), or raise UsageError.

    ``europe/berlin`` -> ``Europe/Berlin``; ``America/New York`` -> ``America/New_York``. An
    unknown name is refused; the message suggests the closest known zone when there is one.
    """
    cleaned = " ".join(name.split())
    key = cleaned.replace(" ", "_").lower()
    names = _zone_names()
    found = names.get(key) if len(key) <= MAX_DATE_LENGTH else None
    if found is not None:
        return found
    shown = _shown(cleaned) if cleaned else ""
    message = f"`{shown}` is not a time zone I know."
    suggestion = _suggest_zone(key) if 0 < len(key) <= MAX_DATE_LENGTH else None
    if suggestion is not None:
        message += f" Did you mean `{suggestion}`?"
    raise UsageError(f"{message} {_TZ_EXAMPLES}")


def _suggest_zone(key: str) -> str | None:
    names = _zone_names()
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    if close:
        return names[close[0]]
    cities = _city_names()
    city = key.rsplit("/", 1)[-1]
    if city in cities:
        return cities[city]
    close = difflib.get_close_matches(city, list(cities), n=1, cutoff=0.85)
    return cities[close[0]] if close else None


@lru_cache(maxsize=256)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(check_timezone(tz))


# --------------------------------------------------------------------------- formatting


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")


def _zone_abbreviation(local: datetime) -> str:
    name = local.tzname()
    if name and name[0] not in "+-":
        return name
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def format_day(day: date, this_year: int) -> str:
    """``Fri 27 Nov``; with the year (``Fri 5 Mar 2027``) when it is not ``this_year``. Every
    date raidline writes is written this way (:func:`format_date`, :func:`format_datetime`,
    :func:`format_local_date`)."""
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return text if day.year == this_year else f"{text} {day.year}"


def _local(dt: datetime, tz: str, now: datetime | None) -> tuple[datetime, int]:
    """``dt`` in ``tz``, and the local year of ``now`` (default: the current time)."""
    _require_aware(dt, "dt")
    zone = _zone(tz)
    reference = now if now is not None else datetime.now(UTC)
    _require_aware(reference, "now")
    return dt.astimezone(zone), reference.astimezone(zone).year


def format_datetime(dt: datetime, tz: str, now: datetime | None = None) -> str:
    """``Fri 27 Nov 17:00 CET``, in ``tz``; the year is added (``Fri 5 Mar 2027 17:00 CET``)
    when it differs from the local year of ``now`` (default: the current time)."""
    local, this_year = _local(dt, tz, now)
    text = format_day(local.date(), this_year)
    return f"{text} {local.hour:02d}:{local.minute:02d} {_zone_abbreviation(local)}"


def format_date(dt: datetime, tz: str, now: datetime | None = None) -> str:
    """The day of ``dt`` in ``tz`` without the time: ``Fri 27 Nov`` (``Fri 5 Mar 2027`` in
    another year than ``now``'s)."""
    local, this_year = _local(dt, tz, now)
    return format_day(local.date(), this_year)


def format_local_date(day: str, tz: str, now: datetime | None) -> str:
    """A local date kept as ISO text (``2026-12-07``, a standup's day) as :func:`format_day`
    writes it, the year shown unless it is ``now``'s in ``tz`` (``now`` None: always shown,
    for text that is kept); text that is not an ISO date is returned as it is."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        return day
    return format_day(parsed, _local(now, tz, now)[1] if now is not None else 0)


def format_absolute(dt: datetime, tz: str) -> str:
    """``2026-11-27 17:00``, in ``tz``: a date that means the same whenever it is read
    (exports, which say their time zone once)."""
    _require_aware(dt, "dt")
    return dt.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _span(seconds: float) -> str | None:
    """``5 minutes``, ``3 hours``, ``2 days``, ``3 weeks``, ``4 months``, ``2 years``; None
    under a minute. Counts are whole units, rounded down."""
    if seconds < 60:
        return None
    if seconds < 3600:
        return _plural(int(seconds // 60), "minute")
    if seconds < 86400:
        return _plural(int(seconds // 3600), "hour")
    days = int(seconds // 86400)
    if days < 14:
        return _plural(days, "day")
    if days < 61:
        return _plural(days // 7, "week")
    if days < 365:
        return _plural(days // 30, "month")
    return _plural(days // 365, "year")


def format_relative(dt: datetime, now: datetime) -> str:
    """``in 2 days``, ``3 hours ago``, ``just now``: elapsed time between ``now`` and ``dt``
    in whole units (minutes, hours, days under two weeks, weeks under two months, months,
    years), rounded down; anything under a minute either way is ``just now``."""
    _require_aware(dt, "dt")
    _require_aware(now, "now")
    seconds = (dt - now).total_seconds()
    span = _span(abs(seconds))
    if span is None:
        return "just now"
    return f"in {span}" if seconds > 0 else f"{span} ago"


def format_age(since: datetime, now: datetime) -> str:
    """Compact age for lists: ``just now`` (under a minute, or ``since`` in the future),
    ``45m``, ``5h``, ``3d`` (under two weeks), ``2w`` (under a year), ``1y``; rounded down."""
    _require_aware(since, "since")
    _require_aware(now, "now")
    seconds = (now - since).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    days = int(seconds // 86400)
    if days < 14:
        return f"{days}d"
    if days < 365:
        return f"{days // 7}w"
    return f"{days // 365}y"


# --------------------------------------------------------------------------- durations


_DURATION_UNITS: dict[str, timedelta] = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90m``, ``1h30m``, ``1h 30m``, ``45 minutes``, ``2 hours``, ``1 day``,
    ``1.5h``, ``an hour``, ``1 week`` -> a positive timedelta, else UsageError."""
    cleaned = " ".join(text.split())
    lowered = cleaned.lower()
    if len(cleaned) > MAX_DATE_LENGTH or not lowered or not _DURATION.fullmatch(lowered):
        shown = _shown(cleaned)
        raise UsageError(
            f"I couldn't read `{shown}` as a duration. Try `2h`, `90m`, `1h30m` or `45 minutes`."
        )
    total = timedelta(0)
    for part in _DURATION_ONE.finditer(lowered):
        number = part["n"]
        amount = 1.0 if number in {"a", "an"} else float(number)
        total += amount * _DURATION_UNITS[part["unit"][0]]
    if total <= timedelta(0):
        raise UsageError(
            f"`{_shown(cleaned)}` is no time at all. Give a duration such as `2h` or `90m`."
        )
    return total


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Found:
    """What one phrase means before the default time and the past check are applied."""

    day: date
    clock: time | None = None  # a time the phrase carried itself (dateparser: "tonight")
    exact: datetime | None = None  # a precise instant ("in 3 hours"), aware
    yearless: bool = False  # "Dec 5": move on by years until it is not in the past


_parser_lock = threading.Lock()
_PARSER: DateDataParser | None = None


def _parser() -> DateDataParser:
    """The one English DateDataParser, created on first use and reused afterwards."""
    global _PARSER
    if _PARSER is None:
        with _parser_lock:
            if _PARSER is None:
                from dateparser.date import DateDataParser

                _PARSER = DateDataParser(
                    languages=["en"],
                    settings={
                        "PREFER_DATES_FROM": "future",
                        "RETURN_AS_TIMEZONE_AWARE": True,
                        "RETURN_TIME_AS_PERIOD": True,
                        "TIMEZONE": "UTC",
                        # replaced per call by the caller's naive local "now"
                        "RELATIVE_BASE": datetime(2000, 1, 1),  # noqa: DTZ001
                    },
                )
    return _PARSER


def warm_up() -> None:
    """Import dateparser, build the shared parser and load its English data now (~100 ms)
    rather than inside the first command that needs it."""
    _dateparser("dec 5", datetime(2026, 1, 1, 12, tzinfo=UTC).astimezone(_zone("UTC")), "UTC")


def _dateparser(text: str, local_now: datetime, tz: str) -> _Found | None:
    """Ask dateparser (``languages=['en']``, future dates preferred, relative to the naive local
    ``now``). Keeps answers that name a day (with or without a time); refuses vaguer ones."""
    parser = _parser()
    settings = parser._settings.replace(RELATIVE_BASE=local_now.replace(tzinfo=None), TIMEZONE=tz)
    try:
        with _parser_lock:
            # The RELATIVE_BASE and TIMEZONE change per call, the parser (and its loaded
            # locale data) stays; dateparser's own search_dates swaps settings the same way.
            parser._settings = settings
            data = parser.get_date_data(text)
    except Exception:  # dateparser raises assorted errors on odd input: treat as unreadable
        return None
    value = data.date_obj
    if value is None or data.period not in {"day", "week", "time", "part_of_day"}:
        return None
    parts: tuple[str, ...] | None = getattr(data, "parts", None)
    if parts is not None and not {"month", "day"} <= set(parts):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(local_now.tzinfo)
    has_time = data.period in {"time", "part_of_day"} or (parts is not None and "time" in parts)
    return _Found(
        day=value.date(),
        clock=value.time().replace(tzinfo=None) if has_time else None,
        yearless=parts is not None and "year" not in parts,
    )


def _zone_of(local_now: datetime) -> ZoneInfo:
    zone = local_now.tzinfo
    if not isinstance(zone, ZoneInfo):  # pragma: no cover - parse_date always passes one
        raise TypeError("local_now must carry a ZoneInfo")
    return zone


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant of the wall time ``day clock`` in ``zone`` (DST-correct)."""
    return datetime.combine(day, clock, tzinfo=zone)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _clock(match: re.Match[str]) -> time | None:
    """The time a ``_TIME`` match stands for, or None when it is not a valid time."""
    if match["word"] is not None:
        return time(12, 0) if match["word"] in {"noon", "midday"} else DEFAULT_TIME
    if match["h12"] is not None:
        hour, minute = int(match["h12"]), int(match["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "p" else 0)
        return time(hour, minute)
    hour, minute = int(match["h24"]), int(match["m24"])
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _own_rules(text: str, local_now: datetime, clock: time | None) -> _Found | None:
    """The phrases dateparser gets wrong or does not know (notes §5), by fixed rules."""
    zone = _zone_of(local_now)
    today = local_now.date()
    at = clock or DEFAULT_TIME

    if text == "today":
        return _Found(today)
    if text in {"tomorrow", "tmrw", "tmr", "tomorow"}:
        return _Found(today + timedelta(days=1))
    if (match := _WEEKDAY.fullmatch(text)) is not None:
        # Today's weekday is today while its moment (the time given, else 17:00) is ahead.
        ahead = (_WEEKDAY_NAMES[match["wd"]] - today.weekday()) % 7
        if ahead == 0 and _at(today, at, zone) < local_now:
            ahead = 7
        return _Found(today + timedelta(days=ahead))
    if text == "next week":
        return _Found(today + timedelta(days=7 - today.weekday()))
    if text in {"eow", "end of week", "end of the week", "end of this week", "this week"}:
        friday = today + timedelta(days=4 - today.weekday())
        if _at(friday, at, zone) < local_now:
            friday += timedelta(days=7)
        return _Found(friday)
    if text in {"end of next week", "end of the next week"}:
        return _Found(today + timedelta(days=11 - today.weekday()))
    if text in {"eom", "end of month", "end of the month", "end of this month"}:
        last = _month_end(today)
        if _at(last, at, zone) < local_now:
            last = _month_end(_add_months(today.replace(day=1), 1))
        return _Found(last)
    if text in {"end of next month", "end of the next month"}:
        return _Found(_month_end(_add_months(today.replace(day=1), 1)))
    if (match := _RELATIVE.fullmatch(text)) is not None:
        n = _NUMBER_WORDS[match["word"]] if match["word"] is not None else int(match["n"])
        unit = match["unit"]
        if unit.startswith(("min", "hour", "hr")):
            step = timedelta(minutes=n) if unit.startswith("min") else timedelta(hours=n)
            # elapsed time: add in UTC (aware arithmetic in one zone is wall-clock arithmetic)
            exact = (local_now.astimezone(UTC) + step).astimezone(zone)
            return _Found(exact.date(), exact=exact)
        if unit.startswith("day"):
            return _Found(today + timedelta(days=n))
        if unit.startswith(("week", "wk")):
            return _Found(today + timedelta(weeks=n))
        if unit.startswith("month"):
            return _Found(_add_months(today, n))
        return _Found(_add_months(today, 12 * n))
    if (match := _ISO_DATE.fullmatch(text)) is not None:
        return _Found(date(int(match["y"]), int(match["m"]), int(match["d"])))
    if (match := _MONTH_DAY.fullmatch(text)) is not None:
        return _month_day(match, today)
    return None


def _month_day(match: re.Match[str], today: date) -> _Found | None:
    month = _MONTH_NUMBERS[match["m1"] or match["m2"]]
    day = int((match["d1"] or match["d2"]).rstrip("stndrh"))
    if match["y"] is not None:
        try:
            return _Found(date(int(match["y"]), month, day))
        except ValueError:
            return None
    # No year: this year's, moved on to the first year that has it (Feb 29) and then, by
    # _finish, to the first one not in the past.
    for year in range(today.year, today.year + 9):
        try:
            return _Found(date(year, month, day), yearless=True)
        except ValueError:
            continue
    return None


def _day(text: str, local_now: datetime, tz: str, clock: time | None) -> _Found | None:
    found = _own_rules(text, local_now, clock)
    if found is None and _LETTER.search(text):
        found = _dateparser(text, local_now, tz)
    return found


def _finish(found: _Found, local_now: datetime, clock: time | None) -> datetime | None:
    zone = _zone_of(local_now)
    if found.exact is not None:  # "in 3 hours 5pm" says two different things: refuse
        return None if clock is not None else found.exact
    at = clock or found.clock or DEFAULT_TIME
    result = _at(found.day, at, zone)
    if found.yearless:
        for year in range(local_now.year, local_now.year + 9):  # Feb 29 needs up to 8 years
            try:
                candidate = _at(found.day.replace(year=year), at, zone)
            except ValueError:
                continue
            if candidate >= local_now:
                return candidate
    return result


def _resolve(text: str, local_now: datetime, tz: str) -> datetime | None:
    zone = _zone_of(local_now)

    if _EOD.fullmatch(text):
        eod = _at(local_now.date(), DEFAULT_TIME, zone)
        return eod if eod >= local_now else _at(eod.date() + timedelta(days=1), DEFAULT_TIME, zone)

    if (match := _TIME_ONLY.fullmatch(text)) is not None:
        only = _clock(match)
        return None if only is None else _at(local_now.date(), only, zone)

    if (match := _ISO_DATETIME.fullmatch(text)) is not None:
        offset = match["off"]
        explicit: ZoneInfo | timezone = zone
        if offset == "z":
            explicit = UTC
        elif offset is not None:
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            explicit = timezone(delta if offset[0] == "+" else -delta)
        return datetime(
            int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"] or 0),
            tzinfo=explicit,
        )

    for pattern in (_TIME_AFTER, _TIME_BEFORE):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        clock = _clock(match)
        if clock is None:
            continue
        found = _day(match["date"].strip(), local_now, tz, clock)
        if found is not None:
            return _finish(found, local_now, clock)

    found = _day(text, local_now, tz, None)  # also "5pm PST", which the split could not use
    return None if found is None else _finish(found, local_now, None)


#: Anything written like a time of day: ``3pm``, ``13pm``, ``25:00``, ``9.30am``. Each match is
#: checked with :func:`_clock`; one that is not a real time refuses the whole phrase, rather
#: than being dropped and the day read at 17:00.
_TIME_LIKE = re.compile(
    r"(?<![\w:.])(?:(?P<h12>\d{1,2})(?::(?P<m12>\d{1,2}))?\s*(?P<ampm>[ap])\.?m\.?(?![a-z])"
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{1,2}))(?P<word>)(?![\d:])",
    _A,
)
_CLOCK_FORMS = (
    "a time from `00:00` to `23:59` or from `1am` to `12pm`, e.g. `friday 15:30` or `friday 3:30pm`"
)


def _refuse_impossible_time(text: str, shown: str) -> None:
    """Refuse ``tomorrow 24:00``, ``13pm``, ``friday 9:75``: a time of day that does not exist."""
    for match in _TIME_LIKE.finditer(text):
        minute = match["m12"] if match["h12"] is not None else match["m24"]
        if (minute is not None and len(minute) != 2) or _clock_of(match) is None:
            raise UsageError(
                f"`{_shown(match.group(0))}` in `{shown}` is not a time of day: write "
                f"{_CLOCK_FORMS}."
            )


def _clock_of(match: re.Match[str]) -> time | None:
    """:func:`_clock` for a :data:`_TIME_LIKE` match (its ``word`` group is always empty)."""
    if match["h12"] is not None:
        hour, minute = int(match["h12"]), int(match["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return time(hour % 12 + (12 if match["ampm"] == "p" else 0), minute)
    hour, minute = int(match["h24"]), int(match["m24"])
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _shown(text: str) -> str:
    """User text as it can sit inside a `code` span: no backticks, at most 64 characters."""
    cleaned = " ".join(text.split()).replace("`", "'")
    return cleaned if len(cleaned) <= MAX_DATE_LENGTH else cleaned[: MAX_DATE_LENGTH - 1] + "…"


def _unreadable(shown: str) -> UsageError:
    if not shown:
        return UsageError(f"I need a date. {_TRY}")
    return UsageError(f"I couldn't read `{shown}` as a date. {_TRY}")


def _readings(match: re.Match[str], local_now: datetime) -> list[tuple[date, bool]]:
    """Valid (date, has_year) readings of a numeric day/month form: month-first and
    day-first, the usual one for the separator first (``.`` is day-first)."""
    a, b = int(match["a"]), int(match["b"])
    raw_year = match["year"]
    year = None if raw_year is None else int(raw_year) + (2000 if len(raw_year) == 2 else 0)
    orders = [(b, a), (a, b)] if match["sep"] == "." else [(a, b), (b, a)]
    readings: list[tuple[date, bool]] = []
    for month, day in orders:
        found: date | None = None
        if year is not None:
            try:
                found = date(year, month, day)
            except ValueError:
                found = None
        else:
            for candidate_year in range(local_now.year, local_now.year + 9):
                try:
                    candidate = date(candidate_year, month, day)
                except ValueError:
                    continue
                if candidate >= local_now.date():
                    found = candidate
                    break
        if found is not None and all(found != seen for seen, _ in readings):
            readings.append((found, year is not None))
    return readings


def _refuse_ambiguous(text: str, local_now: datetime) -> None:
    for match in _NUMERIC_DM.finditer(text):
        readings = _readings(match, local_now)
        if not readings:
            continue
        ahead = [reading for reading in readings if reading[0] >= local_now.date()]
        readings = ahead or readings  # `05/12/2026` in November: only Dec 5 is worth showing
        options = [
            f"`{_MONTHS[d.month - 1]} {d.day}{f' {d.year}' if has_year else ''}`"
            f" or `{d.isoformat()}`"
            for d, has_year in readings
        ]
        raise UsageError(f"`{_shown(match.group(0))}` is ambiguous: write {', or '.join(options)}.")


def parse_date(text: str, now: datetime, tz: str) -> datetime:
    """Read a due/review/decide-by date typed by a user; see the module docstring for the rules.

    ``now`` is an aware datetime (any zone; used as UTC), ``tz`` an IANA name (UsageError when
    unknown). Returns an aware UTC datetime that is not before ``now``. Raises UsageError for
    ambiguous, unreadable, too long or past input, with a message that says what to write.
    """
    _require_aware(now, "now")
    zone = _zone(tz)
    now_utc = now.astimezone(UTC)
    local_now = now_utc.astimezone(zone)
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_DATE_LENGTH:
        raise UsageError(
            f"That date is too long ({len(cleaned)} characters, {MAX_DATE_LENGTH} at most). {_TRY}"
        )
    shown = _shown(cleaned)
    lowered = cleaned.lower()
    _refuse_ambiguous(lowered, local_now)
    phrase = _PREFIX.sub("", lowered).rstrip(".!?,;: ").strip()
    if not phrase:
        raise _unreadable(shown)
    _refuse_impossible_time(phrase, shown)
    try:
        result = _resolve(phrase, local_now, zone.key)
        result_utc = None if result is None else result.astimezone(UTC)
    except (ValueError, OverflowError):  # out-of-range dates ("in 9999 years", "2026-13-01")
        result_utc = None
    if result_utc is None:
        raise _unreadable(shown)
    if result_utc < now_utc:
        raise UsageError(
            f"`{shown}` is in the past ({format_datetime(result_utc, zone.key, now_utc)}). "
            f"Give a date from today on, e.g. {DATE_FORMS}."
        )
    return result_utc
