"""Days off: a channel's work week, its public holidays (a ``holidays`` calendar) and the
further days it takes off. Scheduled standups, reminders, nudges and digests do not fire on
them; each such run is recorded as skipped with the reason :func:`reason` gives.

The check is made when a run fires, not when its schedule is set or claimed, so a change of
the work week or the holidays counts for every run still to come.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta

from bot.domain.model import WEEKDAYS, ChannelSettings, Run, RunKind
from bot.domain.schedules import describe_days
from bot.errors import UsageError
from bot.ports import Timetable
from bot.services.items import Context, require_lead, update_settings

#: How far ahead ``/raid settings holidays list`` looks for public holidays.
LOOK_AHEAD = timedelta(days=92)
#: Extra days off a channel keeps at most.
MAX_DAYS_OFF = 100


def reason(settings: ChannelSettings, day: date, timetable: Timetable) -> str | None:
    """Why ``day`` (local to the channel) is a day off, or None on a working day."""
    weekday = WEEKDAYS[day.weekday()]
    if weekday not in settings.work_days:
        week = describe_days(settings.work_days)
        return f"outside the work week ({week})"
    if day.isoformat() in settings.days_off:
        return "a day off of this channel"
    if settings.holidays:
        name = timetable.holiday(settings.holidays, day)
        if name:
            return f"public holiday: {name} ({settings.holidays})"
    return None


def checker(ctx: Context) -> Callable[[date], str | None]:
    """:func:`reason` for the channel of ``ctx``: why a local day is a day off, or None."""
    return lambda day: reason(ctx.settings, day, ctx.timetable)


def checked_at_fire_time(run: Run) -> bool:
    """Whether a run is skipped on a day off: scheduled standups (not ``/standup now``, nor
    the DMs and the closing of a standup that did open), reminders, nudges and digests."""
    if run.kind is RunKind.STANDUP_OPEN:
        # standup_prepare: a "dm local" standup opened ahead of its time (members' own time)
        scheduled = run.key.startswith((f"{RunKind.STANDUP_OPEN.value}:", "standup_prepare:"))
        return scheduled and "person" not in run.payload
    return run.kind in (RunKind.STANDUP_REMIND, RunKind.NUDGE, RunKind.DIGEST)


@dataclasses.dataclass(frozen=True)
class Holidays:
    """What ``/raid settings holidays list`` shows."""

    region: str | None
    #: (day, name) of the region's public holidays ahead
    upcoming: list[tuple[date, str]]
    #: the further days off ahead (ISO)
    days_off: tuple[str, ...]
    work_days: tuple[str, ...]


def upcoming(ctx: Context, today: date) -> Holidays:
    s = ctx.settings
    found: list[tuple[date, str]] = []
    if s.holidays:
        day = today
        while day <= today + LOOK_AHEAD:
            name = ctx.timetable.holiday(s.holidays, day)
            if name:
                found.append((day, name))
            day += timedelta(days=1)
    ahead = tuple(d for d in s.days_off if d >= today.isoformat())
    return Holidays(s.holidays, found, ahead, s.work_days)


async def set_region(ctx: Context, text: str | None) -> ChannelSettings:
    """Keep the public holidays of ``text`` (validated), or none (None)."""
    require_lead(ctx, "change the channel's holidays")
    region = ctx.timetable.check_region(text) if text else None
    return await update_settings(ctx, holidays=region)


async def add_day(ctx: Context, day: date) -> ChannelSettings:
    require_lead(ctx, "add a day off")
    days = sorted({*ctx.settings.days_off, day.isoformat()})
    if len(days) > MAX_DAYS_OFF:
        raise UsageError(
            f"A channel keeps at most {MAX_DAYS_OFF} extra days off; remove past ones first "
            "(`/raid settings holidays remove <date>`)."
        )
    return await update_settings(ctx, days_off=tuple(days))


async def remove_day(ctx: Context, day: date) -> bool:
    """False when ``day`` was not a day off."""
    require_lead(ctx, "remove a day off")
    if day.isoformat() not in ctx.settings.days_off:
        return False
    days = tuple(d for d in ctx.settings.days_off if d != day.isoformat())
    await update_settings(ctx, days_off=days)
    return True


async def set_work_week(ctx: Context, days: tuple[str, ...]) -> ChannelSettings:
    require_lead(ctx, "change the work week")
    return await update_settings(ctx, work_days=days)
