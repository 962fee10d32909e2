"""Standups: opening, answering, reminding and summing up (SPEC §4).

The use cases return what happened (a standup, who is pending, what the answers name);
``bot.views.standups`` words it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import limits
from bot.domain.limits import MAX_TITLE_CHARS
from bot.domain.model import (
    REMINDERS,
    Item,
    Kind,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    Standup,
    StandupAnswer,
)
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


async def open_run(uow: UnitOfWork, run: Run, now: datetime) -> Opened | None:
    """Open the standup of a ``standup_open`` run (or send one member's DM of it), and queue
    its reminder, its closing and, in dm mode, each member's DM. None: nothing to send."""
    schedule = await uow.schedules.get_by_id(int(run.payload["schedule_id"]))
    if schedule is None or schedule.channel != run.channel:
        return None  # the standup was removed
    if "person" in run.payload:  # one member's DM of a standup opened in dm mode
        standup = await uow.schedules.get_standup(int(run.payload["standup_id"]))
        if standup is None or standup.closed:
            return None
        return Opened(
            standup, schedule.timezone, to_user=str(run.payload["person"]), name=schedule.name
        )
    day = str(run.payload["local_date"])
    window = timedelta(minutes=schedule.window_minutes)
    late = now - run.due_at
    closes_at = max(run.due_at + window, now + window / 4)
    standup, created = await uow.schedules.open_standup(
        Standup(
            schedule_id=schedule.stored_id,
            channel=run.channel,
            local_date=day,
            opened_at=now,
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
                closes_at + timedelta(minutes=schedule.late_minutes)
                if schedule.late_minutes
                else None
            ),
        )
    )
    if not created and run.created_at is not None and standup.opened_at < run.created_at:
        return None  # another run (the schedule, or `/standup now`) opened today's already
    if created:
        await uow.schedules.add_runs(_follow_ups(standup, schedule, run, now))
    return Opened(standup, schedule.timezone, name=schedule.name)


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
