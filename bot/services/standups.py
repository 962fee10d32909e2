"""Standups: opening, answering, reminding and summing up (SPEC §4)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot import actions as action_ids
from bot.domain.model import Kind, Schedule, Standup, StandupAnswer
from bot.errors import Conflict, NotFound, UsageError
from bot.messages import Action, Form, FormField, InputKind, Reply, Section, Tone, Visibility
from bot.services import items as svc
from bot.services.items import Context
from bot.text.dates import format_datetime
from bot.text.parsing import MAX_TITLE_CHARS, mention
from bot.views.items import changed_reply

#: Answers that mean "nothing to report".
_NOTHING = re.compile(r"^(none|nothing|no|nope|n/?a|-+|nil|no blockers?|nothing new)\.?$", re.I)


def away_on(schedule: Schedule, day: str) -> tuple[str, ...]:
    """Members away on the local date ``day`` (ISO): their ``until`` is that day or later."""
    return tuple(p for p, until in schedule.away.items() if until >= day)


def answer_form(standup: Standup, previous: StandupAnswer | None) -> Form:
    fields = tuple(
        FormField(
            f"q{n}",
            question,
            InputKind.LONG_TEXT,
            required=False,
            default=previous.answers[n] if previous and n < len(previous.answers) else None,
            max_length=3000,
        )
        for n, question in enumerate(standup.questions)
    )
    return Form(action_ids.standup_answer(standup.stored_id), "Standup", fields, "Send answer")


def answer_action(standup: Standup) -> Action:
    return Action("Answer", action_ids.standup_answer(standup.stored_id), "primary")


def opening(standup: Standup, tz: str, now: datetime) -> Reply:
    closes = format_datetime(standup.closes_at, tz, now)
    lines = [f"{n + 1}. {q}" for n, q in enumerate(standup.questions)]
    text = f"Standup time! Please answer by {closes}."
    if standup.late_by_minutes:
        opened = format_datetime(
            standup.opened_at - timedelta(minutes=standup.late_by_minutes), tz, now
        )
        text += f" (Opened late: raidline was offline at {opened}.)"
    members = [mention(p) for p in standup.members if p not in standup.away]
    if members:
        text += " " + " ".join(members)
    text += " Answer with the button or `/standup answer`; you can edit your answer until then."
    return Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        sections=(Section("Questions", tuple(lines)),),
        actions=(answer_action(standup),),
    )


def pending_members(standup: Standup, answers: list[StandupAnswer]) -> list[str]:
    answered = {a.person for a in answers}
    return [p for p in standup.members if p not in answered and p not in standup.away]


def reminder(standup: Standup, missing: list[str], tz: str, now: datetime) -> Reply:
    closes = format_datetime(standup.closes_at, tz, now)
    who = " ".join(mention(p) for p in missing)
    return Reply(
        text=f"{who} the standup closes at {closes}; your answer is still missing.",
        visibility=Visibility.CHANNEL,
        actions=(answer_action(standup),),
    )


def _findings(standup: Standup, answers: list[StandupAnswer]) -> list[tuple[Kind, str, str, int]]:
    """(kind, text, person, index) for each blocker or needed decision named in the answers."""
    found: list[tuple[Kind, str, str, int]] = []
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
                    found.append((kind, line, answer.person, q * 100 + n))
    return found


def summary(standup: Standup, answers: list[StandupAnswer], tz: str, now: datetime) -> Reply:
    answered = [a.person for a in answers]
    missing = pending_members(standup, answers)
    away = [p for p in standup.members if p in standup.away and p not in answered]
    day = format_datetime(standup.opened_at, tz, now).rsplit(" ", 2)[0]
    lines = [f"Answered: {' '.join(mention(p) for p in answered) or 'nobody'}"]
    if missing:
        lines.append(f"No answer: {' '.join(mention(p) for p in missing)}")
    if away:
        # listed by name, without a mention, so people who are away are not pinged
        lines.append(f"Away: {', '.join(away)}")
    sections = [Section(f"Standup of {day}", tuple(lines))]
    for answer in answers:
        body = tuple(
            f"{q}: {answer.answers[n] if n < len(answer.answers) and answer.answers[n] else '—'}"
            for n, q in enumerate(standup.questions)
        )
        sections.append(Section(f"{mention(answer.person)}", body))
    findings = _findings(standup, answers)
    actions = []
    if findings:
        finding_lines = []
        for kind, text, person, index in findings:
            label = "blocker" if kind is Kind.BLOCKER else "decision needed"
            finding_lines.append(f"{label} from {mention(person)}: {text}")
            actions.append(
                Action(
                    f"Track {label}: {text[:40]}",
                    action_ids.track(standup.stored_id, person, index),
                )
            )
        sections.append(
            Section("Found in the answers (not tracked unless you click)", tuple(finding_lines))
        )
    text = f"Standup summary: {len(answered)} answered"
    if missing:
        text += f", {len(missing)} did not"
    return Reply(
        text=text, visibility=Visibility.CHANNEL, sections=tuple(sections), actions=tuple(actions)
    )


async def current(ctx: Context, standup_id: int | None = None) -> Standup:
    schedules = ctx.uow.schedules
    standup = (
        await schedules.get_standup(standup_id)
        if standup_id is not None
        else await schedules.latest_standup(ctx.channel)
    )
    if standup is None or standup.channel != ctx.channel:
        raise NotFound("There is no standup to answer in this channel. `/standup now` opens one.")
    return standup


async def open_answer_form(ctx: Context, standup_id: int | None) -> Reply:
    standup = await current(ctx, standup_id)
    if standup.closed or ctx.now >= standup.closes_at:
        raise Conflict("That standup has closed; answers can no longer be changed.")
    previous = next(
        (a for a in await ctx.uow.schedules.answers(standup.stored_id) if a.person == ctx.user),
        None,
    )
    return Reply(text="Your standup answer", form=answer_form(standup, previous))


async def save_answer(ctx: Context, standup_id: int, values: dict[str, str]) -> Reply:
    standup = await current(ctx, standup_id)
    if standup.closed or ctx.now >= standup.closes_at:
        raise Conflict("That standup has closed; answers can no longer be changed.")
    answers = tuple((values.get(f"q{n}") or "").strip() for n in range(len(standup.questions)))
    if not any(answers):
        raise UsageError("Your answer is empty; answer at least one question.")
    for text in answers:
        if len(text) > 3000:
            raise UsageError("An answer is longer than 3,000 characters; shorten it.")
    await ctx.uow.schedules.save_answer(
        StandupAnswer(standup.stored_id, ctx.user, answers, ctx.now)
    )
    closes = format_datetime(standup.closes_at, ctx.timezone, ctx.now)
    return Reply(
        text=f"Thanks, your standup answer is saved. You can change it until {closes}.",
        tone=Tone.SUCCESS,
    )


async def track(ctx: Context, standup_id: int, person: str, index: int) -> Reply:
    """Create the blocker or decision a standup answer named, with the answerer as reporter."""
    standup = await current(ctx, standup_id)
    answers = await ctx.uow.schedules.answers(standup.stored_id)
    match = [f for f in _findings(standup, answers) if f[2] == person and f[3] == index]
    if not match:
        raise NotFound("That answer has changed or is gone; nothing to track.")
    kind, text, _, _ = match[0]
    marker = f"standup:{standup.stored_id}:{person}:{index}"
    for existing in await ctx.uow.items.list(ctx.channel, kinds=[kind]):
        if existing.source_url == marker:
            return Reply(text=f"Already tracked as {existing.ref}: {existing.title}")
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
        kind,
        text[:MAX_TITLE_CHARS],
        details=f"From the standup of {standup.local_date}; tracked by {mention(ctx.user)}.",
    )
    return changed_reply("Tracked", ctx.timezone, ctx.now, item)
