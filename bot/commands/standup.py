"""/standup and /digest: the channel's schedules and their settings."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.commands.calls import (
    DigestCall,
    OpenStandupAnswer,
    SaveStandupAnswer,
    StandupCall,
    Track,
)
from bot.domain.limits import text_error
from bot.domain.model import (
    DEFAULT_QUESTIONS,
    REMINDERS,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.domain.schedules import (
    PATTERN_FORMS,
    Pattern,
    Recurrence,
    describe_rule,
    local_date,
    parse_pattern,
    parse_time,
    rule_of,
)
from bot.errors import NotFound, UsageError
from bot.messages import Reply, Section, Tone, Visibility
from bot.services import dashboard, days_off, digests
from bot.services import items as svc
from bot.services import standups as standup_svc
from bot.services.items import Context
from bot.text.dates import (
    check_timezone,
    format_datetime,
    format_day,
    format_local_date,
    parse_date,
    parse_duration,
)
from bot.text.parsing import did_you_mean, find_mentions, mention, parse_people
from bot.views import digests as digest_views
from bot.views import standups as standup_views

#: A /standup subcommand: (context, its argument text, the named standup or None).
Handler = Callable[[Context, str, str | None], Awaitable[Reply]]

STANDUP_USAGE = (
    "/standup [schedule <days> <HH:MM> [zone] | questions <q1> | <q2> ... | "
    "members [optional|observer|remove] @a @b | window <2h> | mode thread|dm|dm local | "
    "tz [@who] <zone>|off | "
    "late <4h>|off | reminder off|50%|75%|twice | mentions on|off | skip today|<date> | "
    "away [@who] until <date> | now | answer | off | add <name> | remove <name>]; "
    "a named standup: /standup <name> <subcommand> ... "
    "(<days>: weekdays, daily, mon,wed,fri, every other monday, first monday, last friday, "
    "day 1)"
)
DIGEST_USAGE = (
    "/digest [now [chart] | daily [weekdays] <HH:MM> [zone] | weekly <day> <HH:MM> [zone] | "
    "weekly every other <day> <HH:MM> [zone] | "
    "monthly first monday|last friday|day 1 <HH:MM> [zone] | add daily|weekly|monthly ... | "
    "remove <number> | status | off]"
)
#: A channel keeps at most this many digest schedules.
MAX_DIGESTS = 5
MAX_QUESTIONS = 5
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(hours=12)
#: The longest time after the close that late answers are taken.
MAX_LATE = timedelta(hours=24)


def _day(ctx: Context, day: str, tz: str) -> str:
    """A schedule's local date (ISO text) as every date is written: ``Mon 7 Dec``."""
    return format_local_date(day, tz, ctx.now)


def _changed(text: str) -> Reply:
    return Reply(text=text, visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


async def _schedule(ctx: Context, kind: ScheduleKind) -> Schedule:
    found = await ctx.uow.schedules.get(ctx.channel, kind)
    return found or Schedule(channel=ctx.channel, kind=kind, timezone=ctx.timezone)


#: A standup's name: a short word (``retro``, ``planning``, ``team-b``).
NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,23}")
#: Named standups per channel, besides the default one.
MAX_NAMED = 10


async def _standup_of(ctx: Context, name: str | None) -> Schedule:
    """The default standup (new if the channel has none yet), or the one named ``name``."""
    if name is None:
        return await _schedule(ctx, ScheduleKind.STANDUP)
    found = await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, name)
    if found is None:
        names = await _names(ctx)
        raise NotFound(
            f"There is no standup named `{name}` in this channel."
            f"{did_you_mean(name, [*names, *STANDUP])} "
            + (
                f"Its standups: {', '.join(names)}; `/standup add {name}` adds one."
                if names
                else f"`/standup add {name}` adds it."
            )
        )
    return found


async def _names(ctx: Context) -> list[str]:
    """The names of the channel's named standups."""
    return [
        s.name
        for s in await ctx.uow.schedules.of_channel(ctx.channel)
        if s.kind is ScheduleKind.STANDUP and s.name
    ]


def _which(name: str | None) -> str:
    """How a reply names the standup: ``standup``, ``retro standup``."""
    return f"{name} standup" if name else "standup"


#: How many occurrences ahead a schedule's next working run is looked for.
_LOOK_AHEAD_RUNS = 60


def _next_text(s: Schedule, ctx: Context) -> str:
    """The rule in words and its next run, a run falling on a day off skipped (it would be:
    the check is made when a run fires), and said so."""
    if not s.enabled or s.next_run_at is None or s.at is None:
        return "off"
    rule = rule_of(s)
    first = s.next_run_at + standup_svc.lead(s)
    candidate = first
    when: datetime | None = None
    skipped: str | None = None
    for _ in range(_LOOK_AHEAD_RUNS):
        day = candidate.astimezone(ZoneInfo(s.timezone)).date()
        why = days_off.reason(ctx.settings, day, ctx.timetable)
        if why is None:
            when = candidate
            break
        skipped = skipped or f"{format_day(day, ctx.now.year)} is skipped: {why}"
        candidate = ctx.timetable.next_run(rule, candidate)
    if when is None:
        return (
            f"{describe_rule(rule)}; never runs: every occurrence falls on a day off "
            f"({skipped}). `/raid settings workweek` changes the work week"
        )
    text = f"{describe_rule(rule)}; next {format_datetime(when, s.timezone, ctx.now)}"
    return f"{text} ({skipped})" if skipped else text


def _parse_rule(words: list[str], ctx: Context, usage: str) -> tuple[Pattern, str, str]:
    """``<days> <time> [zone]`` -> (the days' pattern, HH:MM, zone)."""
    if len(words) < 2:
        raise UsageError(
            f"Say the days and the time, e.g. `weekdays 09:30`. Days: {PATTERN_FORMS}.",
            usage=usage,
        )
    tz = ctx.timezone
    if len(words) >= 3 and ("/" in words[-1] or words[-1].upper() == "UTC"):
        tz = check_timezone(words[-1])
        words = words[:-1]
    at = parse_time(words[-1])
    return parse_pattern(" ".join(words[:-1])), at, tz


def _with_rule(s: Schedule, pattern: Pattern, at: str, tz: str) -> Schedule:
    """``s`` running on ``pattern`` at ``at`` in ``tz`` (its every-other-week cycle set anew)."""
    return dataclasses.replace(
        s,
        days=pattern.days,
        at=at,
        timezone=tz,
        every_weeks=pattern.every_weeks,
        week_anchor=None,
        nth=pattern.nth,
        month_day=pattern.month_day,
        enabled=True,
    )


def _anchored(ctx: Context, s: Schedule) -> Schedule:
    """Every other week starts with the week of the first run from now."""
    if s.every_weeks < 2 or s.week_anchor is not None or s.at is None:
        return s
    first = ctx.timetable.next_run(Recurrence(s.days, s.at, s.timezone), ctx.now)
    day = date.fromisoformat(local_date(first, s.timezone))
    return dataclasses.replace(s, week_anchor=(day - timedelta(days=day.weekday())).isoformat())


async def _save(ctx: Context, schedule: Schedule) -> Schedule:
    schedule = _anchored(ctx, schedule)
    if schedule.enabled and schedule.at and schedule.days:
        # A "dm local" standup is claimed ahead of its time (standup_svc.lead).
        upcoming = ctx.timetable.next_run(rule_of(schedule), ctx.now)
        schedule = dataclasses.replace(schedule, next_run_at=upcoming - standup_svc.lead(schedule))
    else:
        schedule = dataclasses.replace(schedule, next_run_at=None)
    return await ctx.uow.schedules.save(dataclasses.replace(schedule, updated_at=ctx.now))


# --- /standup ------------------------------------------------------------------------------


def parse_standup(ctx: Context, text: str) -> StandupCall:
    """``/standup <subcommand> ...`` for the default standup, ``/standup <name> <subcommand>
    ...`` for a named one (``/standup retro schedule fri 15:00``; ``/standup retro``: its
    status)."""
    words = text.split(maxsplit=1)
    if not words:
        return StandupCall("status")
    sub, rest = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if sub in STANDUP:
        return StandupCall(sub, rest)
    unknown = UsageError(
        f"`{sub}` is not a /standup subcommand or standup name.{did_you_mean(sub, list(STANDUP))}",
        usage=STANDUP_USAGE,
    )
    if not NAME_RE.fullmatch(sub):
        raise unknown
    inner = rest.split(maxsplit=1)
    named_sub = inner[0].lower() if inner else "status"
    if named_sub not in STANDUP or named_sub in ("add", "remove"):
        raise unknown
    return StandupCall(named_sub, inner[1].strip() if len(inner) > 1 else "", name=sub)


def _words(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _people(options: Mapping[str, str], *names: str) -> str:
    return " ".join(dict.fromkeys(mention(p) for n in names if (p := options.get(n))))


_MEMBERS = ("member", "member_2", "member_3", "member_4", "member_5")

#: /standup <subcommand> options -> the subcommand's argument
_STANDUP_OPTIONS: Mapping[str, Callable[[Mapping[str, str]], str]] = {
    "schedule": lambda o: _words(o.get("days"), o.get("time"), o.get("timezone")),
    "questions": lambda o: _words(o.get("questions")),
    "members": lambda o: _words(
        o.get("role") if o.get("role") != "member" else None, _people(o, *_MEMBERS)
    ),
    "window": lambda o: _words(o.get("duration")),
    "mode": lambda o: _words(o.get("mode")),
    "late": lambda o: _words(o.get("duration")),
    "tz": lambda o: _words(_people(o, "who"), o.get("zone")),
    "reminder": lambda o: _words(o.get("when")),
    "mentions": lambda o: _words(o.get("mentions")),
    "skip": lambda o: _words(o.get("day") or "today"),
    "away": lambda o: _words(_people(o, "who"), "until", o.get("until")),
    "add": lambda o: _words(o.get("name")),
    "remove": lambda o: _words(o.get("name")),
}


def convert_standup(ctx: Context, sub: str, options: Mapping[str, str]) -> StandupCall:
    """``/standup <sub>`` with a platform's typed options (``standup``: a named standup)."""
    if sub not in STANDUP:
        raise UsageError(f"`{sub}` is not a /standup subcommand.", usage=STANDUP_USAGE)
    argument = _STANDUP_OPTIONS.get(sub)
    name = (options.get("standup") or "").strip().lower() or None
    return StandupCall(sub, argument(options) if argument else "", name=name)


async def standup(ctx: Context, call: StandupCall) -> Reply:
    return await STANDUP[call.subcommand](ctx, call.argument, call.name)


async def _standup_status(ctx: Context, name: str | None) -> Reply:
    s = await _standup_of(ctx, name)
    away = [
        f"{mention(p)} until {_day(ctx, until, s.timezone)}"
        for p, until in s.away.items()
        if until >= local_date(ctx.now, s.timezone)
    ]
    regular = [p for p in s.members if p not in s.optional]
    late = f"for {_hours(s.late_minutes)} after the close" if s.late_minutes else "off"
    lines = [
        f"Schedule: {_next_text(s, ctx)}",
        "Members: "
        + (" ".join(mention(p) for p in regular) or "none set (`/standup members @a @b`)"),
        *([f"Optional: {' '.join(mention(p) for p in s.optional)}"] if s.optional else []),
        *([f"Observers: {' '.join(mention(p) for p in s.observers)}"] if s.observers else []),
        f"Window: {_hours(s.window_minutes)}, mode: {s.mode}"
        + (" local (each member at their own time)" if standup_svc.lead(s) else ""),
        f"Late answers: {late}"
        f"; reminders: {_REMINDER_WORDS[s.reminder]}"
        f"; mentions of who did not answer: {'on' if s.mentions else 'off'}",
        *(f"Q{n + 1}: {q}" for n, q in enumerate(s.questions)),
    ]
    if away:
        lines.append("Away: " + ", ".join(away))
    if s.skip_dates:
        lines.append("Skipping: " + ", ".join(_day(ctx, d, s.timezone) for d in s.skip_dates))
    if s.zones:
        lines.append(
            "Own time zones: " + ", ".join(f"{mention(p)} {z}" for p, z in s.zones.items())
        )
    recent = await ctx.uow.schedules.runs(ctx.channel, RunKind.STANDUP_OPEN, limit=20)
    mine = [
        r for r in recent if r.payload.get("schedule_id") == s.id and not r.payload.get("prepare")
    ]
    for run in mine[:5]:
        if run.status in (RunStatus.MISSED, RunStatus.SKIPPED, RunStatus.FAILED):
            day = _day(ctx, str(run.payload.get("local_date")), s.timezone)
            because = f" ({run.reason})" if run.reason else ""
            lines.append(f"{day}: {run.status.value}{because}")
    if name is None and (names := await _names(ctx)):
        lines.append("Also in this channel: " + ", ".join(f"{n} (`/standup {n}`)" for n in names))
    heading = f"The {name} standup" if name else "Standup"
    sections = [Section(heading, tuple(lines))]
    text = f"{heading} of this channel"
    latest = await ctx.uow.schedules.latest_standup(ctx.channel, s.id) if s.id is not None else None
    if latest is not None and latest.takes_answers(ctx.now):
        answers = await ctx.uow.schedules.answers(latest.stored_id)
        text, section = standup_views.open_now(latest, answers, ctx.timezone, ctx.now)
        sections.insert(0, section)
    return Reply(text=text, sections=tuple(sections), usage=STANDUP_USAGE)


async def _standup_schedule(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "schedule the standup")
    pattern, at, tz = _parse_rule(rest.split(), ctx, STANDUP_USAGE)
    s = await _standup_of(ctx, name)
    s = await _save(ctx, _with_rule(s, pattern, at, tz))
    prefix = f"/standup {name}" if name else "/standup"
    members = "" if s.members else f" Set who takes part with `{prefix} members @a @b`."
    return _changed(f"{_which(name).capitalize()} scheduled: {_next_text(s, ctx)}.{members}")


async def _standup_questions(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change the standup questions")
    questions: tuple[str, ...]
    if rest.lower() in ("default", "reset"):
        questions = DEFAULT_QUESTIONS
    else:
        questions = tuple(q.strip() for q in rest.split("|") if q.strip())
    if not questions:
        raise UsageError(
            "Give the questions separated by `|`: "
            "`/standup questions What changed? | What is blocked?`."
        )
    if len(questions) > MAX_QUESTIONS:
        raise UsageError(
            f"A standup asks at most {MAX_QUESTIONS} questions; you gave {len(questions)}."
        )
    for question in questions:
        if problem := text_error("question", question):
            raise UsageError(problem)
    s = await _standup_of(ctx, name)
    await _save(ctx, dataclasses.replace(s, questions=questions))
    return _changed("Standup questions: " + " | ".join(questions))


def _hours(minutes: int) -> str:
    return f"{minutes // 60}h{minutes % 60:02d}m"


_REMINDER_WORDS = {
    "off": "off",
    "50%": "once, halfway through the window",
    "75%": "once, at 75% of the window",
    "twice": "twice, at 50% and 85% of the window",
}
_ROLES = ("optional", "observer", "observers", "remove")


async def _standup_members(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change who takes part in the standup")
    words = rest.split(maxsplit=1)
    role = words[0].lower() if words and words[0].lower() in _ROLES else "member"
    if role != "member":
        rest = words[1] if len(words) > 1 else ""
    people = tuple(dict.fromkeys(find_mentions(rest) or parse_people(rest)))
    if not people:
        example = "@a @b" if role == "member" else f"{role} @a"
        raise UsageError(
            f"Mention who: `/standup members {example}`.", usage="/standup " + _MEMBERS_USAGE
        )
    s = await _standup_of(ctx, name)
    others = [p for p in s.members if p not in people]
    optional = [p for p in s.optional if p not in people]
    observers = [p for p in s.observers if p not in people]
    if role == "member":
        # The members named replace the regular members; optional members stay.
        members = [*people, *(p for p in s.optional if p not in people)]
        text = "Standup members: " + " ".join(mention(p) for p in people)
    elif role == "optional":
        members, optional = (
            [*s.members, *(p for p in people if p not in s.members)],
            [
                *optional,
                *people,
            ],
        )
        text = (
            f"Optional in the standup: {' '.join(mention(p) for p in people)} "
            "(asked, never listed as missing)."
        )
    elif role in ("observer", "observers"):
        members, observers = others, [*observers, *people]
        text = (
            f"Observers of the standup: {' '.join(mention(p) for p in people)} "
            "(get the summary; never asked, never missing)."
        )
    else:
        members = others
        text = f"No longer in the standup: {' '.join(mention(p) for p in people)}."
    await _save(
        ctx,
        dataclasses.replace(
            s, members=tuple(members), optional=tuple(optional), observers=tuple(observers)
        ),
    )
    return _changed(text)


_MEMBERS_USAGE = "members [optional|observer|remove] @a @b"


async def _standup_late(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change how long late answers are taken")
    text = rest.strip().lower()
    if text in ("off", "no", "0"):
        minutes = 0
    else:
        if not text:
            raise UsageError(
                "Say for how long after the close: `/standup late 4h`, or `/standup late off`."
            )
        late = parse_duration(text)
        if not MIN_WINDOW <= late <= MAX_LATE:
            raise UsageError(
                "Late answers can be taken for 1 minute to 24 hours after the close, "
                "e.g. `/standup late 4h`; `/standup late off` takes none."
            )
        minutes = int(late.total_seconds() // 60)
    s = await _standup_of(ctx, name)
    await _save(ctx, dataclasses.replace(s, late_minutes=minutes))
    if not minutes:
        return _changed("Late answers are off: the standup takes no answers after it closes.")
    return _changed(
        f"Answers are taken for {_hours(minutes)} after the standup closes, marked late; "
        "the summary is updated in place."
    )


async def _standup_reminder(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change the standup reminders")
    choice = rest.strip().lower().replace(" ", "")
    choice = {"50": "50%", "75": "75%", "none": "off", "2": "twice"}.get(choice, choice)
    if choice not in REMINDERS:
        raise UsageError(
            "Say `off`, `50%`, `75%` (the default) or `twice`: `/standup reminder twice`."
        )
    s = await _standup_of(ctx, name)
    await _save(ctx, dataclasses.replace(s, reminder=choice))
    if choice == "off":
        return _changed("Standup reminders are off.")
    return _changed(f"Standup reminders: {_REMINDER_WORDS[choice]}.")


async def _standup_mentions(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change the standup mentions")
    choice = rest.strip().lower()
    if choice not in ("on", "off"):
        raise UsageError(
            "Say `on` (the summary mentions who did not answer) or `off` (names only): "
            "`/standup mentions off`."
        )
    s = await _standup_of(ctx, name)
    await _save(ctx, dataclasses.replace(s, mentions=choice == "on"))
    if choice == "on":
        return _changed("The standup summary mentions who did not answer.")
    return _changed("The standup summary names who did not answer without mentioning them.")


async def _standup_window(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change the standup window")
    window = parse_duration(rest)
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise UsageError("The answer window must be between 1 minute and 12 hours, e.g. `2h`.")
    s = await _standup_of(ctx, name)
    minutes = int(window.total_seconds() // 60)
    await _save(ctx, dataclasses.replace(s, window_minutes=minutes))
    return _changed(
        f"Standup answers are taken for {minutes // 60}h{minutes % 60:02d}m after it opens."
    )


async def _standup_mode(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "change the standup mode")
    words = rest.lower().split()
    if words not in (["thread"], ["dm"], ["dm", "local"]):
        raise UsageError(
            "Say `thread` (one message in the channel), `dm` (a message to each member) or "
            "`dm local` (a message to each member at the standup's time in their own zone)."
        )
    s = await _standup_of(ctx, name)
    local = words == ["dm", "local"]
    await _save(ctx, dataclasses.replace(s, mode=words[0], local_times=local))
    if local:
        return _changed(
            f"Standup mode: dm local. Each member is asked at {s.at or 'the standup time'} "
            "their own time (their Slack time zone, or `/standup tz <zone>`; else "
            f"{s.timezone}); the close and the summary stay at {s.timezone} time."
        )
    return _changed(f"Standup mode: {words[0]}.")


async def _standup_tz(ctx: Context, rest: str, name: str | None) -> Reply:
    """``/standup tz Europe/Lisbon``: the user's own zone for "dm local" standups; ``tz @x
    <zone>`` (leads) for someone else; ``off`` forgets it."""
    words = rest.split()
    people = find_mentions(rest)
    zone_words = [w for w in words if not find_mentions(w)]
    if len(zone_words) != 1:
        raise UsageError(
            "Say your time zone: `/standup tz Europe/Lisbon` (or `/standup tz off` to use "
            "your platform's or the channel's)."
        )
    who = people or [ctx.user]
    if who != [ctx.user]:
        svc.require_lead(ctx, "set someone else's time zone")
    zone = None if zone_words[0].lower() == "off" else check_timezone(zone_words[0])
    # Kept on the channel's default standup: one zone per person for all its standups.
    default = await _schedule(ctx, ScheduleKind.STANDUP)
    zones = {p: z for p, z in default.zones.items() if p not in who}
    if zone is not None:
        zones.update(dict.fromkeys(who, zone))
    await _save(ctx, dataclasses.replace(default, zones=zones))
    names = " ".join(mention(p) for p in who)
    if zone is None:
        return _changed(
            f"{names}: no time zone of your own here; standups use your platform's or the "
            "channel's."
        )
    return _changed(f"{names}: asked at the standup time in {zone} (`/standup mode dm local`).")


async def _standup_skip(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "skip a standup")
    s = await _standup_of(ctx, name)
    text = rest.strip().lower() or "today"
    if text == "today":
        day = local_date(ctx.now, s.timezone)
    else:
        day = local_date(parse_date(text, ctx.now, s.timezone), s.timezone)
    await _save(ctx, dataclasses.replace(s, skip_dates=tuple(sorted({*s.skip_dates, day}))))
    return _changed(f"No standup on {_day(ctx, day, s.timezone)}.")


_AWAY_RE = re.compile(r"^(?P<who>.*?)\s*\buntil\b\s*(?P<date>.+)$", re.IGNORECASE)


async def _standup_away(ctx: Context, rest: str, name: str | None) -> Reply:
    m = _AWAY_RE.match(rest.strip())
    if not m:
        raise UsageError(
            "Say until when: `/standup away until dec 8` (or `away @erin until dec 8`)."
        )
    people = find_mentions(m.group("who")) or (
        [ctx.user] if not m.group("who").strip() else parse_people(m.group("who"))
    )
    if people != [ctx.user]:
        svc.require_lead(ctx, "mark someone else as away")
    s = await _standup_of(ctx, name)
    until = local_date(parse_date(m.group("date"), ctx.now, s.timezone), s.timezone)
    # Away without a name: away from every standup of the channel.
    targets = [s]
    if name is None:
        targets += [
            named
            for named in await ctx.uow.schedules.of_channel(ctx.channel)
            if named.kind is ScheduleKind.STANDUP and named.name
        ]
    for target in targets:
        away = {**target.away, **dict.fromkeys(people, until)}
        await _save(ctx, dataclasses.replace(target, away=away))
    who = " ".join(mention(p) for p in people)
    which = f"the {name} standup" if name else "standups"
    return _changed(
        f"{who} away until {_day(ctx, until, s.timezone)}: skipped by {which} and not pinged."
    )


async def _standup_now(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "open a standup")
    s = await _standup_of(ctx, name)
    if s.id is None:
        s = await _save(ctx, s)
    day = local_date(ctx.now, s.timezone)
    latest = await ctx.uow.schedules.latest_standup(ctx.channel, s.stored_id)
    if latest is not None and latest.local_date == day:
        raise UsageError(f"Today's standup ({_day(ctx, day, s.timezone)}) has already been opened.")
    run_id = await ctx.uow.schedules.add_run(
        Run(
            key=f"standup_now:{s.stored_id}:{day}",
            kind=RunKind.STANDUP_OPEN,
            channel=ctx.channel,
            due_at=ctx.now,
            payload={"schedule_id": s.stored_id, "local_date": day},
            created_at=ctx.now,
        )
    )
    if run_id is None:
        raise UsageError(f"Today's standup ({_day(ctx, day, s.timezone)}) is already being opened.")
    return Reply(text="Opening the standup now.", tone=Tone.SUCCESS)


async def _standup_answer(ctx: Context, rest: str, name: str | None) -> Reply:
    schedule_id = None
    if name is not None:
        schedule_id = (await _standup_of(ctx, name)).stored_id
    return standup_views.answer_form_reply(await standup_svc.start_answer(ctx, None, schedule_id))


async def open_answer(ctx: Context, call: OpenStandupAnswer) -> Reply:
    return standup_views.answer_form_reply(await standup_svc.start_answer(ctx, call.standup_id))


async def save_answer(ctx: Context, call: SaveStandupAnswer) -> Reply:
    answers = standup_views.answer_values(call.answers)
    standup = await standup_svc.save_answer(ctx, call.standup_id, answers)
    return standup_views.answer_saved(standup, ctx.timezone, ctx.now)


async def track(ctx: Context, call: Track) -> Reply:
    result = await standup_svc.track(
        ctx, call.standup_id, call.person, call.index, details=standup_views.tracked_details
    )
    return standup_views.tracked(result, ctx.timezone, ctx.now)


async def _standup_off(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "turn the standup off")
    s = await _standup_of(ctx, name)
    await _save(ctx, dataclasses.replace(s, enabled=False))
    prefix = f"/standup {name}" if name else "/standup"
    return _changed(
        f"The {_which(name)} is off. `{prefix} schedule weekdays 09:30` turns it on again."
    )


async def _standup_add(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "add a standup")
    new = rest.strip().lower()
    if not NAME_RE.fullmatch(new) or new in STANDUP or new in ("help", "default"):
        raise UsageError(
            "Give the new standup a short name of letters, digits, `-` or `_`, starting with "
            "a letter and not a /standup subcommand: `/standup add retro`."
        )
    if await ctx.uow.schedules.get(ctx.channel, ScheduleKind.STANDUP, new) is not None:
        raise UsageError(f"This channel has a `{new}` standup already: `/standup {new}` shows it.")
    if len(await _names(ctx)) >= MAX_NAMED:
        raise UsageError(
            f"A channel has at most {MAX_NAMED} named standups; `/standup remove <name>` "
            "removes one."
        )
    default = await _schedule(ctx, ScheduleKind.STANDUP)
    # It starts with the default standup's people; everything else is its own.
    await _save(
        ctx,
        Schedule(
            channel=ctx.channel,
            kind=ScheduleKind.STANDUP,
            name=new,
            timezone=default.timezone,
            members=default.members,
            optional=default.optional,
            observers=default.observers,
        ),
    )
    who = (
        " It asks the same members as the channel's standup "
        f"(`/standup {new} members @a @b` changes them)."
        if default.members
        else f" Set who takes part with `/standup {new} members @a @b`."
    )
    return _changed(
        f"Added the `{new}` standup. Schedule it with `/standup {new} schedule fri 15:00`; "
        f"its questions, window and mode are its own (`/standup {new}` shows them).{who}"
    )


async def _standup_remove(ctx: Context, rest: str, name: str | None) -> Reply:
    svc.require_lead(ctx, "remove a standup")
    gone = rest.strip().lower()
    if not gone:
        raise UsageError("Say which standup to remove: `/standup remove retro`.")
    if gone == "default":
        raise UsageError("The channel's own standup stays; `/standup off` stops it.")
    schedule = await _standup_of(ctx, gone)
    await ctx.uow.schedules.remove(schedule.stored_id)
    return _changed(f"Removed the `{gone}` standup and its past standups.")


STANDUP: dict[str, Handler] = {
    "schedule": _standup_schedule,
    "questions": _standup_questions,
    "members": _standup_members,
    "window": _standup_window,
    "mode": _standup_mode,
    "tz": _standup_tz,
    "late": _standup_late,
    "reminder": _standup_reminder,
    "mentions": _standup_mentions,
    "skip": _standup_skip,
    "away": _standup_away,
    "now": _standup_now,
    "answer": _standup_answer,
    "off": _standup_off,
    "status": lambda ctx, rest, name: _standup_status(ctx, name),
    "add": _standup_add,
    "remove": _standup_remove,
}


# --- /digest -------------------------------------------------------------------------------


async def draw_chart(ctx: Context) -> bytes | None:
    return await dashboard.chart_png(ctx.uow, ctx.channel, ctx.now, ctx.charts)


def parse_digest(ctx: Context, text: str) -> DigestCall:
    return DigestCall(tuple(text.split()))


def convert_digest(ctx: Context, sub: str, options: Mapping[str, str]) -> DigestCall:
    """``/digest now|daily|weekly|monthly|add|remove|status|off`` with a platform's typed
    options (``every_other`` on ``weekly``: every other week)."""
    if sub == "now":
        return DigestCall(("now", "chart") if options.get("chart") == "true" else ())
    if sub in ("add", "remove"):
        return DigestCall(tuple(_words(sub, options.get("rule") or options.get("number")).split()))
    weekdays = "weekdays" if options.get("weekdays") == "true" else None
    every_other = "every other" if options.get("every_other") == "true" else None
    day, time, zone = options.get("day"), options.get("time"), options.get("timezone")
    parts = (sub, weekdays, every_other, day, time, zone)
    return DigestCall(tuple(_words(*parts).split()))


async def digest(ctx: Context, call: DigestCall) -> Reply:
    words = [w.lower() for w in call.words]
    if words[:1] == ["now"]:
        words = words[1:]
        if words and words != ["chart"]:
            raise UsageError(
                f"`/digest now` takes only `chart` after it (you wrote `{' '.join(words)}`).",
                usage=DIGEST_USAGE,
            )
    if not words or words == ["chart"]:
        settings = ctx.settings
        found = await digests.build(
            ctx.uow,
            ctx.channel,
            settings.last_digest_at,
            ctx.now,
            settings=settings,
            timetable=ctx.timetable,
            tz=ctx.timezone,
        )
        reply = digest_views.digest(found, ctx.timezone, ctx.now)
        if words == ["chart"]:
            reply = digest_views.with_chart(reply, await draw_chart(ctx), ctx.now)
        await svc.update_settings(ctx, last_digest_at=ctx.now)
        return reply
    sub = words[0]
    if sub == "off":
        svc.require_lead(ctx, "turn the digest off")
        for each in await _digests(ctx):
            await _save(ctx, dataclasses.replace(each, enabled=False))
        return _changed("Scheduled digests are off. `/digest` still posts one now.")
    if sub in ("daily", "weekly", "monthly", "schedule"):
        svc.require_lead(ctx, "schedule the digest")
        s = await _schedule(ctx, ScheduleKind.DIGEST)
        s = await _save(ctx, _digest_rule(s, words, ctx))
        others = len([d for d in await _digests(ctx) if d.enabled]) - 1
        also = " `/digest add weekly fri 16:00` keeps another one besides it."
        if others == 1:
            also = " The other digest schedule stays as it is (`/digest status`)."
        elif others > 1:
            also = f" The {others} other digest schedules stay as they are (`/digest status`)."
        return _changed(
            f"Digest scheduled: {_next_text(s, ctx)}. A digest with nothing to say is "
            f"skipped.{also}"
        )
    if sub == "add":
        svc.require_lead(ctx, "add a digest schedule")
        kept = await _digests(ctx)
        if len([d for d in kept if d.enabled]) >= MAX_DIGESTS:
            raise UsageError(
                f"A channel keeps at most {MAX_DIGESTS} digest schedules; "
                "`/digest remove <number>` makes room."
            )
        first = next((d for d in kept if d.name is None), None)
        if first is None or not first.enabled:
            s = first or Schedule(channel=ctx.channel, kind=ScheduleKind.DIGEST)
        else:
            taken = {d.name for d in kept if d.enabled}
            free = next(str(n) for n in range(2, 100) if str(n) not in taken)
            s = next((d for d in kept if d.name == free), None) or Schedule(
                channel=ctx.channel, kind=ScheduleKind.DIGEST, name=free
            )
        s = await _save(ctx, _digest_rule(s, words[1:], ctx))
        return _changed(f"Digest {_digest_number(s)} added: {_next_text(s, ctx)}.")
    if sub in ("remove", "rm", "delete"):
        svc.require_lead(ctx, "remove a digest schedule")
        which = words[1] if len(words) == 2 else ""
        by_number = {_digest_number(d): d for d in await _digests(ctx) if d.enabled}
        if not which.isdigit() or int(which) not in by_number:
            shown = ", ".join(str(n) for n in sorted(by_number)) or "none"
            raise UsageError(
                f"Say which digest schedule by its number in `/digest status` "
                f"(now: {shown}): `/digest remove 2`.",
                usage=DIGEST_USAGE,
            )
        gone = by_number[int(which)]
        if gone.name is None:
            await _save(ctx, dataclasses.replace(gone, enabled=False))
        else:
            await ctx.uow.schedules.remove(gone.stored_id)
        return _changed(f"Digest {which} removed ({describe_rule(rule_of(gone))}).")
    if sub == "status":
        return await _digest_status(ctx)
    raise UsageError(f"`{sub}` is not a /digest subcommand.", usage=DIGEST_USAGE)


async def _digests(ctx: Context) -> list[Schedule]:
    """The channel's digest schedules: the first (unnamed) one, then the added ones."""
    found = [
        s for s in await ctx.uow.schedules.of_channel(ctx.channel) if s.kind is ScheduleKind.DIGEST
    ]
    return sorted(found, key=_digest_number)


def _digest_number(s: Schedule) -> int:
    return int(s.name) if s.name and s.name.isdigit() else 1


def _digest_rule(s: Schedule, words: list[str], ctx: Context) -> Schedule:
    """``daily [weekdays] 17:00``, ``weekly fri 16:00``, ``monthly first monday 09:00``,
    ``schedule <days> <time>`` (each with an optional zone) -> ``s`` on that rule."""
    if not words or words[0] not in ("daily", "weekly", "monthly", "schedule"):
        raise UsageError(
            "Say how often: `daily 17:00`, `daily weekdays 17:00`, `weekly fri 16:00` or "
            "`monthly first monday 09:00`.",
            usage=DIGEST_USAGE,
        )
    how, rest = words[0], words[1:]
    if how == "daily" and rest[:1] not in (["weekdays"], ["workdays"]):
        rest = ["daily", *rest]
    if how == "monthly":
        rest = ["monthly", *rest]
    pattern, at, tz = _parse_rule(rest, ctx, DIGEST_USAGE)
    if how == "weekly" and (len(pattern.days) != 1 or pattern.nth or pattern.month_day):
        raise UsageError(
            "A weekly digest runs on one day: `/digest weekly fri 16:00`.", usage=DIGEST_USAGE
        )
    if how == "monthly" and not (pattern.nth or pattern.month_day):
        raise UsageError(
            "Say which day of the month: `/digest monthly first monday 09:00`, "
            "`monthly last friday 16:00` or `monthly day 1 09:00`.",
            usage=DIGEST_USAGE,
        )
    return _with_rule(s, pattern, at, tz)


async def _digest_status(ctx: Context) -> Reply:
    found = [s for s in await _digests(ctx) if s.enabled]
    if not found:
        return Reply(text="Digest: off. `/digest daily 17:00` schedules one.", usage=DIGEST_USAGE)
    lines = [f"{_digest_number(s)}. {_next_text(s, ctx)}" for s in found]
    recent = await ctx.uow.schedules.runs(ctx.channel, RunKind.DIGEST, limit=5)
    for run in recent:
        if run.status in (RunStatus.MISSED, RunStatus.SKIPPED, RunStatus.FAILED) and run.reason:
            day = _day(ctx, str(run.payload.get("local_date")), ctx.timezone)
            lines.append(f"{day}: {run.status.value} ({run.reason})")
    text = f"Digest: {lines[0].partition(' ')[2]}" if len(found) == 1 else "Digests of this channel"
    return Reply(text=text, sections=(Section("Digests", tuple(lines)),), usage=DIGEST_USAGE)
