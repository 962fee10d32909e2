"""Standups: opening, answering, reminding and summing up (SPEC §4).

The use cases return what happened (a standup, who is pending, what the answers name);
``bot.views.standups`` words it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain import limits
from bot.domain.limits import MAX_TITLE_CHARS
from bot.domain.model import (
    LOCAL_LEAD,
    REMINDERS,
    ChannelKey,
    Item,
    Kind,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
    Standup,
    StandupAnswer,
)
from bot.domain.schedules import local_at
from bot.errors import Conflict, NotFound, UsageError
from bot.ports import UnitOfWork
from bot.services import items as svc
from bot.services.items import Context

#: Answers that mean "nothing to report".
_NOTHING = re.compile(r"^(none|nothing|no|nope|n/?a|-+|nil|no blockers?|nothing new)\.?$", re.I)
#: The longest answer to one question.
MAX_ANSWER_CHARS = limits.MAX_ANSWER_CHARS


def away_on(schedule: Schedule, day: str) -> tuple[str, ...]:
    """Members away on the local date ``day`` (ISO): their ``until`` is that day or later."""
    return tuple(p for p, until in schedule.away.items() if until >= day)


def pending_members(standup: Standup, answers: list[StandupAnswer]) -> list[str]:
    """Members who owe an answer: not answered, not away, not optional."""
    answered = {a.person for a in answers}
    return [
        p
        for p in standup.members
        if p not in answered and p not in standup.away and p not in standup.optional
    ]


@dataclass(frozen=True)
class Finding:
    """A blocker or needed decision named in an answer, not tracked unless someone asks."""

    kind: Kind
    text: str
    person: str
    #: question number * 100 + line number: which line of which answer
    index: int


def findings(standup: Standup, answers: list[StandupAnswer]) -> list[Finding]:
    """Each blocker or needed decision named in the answers."""
    found: list[Finding] = []
    for q, question in enumerate(standup.questions):
        lowered = question.lower()
        if "block" in lowered:
            kind = Kind.BLOCKER
        elif "decision" in lowered or "decide" in lowered:
            kind = Kind.DECISION
        else:
            continue
        for answer in answers:
            text = answer.answers[q] if q < len(answer.answers) else ""
            for n, line in enumerate(text.splitlines()):
                line = line.strip(" -*•\t")
                if line and not _NOTHING.match(line):
                    found.append(Finding(kind, line, answer.person, q * 100 + n))
    return found


@dataclass(frozen=True)
class Summary:
    """A standup as it closed: who answered, who did not, who was away, what was named."""

    standup: Standup
    answers: list[StandupAnswer]
    answered: list[str]
    missing: list[str]
    away: list[str]
    findings: list[Finding]
    #: who answered after the close (within the late time)
    late: list[str] = dataclasses.field(default_factory=list)


def summarize(standup: Standup, answers: list[StandupAnswer]) -> Summary:
    answered = [a.person for a in answers]
    return Summary(
        standup=standup,
        answers=answers,
        answered=answered,
        missing=pending_members(standup, answers),
        away=[p for p in standup.members if p in standup.away and p not in answered],
        findings=findings(standup, answers),
        late=[a.person for a in answers if standup.is_late(a.answered_at)],
    )


# --- answering -------------------------------------------------------------------------------


async def current(
    ctx: Context, standup_id: int | None = None, schedule_id: int | None = None
) -> Standup:
    """The standup ``standup_id``, else the latest one (of schedule ``schedule_id``)."""
    schedules = ctx.uow.schedules
    standup = (
        await schedules.get_standup(standup_id)
        if standup_id is not None
        else await schedules.latest_standup(ctx.channel, schedule_id)
    )
    if standup is None or standup.channel != ctx.channel:
        raise NotFound("There is no standup to answer in this channel. `/standup now` opens one.")
    return standup


def _require_open(ctx: Context, standup: Standup) -> None:
    if not standup.takes_answers(ctx.now):
        raise Conflict("That standup has closed; answers can no longer be changed.")


@dataclass(frozen=True)
class AnswerDraft:
    """The standup a person is about to answer, and their answer so far (to edit)."""

    standup: Standup
    previous: StandupAnswer | None


async def start_answer(
    ctx: Context, standup_id: int | None, schedule_id: int | None = None
) -> AnswerDraft:
    standup = await current(ctx, standup_id, schedule_id)
    _require_open(ctx, standup)
    previous = next(
        (a for a in await ctx.uow.schedules.answers(standup.stored_id) if a.person == ctx.user),
        None,
    )
    return AnswerDraft(standup, previous)


async def save_answer(ctx: Context, standup_id: int, answers: Mapping[int, str]) -> Standup:
    """Store the user's answers (question number -> text); returns the standup answered."""
    standup = await current(ctx, standup_id)
    _require_open(ctx, standup)
    texts = tuple((answers.get(n) or "").strip() for n in range(len(standup.questions)))
    if not any(texts):
        raise UsageError("Your answer is empty; answer at least one question.")
    for text in texts:
        if len(text) > MAX_ANSWER_CHARS:
            raise UsageError(limits.too_long("answer", len(text), MAX_ANSWER_CHARS))
    await ctx.uow.schedules.save_answer(StandupAnswer(standup.stored_id, ctx.user, texts, ctx.now))
    if standup.is_late(ctx.now):
        # The summary may be out already: edit it in place to show the late answer. One run
        # per answer saved; each edit shows every answer as it is then.
        await ctx.uow.schedules.add_run(
            Run(
                f"standup_update:{standup.stored_id}:{ctx.user}:{ctx.now.isoformat()}",
                RunKind.STANDUP_UPDATE,
                ctx.channel,
                ctx.now,
                payload={"standup_id": standup.stored_id, "schedule_id": standup.schedule_id},
                created_at=ctx.now,
            )
        )
    return standup


@dataclass(frozen=True)
class Tracked:
    item: Item
    #: tracked before (by an earlier click): nothing was created
    already: bool


#: The details of an item tracked from a standup: (the standup, who tracked it) -> text.
TrackedDetails = Callable[[Standup, str], str]


async def track(
    ctx: Context, standup_id: int, person: str, index: int, *, details: TrackedDetails
) -> Tracked:
    """Create the blocker or decision a standup answer named, with the answerer as reporter
    and ``details`` (worded by the view) saying where it came from."""
    standup = await current(ctx, standup_id)
    answers = await ctx.uow.schedules.answers(standup.stored_id)
    match = [f for f in findings(standup, answers) if f.person == person and f.index == index]
    if not match:
        raise NotFound("That answer has changed or is gone; nothing to track.")
    finding = match[0]
    marker = f"standup:{standup.stored_id}:{person}:{index}"
    for existing in await ctx.uow.items.list(ctx.channel, kinds=[finding.kind]):
        if existing.source_url == marker:
            return Tracked(existing, already=True)
    reporter_ctx = Context(
        uow=ctx.uow,
        settings=ctx.settings,
        user=person,
        now=ctx.now,
        timezone=ctx.timezone,
        source_url=marker,
    )
    item = await svc.log_item(
        reporter_ctx,
        finding.kind,
        finding.text[:MAX_TITLE_CHARS],
        details=details(standup, ctx.user),
    )
    return Tracked(item, already=False)


# --- the scheduled runs: open, remind, close -------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A standup to announce: in its channel, or (``to_user``) to one member by DM."""

    standup: Standup
    timezone: str
    to_user: str | None = None
    #: the standup's name (``/standup add retro``); None: the channel's default standup
    name: str | None = None

    @property
    def questions_by_dm(self) -> bool:
        """The channel's notice of a standup whose questions go to each member by DM."""
        return self.to_user is None and self.standup.mode == "dm"


__all__ = ["LOCAL_LEAD"]  # re-exported: where "dm local" standups are explained

#: (channel, people) -> the time zones the platform knows for them (Slack: users.info).
ZoneLookup = Callable[[ChannelKey, Sequence[str]], Awaitable[Mapping[str, str]]]


def lead(schedule: Schedule) -> timedelta:
    """How long before its channel time a standup's occurrence is claimed (``Schedule.lead``)."""
    return schedule.lead


def prepare_run(schedule: Schedule, occurrence: datetime, day: str, now: datetime) -> Run:
    """The run that opens a "dm local" standup ahead of its channel time (see ``lead``)."""
    return Run(
        key=f"standup_prepare:{schedule.stored_id}:{day}",
        kind=RunKind.STANDUP_OPEN,
        channel=schedule.channel,
        due_at=occurrence - lead(schedule),
        payload={
            "schedule_id": schedule.stored_id,
            "local_date": day,
            "at": occurrence.isoformat(),
            "prepare": True,
        },
        created_at=now,
    )


async def member_zones(
    uow: UnitOfWork, schedule: Schedule, people: Sequence[str], platform: ZoneLookup | None
) -> dict[str, str]:
    """Each member's time zone: set with ``/standup tz`` (kept on the channel's default
    standup), else the platform's (Slack's users.info), else the standup's own zone."""
    default = await uow.schedules.get(schedule.channel, ScheduleKind.STANDUP)
    stored = dict(default.zones) if default is not None else {}
    found = dict(await platform(schedule.channel, people)) if platform is not None else {}
    return {p: stored.get(p) or found.get(p) or schedule.timezone for p in people}


def prompt_at(
    day: str, at: str, zone: str, standup: Standup, due: datetime, now: datetime
) -> datetime:
    """When a member in ``zone`` is asked: ``at`` on the standup's local date ``day`` in their
    zone; if that comes too late to answer before the close (in the last quarter of the
    window, or after it), at the channel's time ``due``; never before ``now``."""
    own = local_at(date.fromisoformat(day), at, zone)
    window = standup.closes_at - due
    if own > standup.closes_at - window / 4:
        own = due
    return max(own, now)


async def open_run(
    uow: UnitOfWork, run: Run, now: datetime, zones: ZoneLookup | None = None
) -> Opened | None:
    """Open the standup of a ``standup_open`` run (or send one member's DM of it), and queue
    its reminder, its closing and, in dm mode, each member's DM (in "dm local" mode at each
    member's own time). None: nothing to send."""
    schedule = await uow.schedules.get_by_id(int(run.payload["schedule_id"]))
    if schedule is None or schedule.channel != run.channel:
        return None  # the standup was removed
    if "person" in run.payload:  # one member's DM of a standup opened in dm mode
        standup = await uow.schedules.get_standup(int(run.payload["standup_id"]))
        if standup is None or standup.closed:
            return None
        # In "dm local" mode the member reads the times in their own zone.
        tz = str(run.payload.get("timezone") or schedule.timezone)
        return Opened(standup, tz, to_user=str(run.payload["person"]), name=schedule.name)
    day = str(run.payload["local_date"])
    due, local = _timing(schedule, run)
    standup, created = await uow.schedules.open_standup(_draft(schedule, run, now))
    if not created and run.created_at is not None and standup.opened_at < run.created_at:
        return None  # another run (the schedule, or `/standup now`) opened today's already
    if created:
        follow_ups = _follow_ups(standup, schedule, run, now)
        if local and schedule.at is not None:
            asked = [r.payload["person"] for r in follow_ups if "person" in r.payload]
            zone_of = await member_zones(uow, schedule, asked, zones)
            follow_ups = [
                dataclasses.replace(
                    r,
                    due_at=prompt_at(
                        day, schedule.at, zone_of[r.payload["person"]], standup, due, now
                    ),
                    payload={**r.payload, "timezone": zone_of[r.payload["person"]]},
                )
                if "person" in r.payload
                else r
                for r in follow_ups
            ]
        await uow.schedules.add_runs(follow_ups)
    if run.payload.get("prepare"):
        return None  # the standup is ready; the channel hears of it at its own time
    return Opened(standup, schedule.timezone, name=schedule.name)


def _timing(schedule: Schedule, run: Run) -> tuple[datetime, bool]:
    """When a standup opening counts as opened, and whether it is a "dm local" one: such a
    standup's runs carry its time in the channel's zone ("at"); it is opened ahead of that
    time (prepare) and counts as opened at it."""
    due = datetime.fromisoformat(run.payload["at"]) if "at" in run.payload else run.due_at
    return due, "at" in run.payload and lead(schedule) > timedelta(0)


def _draft(schedule: Schedule, run: Run, now: datetime) -> Standup:
    """The standup a ``standup_open`` run opens, as it is stored."""
    day = str(run.payload["local_date"])
    window = timedelta(minutes=schedule.window_minutes)
    due, local = _timing(schedule, run)
    late = now - due
    closes_at = max(due + window, now + window / 4)
    return Standup(
        schedule_id=schedule.stored_id,
        channel=run.channel,
        local_date=day,
        opened_at=max(now, due) if local else now,
        closes_at=closes_at,
        questions=schedule.questions,
        members=schedule.members,
        away=away_on(schedule, day),
        mode=schedule.mode,
        late_by_minutes=int(late.total_seconds() // 60) if late >= timedelta(minutes=2) else 0,
        optional=tuple(p for p in schedule.optional if p in schedule.members),
        observers=schedule.observers,
        mentions=schedule.mentions,
        late_until=(
            closes_at + timedelta(minutes=schedule.late_minutes) if schedule.late_minutes else None
        ),
    )


async def open_runs(
    uow: UnitOfWork, runs: Sequence[Run], now: datetime, zones: ZoneLookup | None = None
) -> dict[str, Opened | None]:
    """:func:`open_run` for many ``standup_open`` runs (a fan-out), by run key: the standups
    opened in one statement, their reminders, closings and DMs queued in another. A member's
    DM and a "dm local" standup are opened one by one."""
    results: dict[str, Opened | None] = {}
    drafts: list[tuple[Run, Schedule]] = []
    for run in runs:
        schedule = await uow.schedules.get_by_id(int(run.payload["schedule_id"]))
        if schedule is None or schedule.channel != run.channel:
            results[run.key] = None  # the standup was removed
        elif "person" in run.payload or _timing(schedule, run)[1]:
            results[run.key] = await open_run(uow, run, now, zones)
        else:
            drafts.append((run, schedule))
    opened = await uow.schedules.open_standups([_draft(s, run, now) for run, s in drafts])
    follow_ups: list[Run] = []
    for (run, schedule), (standup, created) in zip(drafts, opened, strict=True):
        if not created and run.created_at is not None and standup.opened_at < run.created_at:
            results[run.key] = None  # opened today already (see open_run)
            continue
        if created:
            follow_ups += _follow_ups(standup, schedule, run, now)
        results[run.key] = (
            None
            if run.payload.get("prepare")
            else Opened(standup, schedule.timezone, name=schedule.name)
        )
    await uow.schedules.add_runs(follow_ups)
    return results


def _follow_ups(standup: Standup, schedule: Schedule, run: Run, now: datetime) -> list[Run]:
    """The reminders (as the schedule says) and the closing of a standup just opened; in dm
    mode each member's DM."""
    window = standup.closes_at - standup.opened_at
    base = {"standup_id": standup.stored_id, "schedule_id": schedule.stored_id}
    runs = [
        # The first reminder's key is the one it always had; a second one is numbered.
        Run(
            f"{RunKind.STANDUP_REMIND.value}:{standup.stored_id}" + (f":{n}" if n > 1 else ""),
            RunKind.STANDUP_REMIND,
            run.channel,
            standup.opened_at + window * fraction,
            payload={**base, "round": n} if n > 1 else base,
            created_at=now,
        )
        for n, fraction in enumerate(REMINDERS.get(schedule.reminder, REMINDERS["75%"]), 1)
    ]
    runs.append(
        Run(
            f"{RunKind.STANDUP_CLOSE.value}:{standup.stored_id}",
            RunKind.STANDUP_CLOSE,
            run.channel,
            standup.closes_at,
            payload=base,
            created_at=now,
        )
    )
    if standup.mode == "dm":
        runs += [
            Run(
                f"standup_dm:{standup.stored_id}:{person}",
                RunKind.STANDUP_OPEN,
                run.channel,
                now,
                payload={**base, "person": person},
                created_at=now,
            )
            for person in standup.members
            if person not in standup.away
        ]
    return runs


def _posts_a_standup(run: Run) -> bool:
    """An opening run that posts the standup in its channel (not one member's DM)."""
    return (
        run.kind is RunKind.STANDUP_OPEN
        and "person" not in run.payload
        and "local_date" in run.payload
    )


async def delivered(uow: UnitOfWork, run: Run, ref: str) -> None:
    """A run's message was sent as the platform's message ``ref``: for the standup posted in
    its channel, remember where, so its reminders go to that thread."""
    if _posts_a_standup(run):
        await uow.schedules.set_standup_message(
            int(run.payload["schedule_id"]), str(run.payload["local_date"]), ref
        )


async def delivered_many(uow: UnitOfWork, sent: Sequence[tuple[Run, str | None]]) -> None:
    """:func:`delivered` for many runs at once (run, the platform's message ref or None)."""
    await uow.schedules.set_standup_messages(
        [
            (int(run.payload["schedule_id"]), str(run.payload["local_date"]), ref)
            for run, ref in sent
            if ref is not None and _posts_a_standup(run)
        ]
    )


@dataclass(frozen=True)
class Reminder:
    """Who still owes an answer; to one member by DM (``to_user``), or in the standup's thread."""

    standup: Standup
    missing: list[str]
    timezone: str
    to_user: str | None = None
    thread: str | None = None
    name: str | None = None


async def remind_run(
    uow: UnitOfWork, run: Run, now: datetime, default_timezone: str
) -> Reminder | None:
    """The reminder of a ``standup_remind`` run; in dm mode it queues one DM run per member
    still pending (and sends nothing itself). None: nothing to send."""
    standup = await uow.schedules.get_standup(int(run.payload["standup_id"]))
    if standup is None or standup.closed:
        return None
    schedule = await uow.schedules.get_by_id(standup.schedule_id)
    tz = schedule.timezone if schedule else default_timezone
    name = schedule.name if schedule else None
    if "person" in run.payload:
        person = str(run.payload["person"])
        return Reminder(standup, [person], tz, to_user=person, name=name)
    answers = await uow.schedules.answers(standup.stored_id)
    missing = pending_members(standup, answers)
    if not missing:
        return None
    if standup.mode == "dm":
        round_ = run.payload.get("round")
        for person in missing:
            await uow.schedules.add_run(
                Run(
                    f"standup_remind_dm:{standup.stored_id}:{person}"
                    + (f":{round_}" if round_ else ""),
                    RunKind.STANDUP_REMIND,
                    run.channel,
                    now,
                    payload={**run.payload, "person": person},
                    created_at=now,
                )
            )
        return None
    return Reminder(standup, missing, tz, thread=standup.message_ref, name=name)


@dataclass(frozen=True)
class Closed:
    summary: Summary
    timezone: str
    #: the posted summary to edit in place (a late answer's update); None: post it
    edit: str | None = None
    name: str | None = None


class SummaryNotPosted(Exception):
    """A late answer's update is due before the summary it edits was posted: retried later."""


async def close_run(uow: UnitOfWork, run: Run, default_timezone: str) -> Closed | None:
    """Close the standup of a ``standup_close`` run and sum it up. None: it is gone."""
    standup = await uow.schedules.get_standup(int(run.payload["standup_id"]))
    if standup is None:
        return None
    await uow.schedules.update_standup(dataclasses.replace(standup, closed=True))
    answers = await uow.schedules.answers(standup.stored_id)
    schedule = await uow.schedules.get_by_id(standup.schedule_id)
    tz = schedule.timezone if schedule else default_timezone
    return Closed(summarize(standup, answers), tz, name=schedule.name if schedule else None)


async def update_run(uow: UnitOfWork, run: Run, default_timezone: str) -> Closed | None:
    """A late answer came in: the summary as it reads now, to replace the posted one (the
    ``standup_close`` run's message). None: there is no posted summary to edit."""
    standup = await uow.schedules.get_standup(int(run.payload["standup_id"]))
    if standup is None:
        return None
    close = await uow.schedules.run_by_key(f"{RunKind.STANDUP_CLOSE.value}:{standup.stored_id}")
    if close is None or close.status in (RunStatus.SKIPPED, RunStatus.FAILED, RunStatus.MISSED):
        return None
    if close.status is not RunStatus.DONE or close.result_ref is None:
        raise SummaryNotPosted(f"the summary of standup {standup.stored_id} is not posted yet")
    closed = await close_run(uow, close, default_timezone)
    return None if closed is None else dataclasses.replace(closed, edit=close.result_ref)
