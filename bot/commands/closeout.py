"""Close-out: ``/raid close-out [lessons|finish]``, ``/raid defer``, ``/raid lesson`` and
``/raid reopen-project`` (on Discord under ``/project``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.commands import calls, standup
from bot.commands.raid import changed
from bot.domain import rules
from bot.domain.model import ScheduleKind
from bot.errors import FormInvalid, UsageError
from bot.messages import Reply, Tone, Visibility
from bot.services import closeout as svc
from bot.services import items as item_svc
from bot.services.items import Context
from bot.text.dates import parse_date
from bot.text.parsing import parse_ref
from bot.views import closeout as views

USAGE: Mapping[str, str] = {
    "close-out": "/raid close-out [lessons|finish]",
    "defer": "/raid defer <ref> until <date> because <reason>",
    "lesson": "/raid lesson [<what was learned>]",
    "reopen-project": "/raid reopen-project [reason]",
}
EXAMPLES: Mapping[str, str] = {
    "close-out": "/raid close-out",
    "defer": views.DEFER_EXAMPLE,
    "lesson": "/raid lesson Book the test environment two sprints ahead",
    "reopen-project": "/raid reopen-project",
}
SUMMARIES: Mapping[str, str] = {
    "close-out": "close the project: what still blocks closing (resolve, withdraw or defer "
    "each), `close-out lessons` asks the members what went well and what to change, "
    "`close-out finish` posts the final report and closes the channel (leads)",
    "defer": "put an item off, with a reason and a date to revisit; it no longer blocks "
    "closing (`reopen` brings it back)",
    "lesson": "log a lesson learned for the final report; alone, lists them",
    "reopen-project": "reopen a closed project: items and schedules again (leads)",
}

STEPS = ("lessons", "finish")

_BECAUSE = re.compile(r"\s*\bbecause\b\s*", re.IGNORECASE)
_UNTIL = re.compile(r"^\s*until\b\s*", re.IGNORECASE)
_LAST_UNTIL = re.compile(r"\s+until\s+(?!.*\suntil\s)", re.IGNORECASE)


# --- /raid defer -----------------------------------------------------------------------------


def parse_defer(ctx: Context, args: str) -> calls.Defer:
    """``B-3 until 1 Mar because the vendor moved`` (or ``because …`` first, then
    ``until <date>`` at the end)."""
    usage = USAGE["defer"]
    words = args.strip().split(maxsplit=1)
    if not words:
        raise UsageError("Say which item, e.g. `B-3`.", usage=usage)
    ref = parse_ref(words[0], usage)
    rest = words[1] if len(words) > 1 else ""
    split = _BECAUSE.split(rest, maxsplit=1)
    before, reason = (split[0], split[1]) if len(split) > 1 else (rest, "")
    until = ""
    if _UNTIL.match(before):
        until = _UNTIL.sub("", before, count=1).strip()
    elif not before.strip() and reason:
        # because <reason> until <date>
        found = _LAST_UNTIL.search(reason)
        if found:
            until, reason = reason[found.end() :].strip(), reason[: found.start()]
    elif before.strip():
        until = before.strip()  # "B-3 1 Mar because …"
    if not until:
        raise UsageError(f"Say until when: `/raid defer {ref} until 1 Mar because …`.", usage=usage)
    if not reason.strip():
        raise UsageError(
            f"Say why it is deferred: `/raid defer {ref} until {until} because …`.", usage=usage
        )
    return calls.Defer(ref, until, reason.strip())


def convert_defer(ctx: Context, options: Mapping[str, str]) -> calls.Defer:
    words = (options.get("ref") or "").split()
    return calls.Defer(
        parse_ref(words[0] if words else "", USAGE["defer"]),
        (options.get("until") or "").strip(),
        (options.get("reason") or "").strip(),
        from_form=True,
    )


async def defer(ctx: Context, call: calls.Defer) -> Reply:
    item = await item_svc.load(ctx, call.ref)
    # who may, and the state, come before what is missing (as every change of an item)
    rules.check_defer(ctx.user, item, ctx.settings)
    problems: dict[str, str] = {}
    if not call.until.strip():
        problems["until"] = "Say until when (the date to revisit it)."
    if not call.reason.strip():
        problems["reason"] = "Say why it is deferred."
    if problems:
        if call.from_form:
            raise FormInvalid(problems)
        raise UsageError(" ".join(problems.values()), usage=USAGE["defer"])
    try:
        until = parse_date(call.until, ctx.now, ctx.timezone)
    except UsageError as bad:
        if call.from_form:
            raise FormInvalid({"until": bad.message}) from None
        raise
    return await changed(ctx, "Deferred", await item_svc.defer(ctx, item, until, call.reason))


# --- /raid close-out -------------------------------------------------------------------------


def parse_close_out(ctx: Context, args: str) -> calls.CloseOut:
    step = args.strip().lower()
    if step in ("", "status", "list", "start"):
        return calls.CloseOut("")
    if step in STEPS:
        return calls.CloseOut(step)
    raise UsageError(
        f"`{step[:40]}` is not a close-out step: `lessons` asks the members, `finish` closes.",
        usage=USAGE["close-out"],
    )


def convert_close_out(ctx: Context, options: Mapping[str, str]) -> calls.CloseOut:
    return parse_close_out(ctx, options.get("step") or "")


async def close_out(ctx: Context, call: calls.CloseOut) -> Reply:
    if call.step == "lessons":
        return await _ask_lessons(ctx)
    if call.step == "finish":
        report = await svc.finish(ctx)

        async def post() -> Reply:
            names = await ctx.people_names(report.log.people)
            return views.final_report(report, ctx.timezone, ctx.now, names)

        ctx.finish = post
        return Reply(text="Closing the project…")
    started = ctx.settings.closing_since is None
    reply = views.checklist_reply(await svc.start(ctx), ctx.timezone, ctx.now)
    if started:
        return Reply(
            text=f"{reply.text}",
            visibility=Visibility.CHANNEL,
            cards=reply.cards,
            sections=reply.sections,
        )
    return reply


async def _ask_lessons(ctx: Context) -> Reply:
    """The members are asked through a named standup, ``lessons``, opened now: its answers
    are the lessons the final report shows."""
    item_svc.require_lead(ctx, "ask the members for lessons learned")
    if ctx.settings.closed_at is not None:
        raise UsageError("This project is closed; `/raid reopen-project` first.")
    name = svc.LESSONS_STANDUP
    found = await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, name)
    if found is None:
        await standup.standup(ctx, calls.StandupCall("add", name))
        await standup.standup(
            ctx, calls.StandupCall("questions", " | ".join(svc.LESSONS_QUESTIONS), name=name)
        )
        found = await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, name)
    if found is None or not found.members:
        return Reply(
            text=f"Added the `{name}` standup with the questions "
            f"{' / '.join(svc.LESSONS_QUESTIONS)}. Say who is asked with "
            f"`/standup {name} members @a @b`, then open it with `/standup {name} now`.",
            visibility=Visibility.CHANNEL,
            tone=Tone.SUCCESS,
        )
    try:
        await standup.standup(ctx, calls.StandupCall("now", name=name))
    except UsageError as already:
        return Reply(text=f"{already.message} {views.lessons_asked(False)}")
    return Reply(text=views.lessons_asked(True), visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


# --- /raid lesson, /raid reopen-project ------------------------------------------------------


def parse_lesson(ctx: Context, args: str) -> calls.LessonCall:
    return calls.LessonCall(args.strip())


def convert_lesson(ctx: Context, options: Mapping[str, str]) -> calls.LessonCall:
    return calls.LessonCall((options.get("text") or "").strip())


async def lesson(ctx: Context, call: calls.LessonCall) -> Reply:
    if not call.text or call.text.lower() in ("list", "all"):
        return views.lessons_reply(await svc.lessons(ctx), ctx.timezone, ctx.now)
    added = await svc.add_lesson(ctx, call.text)
    count = len(await ctx.uow.lessons.of_channel(ctx.channel))
    return views.lesson_added(added, count)


def parse_reopen_project(ctx: Context, args: str) -> calls.ReopenProject:
    return calls.ReopenProject(args.strip())


def convert_reopen_project(ctx: Context, options: Mapping[str, str]) -> calls.ReopenProject:
    return calls.ReopenProject((options.get("reason") or "").strip())


async def reopen_project(ctx: Context, call: calls.ReopenProject) -> Reply:
    closed_at = ctx.settings.closed_at
    await svc.reopen_project(ctx)
    reply = views.reopened(closed_at, ctx.timezone, ctx.now)
    if call.reason:
        return Reply(
            text=f"{reply.text} Why: {call.reason}",
            visibility=reply.visibility,
            tone=reply.tone,
        )
    return reply
