"""Closing a project: what still blocks closing, deferring, lessons learned, the final report
and the closed channel (``/raid close-out``, ``/raid defer``, ``/raid lesson``,
``/raid reopen-project``).

A closed channel takes no new items (:func:`bot.services.items.require_open_project`) and its
scheduled standups, reminders, nudges and digests are skipped when they fire, recorded with
the reason :func:`skip_reason` gives, as days off are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.domain.limits import MAX_DETAILS_CHARS, check_length, is_blank
from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelSettings,
    Item,
    Lesson,
    ScheduleKind,
    Standup,
    StandupAnswer,
    Status,
)
from bot.errors import Conflict, UsageError
from bot.ports import Timetable
from bot.services import days_off
from bot.services.export import ChannelLog, channel_log, register_order
from bot.services.items import Context, require_lead, update_settings

#: The named standup that asks the members for the lessons learned.
LESSONS_STANDUP = "lessons"
LESSONS_QUESTIONS = ("What went well?", "What should we change next time?")
_EVER = datetime(2000, 1, 1, tzinfo=UTC)
#: Lessons a channel keeps at most (each up to MAX_DETAILS_CHARS).
MAX_LESSONS = 200


def skip_reason(settings: ChannelSettings, day: date, timetable: Timetable) -> str | None:
    """Why a scheduled run of a channel does not fire on ``day``: the project is closed, or
    the day is a day off (:func:`bot.services.days_off.reason`); None: it fires."""
    if settings.closed_at is not None:
        return "the project is closed (`/raid reopen-project` reopens it)"
    return days_off.reason(settings, day, timetable)


def blocking(items: list[Item]) -> list[Item]:
    """The items that keep a project from closing: every item that still asks something of
    the team (open blockers and risks, pending decisions, proposed and approved change
    requests, milestones not done), in register order."""
    return sorted((i for i in items if i.status in ACTIVE_STATUSES), key=register_order)


@dataclass(frozen=True)
class LessonAnswers:
    """One member's answers to a lessons standup."""

    person: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Lessons:
    logged: list[Lesson]
    answered: list[LessonAnswers]

    def __len__(self) -> int:
        return len(self.logged) + len(self.answered)


@dataclass(frozen=True)
class Checklist:
    settings: ChannelSettings
    blocking: list[Item]
    deferred: list[Item]
    lessons: Lessons
    #: the lessons standup is there (it was asked, or is open now)
    lessons_asked: bool


@dataclass(frozen=True)
class FinalReport:
    settings: ChannelSettings
    log: ChannelLog
    lessons: Lessons


async def lessons(ctx: Context) -> Lessons:
    """The lessons logged with ``/raid lesson`` and the answers to the lessons standup."""
    logged = await ctx.uow.lessons.of_channel(ctx.channel)
    schedule = await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, LESSONS_STANDUP)
    answered: list[LessonAnswers] = []
    if schedule is not None:
        opened: list[Standup] = [
            s
            for s in await ctx.uow.schedules.standups_since(ctx.channel, _EVER)
            if s.schedule_id == schedule.stored_id
        ]
        for standup in opened:
            given: list[StandupAnswer] = await ctx.uow.schedules.answers(standup.stored_id)
            answered += [
                LessonAnswers(a.person, standup.questions, a.answers, a.answered_at)
                for a in given
                if any(not is_blank(text) for text in a.answers)
            ]
    return Lessons(logged, answered)


async def checklist(ctx: Context) -> Checklist:
    items = await ctx.uow.items.list(ctx.channel)
    deferred = sorted((i for i in items if i.status is Status.DEFERRED), key=register_order)
    schedule = await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, LESSONS_STANDUP)
    asked = schedule is not None
    return Checklist(ctx.settings, blocking(items), deferred, await lessons(ctx), asked)


def _require_not_closed(ctx: Context) -> None:
    if ctx.settings.closed_at is not None:
        raise Conflict(
            "This project is already closed. A lead can reopen it with `/raid reopen-project`."
        )


async def start(ctx: Context) -> Checklist:
    """``/raid close-out``: a lead starts the closure (or looks at it again)."""
    require_lead(ctx, "close out the project")
    _require_not_closed(ctx)
    if ctx.settings.closing_since is None:
        await update_settings(ctx, closing_since=ctx.now)
    return await checklist(ctx)


async def finish(ctx: Context) -> FinalReport:
    """``/raid close-out finish``: once nothing blocks closing, the channel is closed and the
    final report is made. Refused (listing what blocks) while something does."""
    require_lead(ctx, "close the project")
    _require_not_closed(ctx)
    items = await ctx.uow.items.list(ctx.channel)
    still = blocking(items)
    if still:
        refs = ", ".join(str(i.ref) for i in still[:20]) + (" …" if len(still) > 20 else "")
        raise Conflict(
            f"{len(still)} item{'s' if len(still) != 1 else ''} still block closing: {refs}. "
            "Resolve, withdraw or defer each (`/raid defer B-3 until 1 Mar because …`); "
            "`/raid close-out` lists them."
        )
    settings = await update_settings(
        ctx,
        closing_since=ctx.settings.closing_since or ctx.now,
        closed_at=ctx.now,
        closed_by=ctx.user,
    )
    return FinalReport(settings, await channel_log(ctx.uow, ctx.channel), await lessons(ctx))


async def reopen_project(ctx: Context) -> ChannelSettings:
    """``/raid reopen-project``: a lead reopens a closed project (items and schedules again)."""
    require_lead(ctx, "reopen the project")
    if ctx.settings.closed_at is None and ctx.settings.closing_since is None:
        raise Conflict("This project is not closed: there is nothing to reopen.")
    return await update_settings(ctx, closing_since=None, closed_at=None, closed_by=None)


async def add_lesson(ctx: Context, text: str) -> Lesson:
    """``/raid lesson <text>``: anyone in the channel logs a lesson learned."""
    text = " ".join(text.split())
    if not text:
        raise UsageError("Say what was learned: `/raid lesson Book the test environment early`.")
    check_length(text, MAX_DETAILS_CHARS, "lesson")
    if len(await ctx.uow.lessons.of_channel(ctx.channel)) >= MAX_LESSONS:
        raise UsageError(f"A project keeps at most {MAX_LESSONS} lessons.")
    return await ctx.uow.lessons.add(Lesson(ctx.channel, ctx.user, text, ctx.now))
