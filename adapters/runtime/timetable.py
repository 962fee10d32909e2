"""The core's :class:`bot.ports.Timetable`: APScheduler 3's ``CronTrigger`` for the next run of
a rule, the ``holidays`` package (offline data) for public holidays.

Only the triggers are used: no APScheduler scheduler or job store. Schedules stay rows, and
the run ledger's unique keys and the claims keep every occurrence exactly once
(docs: ``/work/shared/notes/scheduling-and-storage.md`` §2, §4).

- Weekdays are passed by name (``mon,wed``): 3.x numbers them from Monday, cron from Sunday.
- ``get_next_fire_time(None, t)`` includes ``t``, so a rule's next run after ``after`` is
  asked for at ``after + 1 µs``.
- A local time that does not exist (02:30 on a spring-forward day) comes back as a wall time
  inside the gap; read in UTC it is the shifted instant (03:30 local), which is what runs.
- A local time that happens twice (fall back) comes back twice, the second with ``fold=1``;
  the second is passed over, so it runs once.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.domain.schedules import Recurrence, clock, first_of_repeated
from bot.errors import UsageError

if TYPE_CHECKING:
    import holidays

__all__ = ["CronTimetable"]

_ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "last": "last"}
#: Fire times looked at for one next run: every-other-week and fall-back skips need a few.
_MAX_STEPS = 64
_EXAMPLES = "`DE-BY` (Bavaria), `US`, `IN-KA` (Karnataka) or `GB-SCT`"
_MICROSECOND = timedelta(microseconds=1)


@lru_cache(maxsize=4096)
def _trigger(rule: Recurrence) -> CronTrigger:
    at = clock(rule.at)
    zone = ZoneInfo(rule.timezone)
    if rule.month_day is not None:
        return CronTrigger(day=rule.month_day, hour=at.hour, minute=at.minute, timezone=zone)
    if rule.nth is not None:
        day = f"{_ORDINALS[rule.nth]} {rule.days[0]}"
        return CronTrigger(day=day, hour=at.hour, minute=at.minute, timezone=zone)
    days = ",".join(rule.days)
    return CronTrigger(day_of_week=days, hour=at.hour, minute=at.minute, timezone=zone)


class CronTimetable:
    """``bot.ports.Timetable`` on APScheduler's ``CronTrigger`` and the ``holidays`` data."""

    def __init__(self) -> None:
        self._years: dict[tuple[str, int], holidays.HolidayBase] = {}
        self._lock = threading.Lock()

    def next_run(self, rule: Recurrence, after: datetime) -> datetime:
        if not rule.days and rule.month_day is None:
            raise ValueError("a schedule needs at least one day")
        trigger = _trigger(rule)
        zone = ZoneInfo(rule.timezone)
        moment = after.astimezone(UTC)
        for _ in range(_MAX_STEPS):
            fire = trigger.get_next_fire_time(None, moment + _MICROSECOND)
            if fire is None:  # pragma: no cover - a cron rule without end always fires again
                break
            moment = fire.astimezone(UTC)
            assert isinstance(moment, datetime)  # noqa: S101 - APScheduler is untyped
            if not first_of_repeated(moment, rule.timezone):
                continue
            if not rule.in_cycle(moment.astimezone(zone).date()):
                continue
            return moment
        raise ValueError(f"{rule} has no run after {after.isoformat()}")

    # --- holidays ----------------------------------------------------------------------

    def holiday(self, region: str, day: date) -> str | None:
        calendar = self._year(region, day.year)
        name = calendar.get(day)
        return str(name) if name else None

    def _year(self, region: str, year: int) -> holidays.HolidayBase:
        import holidays  # here: only a channel with a holiday calendar needs its data

        key = (region, year)
        with self._lock:
            found = self._years.get(key)
            if found is None:
                country, _, subdivision = region.partition("-")
                found = holidays.country_holidays(
                    country, subdiv=subdivision or None, years=year, language="en_US"
                )
                self._years[key] = found
            return found

    def check_region(self, text: str) -> str:
        import holidays  # here: only a channel with a holiday calendar needs its data

        code = text.strip().upper().replace("_", "-")
        country, _, subdivision = code.partition("-")
        supported = holidays.list_supported_countries()
        if country not in supported:
            raise UsageError(
                f"`{text.strip()}` is not a holiday calendar raidline knows. Give a country code "
                f"(ISO 3166, two letters), with its region where holidays differ by region: "
                f"{_EXAMPLES}."
            )
        regions = [str(r).upper() for r in supported[country]]
        if subdivision and subdivision not in regions:
            shown = ", ".join(f"`{country}-{r}`" for r in regions[:40])
            more = f" and {len(regions) - 40} more" if len(regions) > 40 else ""
            raise UsageError(
                f"`{subdivision}` is not a region of {country} in the holiday data. "
                + (f"Its regions: {shown}{more}; or just `{country}`." if regions else "")
                + ("" if regions else f"{country} has no regions: write `{country}`.")
            )
        if subdivision:
            subdivision = str(supported[country][regions.index(subdivision)])
            return f"{country}-{subdivision}"
        return country
