"""Nudges: who is reminded of what, and when (SPEC §4). ``bot.views.nudges`` words them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.model import ChannelSettings, Item, Kind, Run, Status
from bot.domain.schedules import working_days_between
from bot.ports import Timetable, UnitOfWork
from bot.services import days_off
from bot.services.items import read_baselines

#: A blocker with no owner for this long is raised with the channel.
UNOWNED_AFTER = timedelta(days=1)
#: Change requests waiting more than this many working days for an answer.
APPROVAL_WORKING_DAYS = 2
#: From this many unanswered nudges on, the next one also mentions the leads.
ESCALATE_AFTER = 3


class Reason(StrEnum):
    """Why an item deserves a nudge."""

    OVERDUE = "overdue"  # a blocker with an owner, past its date
    UNOWNED = "unowned"  # a blocker nobody took for UNOWNED_AFTER
    DECISION_LATE = "decision_late"  # a pending decision past its decide-by date
    APPROVAL_WAITING = "approval_waiting"  # a change request waiting for a yes or no
    REVIEW_DUE = "review_due"  # a risk past its review date


def reason(
    item: Item, settings: ChannelSettings, tz: str, now: datetime, timetable: Timetable
) -> Reason | None:
    """Why ``item`` deserves a nudge now, or None. Level-triggered: no memory of the past.
    ``timetable`` knows the public holidays: a change request's working days are the
    channel's (its work week, less its public holidays and further days off)."""
    if not item.active or (item.snoozed_until and item.snoozed_until > now):
        return None
    if item.kind is Kind.BLOCKER:
        if item.owner and item.due_at and item.due_at < now:
            return Reason.OVERDUE
        if not item.owner and now - item.created_at >= UNOWNED_AFTER:
            return Reason.UNOWNED
    elif item.kind is Kind.DECISION:
        if item.status is Status.PENDING and item.due_at and item.due_at < now:
            return Reason.DECISION_LATE
    elif item.kind is Kind.CHANGE:
        if item.status is Status.PROPOSED and _waited_too_long(item, settings, tz, now, timetable):
            return Reason.APPROVAL_WAITING
    elif item.kind is Kind.RISK and item.due_at and item.due_at < now:
        return Reason.REVIEW_DUE
    return None


def _waited_too_long(
    item: Item, settings: ChannelSettings, tz: str, now: datetime, timetable: Timetable
) -> bool:
    """More than :data:`APPROVAL_WORKING_DAYS` of the channel's working days since it was
    proposed: a change proposed on Thursday before a public holiday Friday has waited two
    working days on Tuesday at the hour it was proposed, not on Monday."""

    def working(day: date) -> bool:
        return days_off.reason(settings, day, timetable) is None

    days = working_days_between(item.created_at, now, tz, working)
    if days != APPROVAL_WORKING_DAYS:
        return days > APPROVAL_WORKING_DAYS
    zone = ZoneInfo(tz)
    return now.astimezone(zone).time() > item.created_at.astimezone(zone).time()


@dataclass(frozen=True)
class Nudge:
    """An item that deserves a reminder now, why (see :func:`reason`), and where it is."""

    item: Item
    why: Reason
    settings: ChannelSettings
    timezone: str
    #: the first date an overdue blocker was given, once its date has moved (else None)
    baseline: datetime | None = None


async def due(
    uow: UnitOfWork,
    run: Run,
    now: datetime,
    zone: Callable[[str | None], str],
    timetable: Timetable,
) -> Nudge | None:
    """The nudge of a ``nudge`` run if the item still deserves it; None when nudges are off
    or the item was resolved, re-dated or snoozed since the sweep. Counts nothing:
    :func:`delivered` does, once the nudge is out. ``zone`` turns the channel's time zone
    setting into the zone to use; ``timetable`` knows the public holidays."""
    # Locked: a resolve at the same moment either comes first (then no nudge) or waits.
    kind, number = Kind(run.payload["kind"]), int(run.payload["number"])
    item = await uow.items.get(run.channel, kind, number, lock=True)
    settings = await uow.channels.get_settings(run.channel)
    tz = zone(settings.timezone)
    if item is None or not settings.nudges_enabled:
        return None
    why = reason(item, settings, tz, now, timetable)
    if why is None:  # resolved, re-dated or snoozed since the sweep
        return None
    baseline = None
    if why is Reason.OVERDUE and item.date_moves:
        baseline = (await read_baselines(uow, [item])).get(item.stored_id)
    return Nudge(item, why, settings, tz, baseline)


async def delivered(uow: UnitOfWork, run: Run, at: datetime) -> None:
    """The nudge of ``run`` was sent at ``at``: one more nudge about its item, however many
    attempts it took."""
    kind, number = Kind(run.payload["kind"]), int(run.payload["number"])
    item = await uow.items.get(run.channel, kind, number, lock=True)
    # Closed while the nudge was on its way: it was sent, but the change answered it, so it
    # is not counted (a count left on a resolved item would come back if it were reopened).
    if item is not None:
        await uow.items.record_nudge(item.stored_id, at, counted=item.active)
