"""Stakeholder updates: which events a channel's stakeholders hear of, and when.

A channel's stakeholders (``ChannelSettings.stakeholders``, set by ``/raid stakeholders``)
each get some levels, by direct message:

- ``weekly``: the channel's weekly digest (the digest schedule with one day a week), a copy of
  what the channel got, once it was posted;
- ``decisions``: a decision is needed (logged pending, or pending again) and one is taken;
- ``escalations``: a risk occurred, a blocker is more than ``escalate_after_days`` working
  days overdue, a milestone turns at risk or misses its date (its derived health,
  :func:`bot.domain.plan.milestone_health`).

Every notification is one run of the run ledger (``RunKind.STAKEHOLDER``) with a unique key
per event and person, so it is sent exactly once across replicas and restarts. Runs of item
events are added in the transaction of the change itself (a change rolled back tells nobody);
the escalation sweep (overdue blockers, milestones at risk) and the weekly copy insert keys
that any replica may insert again, which does nothing.

On a stakeholder's day off (a day off of the channel: its work week, public holidays and
extra days off; or a day they are away, ``/standup away``) the notification is held, not
dropped: :func:`due` raises :class:`Held` with the start of their next working day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import plan
from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelSettings,
    Item,
    Kind,
    Run,
    RunKind,
    ScheduleKind,
    Status,
)
from bot.domain.schedules import local_date
from bot.ports import UnitOfWork

#: The events, each with the level that hears of it.
LEVEL_OF = {
    "decision_needed": "decisions",
    "decision_taken": "decisions",
    "risk_occurred": "escalations",
    "blocker_overdue": "escalations",
    "milestone_at_risk": "escalations",
    "milestone_missed": "escalations",
    "weekly_digest": "weekly",
}
#: How far ahead a held notification looks for its person's next working day.
LOOK_AHEAD_DAYS = 366
#: The run ledger's key column holds 200 characters.
_MAX_KEY = 200

#: Why a local day is a day off of a channel, or None (``days_off.reason`` on a timetable).
DayOffReason = Callable[[ChannelSettings, date], str | None]
#: A stored time zone name -> the zone to use (the channel's, or the default).
ZoneOf = Callable[[str | None], str]


class Held(Exception):
    """The notification falls on its person's day off: send it at ``until`` instead."""

    def __init__(self, until: datetime, why: str) -> None:
        super().__init__(f"held until {until.isoformat()}: {why}")
        self.until = until
        self.why = why


@dataclass(frozen=True)
class Notice:
    """One notification to one stakeholder, as :func:`due` found it due."""

    person: str
    event: str
    #: what the event was about, as it was then (ref, title, who, dates in ISO...)
    facts: Mapping[str, Any]
    timezone: str
    #: the weekly digest: the run whose message the channel got
    digest_run: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def people_at(settings: ChannelSettings, level: str) -> list[str]:
    """The channel's stakeholders who get ``level``, in the order they were added."""
    return [person for person, levels in settings.stakeholders.items() if level in levels]


def run_key(event: str, subject: str, person: str) -> str:
    """``stakeholder:<event>:<subject>:<person>``; a long person id is hashed to fit."""
    key = f"stakeholder:{event}:{subject}:{person}"
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(person.encode()).hexdigest()[:32]
    return f"stakeholder:{event}:{subject}:#{digest}"[:_MAX_KEY]


def _runs(
    settings: ChannelSettings,
    event: str,
    subject: str,
    facts: Mapping[str, Any],
    now: datetime,
) -> list[Run]:
    return [
        Run(
            key=run_key(event, subject, person),
            kind=RunKind.STAKEHOLDER,
            channel=settings.channel,
            due_at=now,
            payload={"person": person, "event": event, "facts": dict(facts)},
            created_at=now,
        )
        for person in people_at(settings, LEVEL_OF[event])
    ]


def _facts(item: Item, actor: str, note: str | None = None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "ref": str(item.ref),
        "title": item.title,
        "by": actor,
        "owner": item.owner,
        "due": item.due_at.isoformat() if item.due_at else None,
    }
    if item.kind is Kind.DECISION:
        facts.update(outcome=item.outcome, rationale=item.rationale)
    if item.kind is Kind.RISK:
        facts.update(linked=item.linked_ref, note=note or item.resolution)
    return {k: v for k, v in facts.items() if v is not None}


def events_of(before: Item | None, after: Item) -> list[str]:
    """The stakeholder events a change of an item (``before`` None: its creation) is."""
    was = before.status if before is not None else None
    if was == after.status:
        return []
    if after.kind is Kind.DECISION and after.status is Status.PENDING:
        return ["decision_needed"]
    if after.kind is Kind.DECISION and after.status is Status.DECIDED:
        return ["decision_taken"]
    if after.kind is Kind.RISK and after.status is Status.OCCURRED:
        return ["risk_occurred"]
    return []


async def item_changed(
    uow: UnitOfWork,
    settings: ChannelSettings,
    before: Item | None,
    after: Item,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> int:
    """Queue the notifications a change of an item makes, in the change's transaction; how
    many. Each event is the change itself: its key carries the item and the moment."""
    if not settings.stakeholders:
        return 0
    runs: list[Run] = []
    for event in events_of(before, after):
        subject = f"{after.stored_id}:{now.strftime('%Y%m%dT%H%M%S.%f')}"
        runs += _runs(settings, event, subject, _facts(after, actor, note), now)
    if not runs:
        return 0
    return len(await uow.schedules.add_runs(runs))


def is_weekly(days: Sequence[str], kind: ScheduleKind) -> bool:
    """The channel's weekly digest: a digest schedule on one day of the week (it carries the
    chart), whichever week or month rule it keeps."""
    return kind is ScheduleKind.DIGEST and len(days) == 1


async def digest_posted(uow: UnitOfWork, digest: Run, at: datetime) -> int:
    """The channel's weekly digest was posted: a copy for each ``weekly`` stakeholder."""
    settings = await uow.channels.get_settings(digest.channel)
    if not people_at(settings, "weekly"):
        return 0
    schedule_id = digest.payload.get("schedule_id")
    schedule = await uow.schedules.get_by_id(int(schedule_id)) if schedule_id else None
    if schedule is None or not is_weekly(schedule.days, schedule.kind):
        return 0
    facts = {"digest_run": digest.stored_id, "local_date": digest.payload.get("local_date")}
    runs = _runs(settings, "weekly_digest", str(digest.stored_id), facts, at)
    return len(await uow.schedules.add_runs(runs))


#: A milestone's health -> the escalation it makes.
_MILESTONE_EVENTS = {
    plan.Health.AT_RISK: "milestone_at_risk",
    plan.Health.MISSED: "milestone_missed",
}


async def sweep_escalations(
    uow: UnitOfWork, now: datetime, zone_of: ZoneOf, off: DayOffReason
) -> int:
    """Queue the escalations the channels' state makes now; how many were new:

    - every open blocker more than its channel's ``escalate_after_days`` working days
      overdue, once per blocker and due date;
    - every milestone at risk, or missed, once per milestone, health and date (a milestone
      whose date moves and that turns at risk again is escalated again).

    Closed projects are left alone."""
    runs: list[Run] = []
    for settings in await uow.channels.with_stakeholders():
        if not people_at(settings, "escalations") or settings.closed_at is not None:
            continue
        tz = zone_of(settings.timezone)
        today = date.fromisoformat(local_date(now, tz))
        day_off = _day_off_of(settings, off)
        active = await uow.items.list(settings.channel, statuses=ACTIVE_STATUSES)
        for item in active:
            if item.kind is not Kind.BLOCKER or item.status is not Status.OPEN or not item.due_at:
                continue
            due = date.fromisoformat(local_date(item.due_at, tz))
            late = plan.working_days_until(due, today, day_off, cap=settings.escalate_after_days)
            if late <= settings.escalate_after_days:
                continue
            facts = {**_facts(item, item.reporter), "days": late}
            subject = f"{item.stored_id}:{due.isoformat()}"
            runs += _runs(settings, "blocker_overdue", subject, facts, now)
        by_ref = {str(i.ref): i for i in active if i.kind is Kind.MILESTONE}
        for ref, report in plan.healths(active, now, tz, day_off).items():
            event = _MILESTONE_EVENTS.get(report.health)
            milestone = by_ref.get(ref)
            if event is None or milestone is None:
                continue
            dated = local_date(milestone.due_at, tz) if milestone.due_at else "undated"
            facts = {**_facts(milestone, milestone.reporter), "why": "; ".join(report.reasons)}
            runs += _runs(settings, event, f"{milestone.stored_id}:{dated}", facts, now)
    if not runs:
        return 0
    return len(await uow.schedules.add_runs(runs))


def _day_off_of(settings: ChannelSettings, off: DayOffReason) -> Callable[[date], str | None]:
    return lambda day: off(settings, day)


async def away_until(uow: UnitOfWork, settings: ChannelSettings, person: str) -> str | None:
    """The last day ``person`` is away (``/standup away``, any standup of the channel)."""
    days = [
        s.away[person]
        for s in await uow.schedules.of_channel(settings.channel)
        if s.kind is ScheduleKind.STANDUP and person in s.away
    ]
    return max(days, default=None)


async def due(
    uow: UnitOfWork, run: Run, now: datetime, zone_of: ZoneOf, off: DayOffReason
) -> Notice | None:
    """The notification ``run`` sends now; None when its person no longer gets its level.
    Raises :class:`Held` on the person's day off, with the start of their next working
    day (the channel's work start, in its time zone)."""
    person = str(run.payload["person"])
    event = str(run.payload["event"])
    settings = await uow.channels.get_settings(run.channel)
    if LEVEL_OF.get(event) not in settings.stakeholders.get(person, ()):
        return None
    tz = zone_of(settings.timezone)
    today = date.fromisoformat(local_date(now, tz))
    away = await away_until(uow, settings, person)
    day, why = today, None
    while (day - today).days <= LOOK_AHEAD_DAYS:
        reason = off(settings, day)
        if reason is None and away is not None and day.isoformat() <= away:
            reason = f"away until {away}"
        if reason is None:
            break
        why = why or reason
        day += timedelta(days=1)
    if day != today:
        start = time.fromisoformat(settings.work_start)
        until = datetime.combine(day, start, ZoneInfo(tz)).astimezone(UTC)
        raise Held(until, why or "a day off")
    facts = dict(run.payload.get("facts") or {})
    digest_run = facts.get("digest_run")
    return Notice(
        person=person,
        event=event,
        facts=facts,
        timezone=tz,
        digest_run=int(digest_run) if digest_run is not None else None,
    )
