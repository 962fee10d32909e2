"""The calendar feed as iCalendar (RFC 5545), and the ``/raid calendar`` replies.

Every text a user typed (titles, questions, notes) goes into the feed through ``icalendar``,
which escapes it; nothing here writes iCalendar syntax by hand. Each item and each schedule
keeps one UID for as long as it exists, so a calendar that refreshes the feed moves an event
instead of adding a second one.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain import kinds
from bot.domain.model import WEEKDAYS, ChannelKey, Item, Kind, Schedule, ScheduleKind
from bot.domain.schedules import NTH, Recurrence, clock, describe_rule, rule_of
from bot.messages import Reply, Section, Tone
from bot.ports import Timetable
from bot.services.calendar import Feed
from bot.text.dates import format_datetime
from bot.views.items import level

if TYPE_CHECKING:
    from icalendar import Event

MIME_TYPE = "text/calendar"
PRODID = "-//raidline//calendar feed//EN"
#: How often calendars are asked to fetch the feed again (Outlook and Apple read these;
#: Google Calendar keeps its own pace, several hours).
REFRESH = timedelta(hours=1)
#: How long a digest shows in the calendar: it is a message, not a meeting.
DIGEST_MINUTES = 15

#: An item's date, as its event's title says it.
_DATE_WORDS = {Kind.BLOCKER: "due", Kind.RISK: "review", Kind.DECISION: "decide by"}
_ICAL_DAYS = {day: day[:2].upper() for day in WEEKDAYS}
_MENTION_RE = re.compile(r"<@([^>]+)>")


def channel_label(channel: ChannelKey, name: str | None) -> str:
    """``#apollo``: the channel's name when the platform gave one, else its id."""
    return "#" + (name or channel.channel).lstrip("#")


def _plain(text: str) -> str:
    """People as ``@id`` (a calendar shows no chat mentions)."""
    return _MENTION_RE.sub(r"@\1", text)


def _uid(channel: ChannelKey, what: str) -> str:
    return f"{what}.{channel.channel}.{channel.workspace}.{channel.platform}@raidline"


def render(feed: Feed, now: datetime, timetable: Timetable) -> bytes:
    """The feed as an ``.ics`` document."""
    from icalendar import Calendar, vDuration  # here: only a feed needs it (memory at start-up)

    label = channel_label(feed.channel, feed.channel_name)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"raidline {label}")
    calendar.add(
        "x-wr-caldesc",
        f"Due dates, reviews, decide-by dates, standups and digests of {label}, from raidline.",
    )
    calendar.add("x-wr-timezone", feed.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for item in feed.items:
        if item.due_at is not None:
            calendar.add_component(_item_event(item, item.due_at, label, feed.timezone, now))
    for schedule in feed.schedules:
        if schedule.at and schedule.days:
            calendar.add_component(_schedule_event(schedule, schedule.at, label, now, timetable))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _item_event(item: Item, due: datetime, label: str, tz: str, now: datetime) -> Event:
    """An all-day event on the item's date ``due`` (in the channel's time zone)."""
    from icalendar import Event  # here: only a feed needs it (memory at start-up)

    day = due.astimezone(ZoneInfo(tz)).date()
    event = Event()
    event.add("uid", _uid(item.channel, str(item.ref)))
    event.add("dtstamp", now)
    event.add("summary", f"{label} · {item.ref} {_DATE_WORDS[item.kind]}: {item.title}")
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a date to keep in mind, not time taken
    # Moving the date is a new version of the same event.
    event.add("sequence", item.date_moves)
    event.add("last-modified", item.updated_at)
    event.add("categories", [item.kind.label])
    event.add("description", "\n".join(_item_lines(item, due, label, tz, now)))
    if item.source_url:
        event.add("url", item.source_url)
    return event


def _item_lines(item: Item, due: datetime, label: str, tz: str, now: datetime) -> list[str]:
    """What the event says about its item; nothing relative to the fetch (no "in 2 days"),
    which a calendar would keep showing long after."""
    row = kinds.KINDS[item.kind]
    owner = f"@{item.owner}" if item.owner else row.no_owner
    lines = [
        f"{item.kind.label.capitalize()} {item.ref} in {label}: {item.title}",
        f"{row.date_label or 'Date'}: {format_datetime(due, tz, now)}",
        f"{row.owner_label}: {owner}",
    ]
    if item.kind is Kind.BLOCKER and item.waiting_on:
        lines.append(f"Waiting on: {_plain(item.waiting_on)}")
    if item.kind is Kind.RISK and item.score:
        odds, impact = level(item.likelihood), level(item.impact)
        lines.append(f"Score: {item.score} (likelihood {odds}, impact {impact})")
    if item.kind is Kind.RISK and item.mitigation:
        lines.append(f"Mitigation: {_plain(item.mitigation)}")
    lines.append(f"Reported by @{item.reporter}")
    return lines


def _rrule(rule: Recurrence) -> dict[str, Any]:
    """The iCalendar RRULE of a schedule's rule."""
    if rule.month_day is not None:
        return {"freq": "monthly", "bymonthday": [rule.month_day]}
    if rule.nth is not None:
        position = -1 if rule.nth == "last" else NTH.index(rule.nth) + 1
        return {"freq": "monthly", "byday": [f"{position}{_ICAL_DAYS[rule.days[0]]}"]}
    found: dict[str, Any] = {"freq": "weekly", "byday": [_ICAL_DAYS[d] for d in rule.days]}
    if rule.every_weeks > 1:
        found["interval"] = rule.every_weeks
    return found


def _schedule_event(
    schedule: Schedule, at: str, label: str, now: datetime, timetable: Timetable
) -> Event:
    """A recurring event on the schedule's days at local time ``at``: weekly, every other
    week, or monthly, as the schedule's rule says."""
    from icalendar import Event  # here: only a feed needs it (memory at start-up)

    zone = ZoneInfo(schedule.timezone)
    # The rule's first run after it was last set: stable from one fetch to the next, so
    # past occurrences stay where they were. At the rule's wall time, also on a day that
    # skips it (02:30 on a spring-forward night): the calendar moves that one occurrence,
    # the later ones stay at 02:30.
    anchor = schedule.updated_at or now
    rule = dataclasses.replace(rule_of(schedule), at=at)
    first_day = timetable.next_run(rule, anchor).astimezone(zone).date()
    first = datetime.combine(first_day, clock(at), tzinfo=zone)
    standup = schedule.kind is ScheduleKind.STANDUP
    minutes = schedule.window_minutes if standup else DIGEST_MINUTES
    event = Event()
    named = f":{schedule.name}" if schedule.name else ""  # a named standup (/standup add)
    event.add("uid", _uid(schedule.channel, schedule.kind.value + named))
    event.add("dtstamp", now)
    title = "Standup" if standup else "Digest"
    if schedule.name:
        title += f" ({schedule.name})"
    event.add("summary", f"{label} · {title}")
    event.add("dtstart", first)
    event.add("duration", timedelta(minutes=minutes))
    event.add("rrule", _rrule(rule))
    skipped = [
        datetime.combine(day, clock(at), tzinfo=zone)
        for day in sorted(date.fromisoformat(d) for d in schedule.skip_dates)
        if day >= first_day
    ]
    if skipped:
        event.add("exdate", skipped)
    if schedule.updated_at is not None:
        event.add("last-modified", schedule.updated_at)
    when = describe_rule(rule)
    if standup:
        questions = "\n".join(f"- {q}" for q in schedule.questions)
        description = (
            f"The standup of {label} opens {when}; answers are collected for "
            f"{_minutes(schedule.window_minutes)}.\nQuestions:\n{questions}"
        )
    else:
        description = (
            f"raidline posts the digest of {label} {when}: what changed, what is blocked, "
            "what needs a decision."
        )
    event.add("description", description)
    return event


def _minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and not rest:
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if not hours:
        return f"{rest} minutes"
    return f"{hours} h {rest} min"


# --- the chat replies -----------------------------------------------------------------------

SUBSCRIBE = (
    "Google Calendar: Other calendars > + > From URL, paste the link, Add calendar.",
    "Outlook: Add calendar > Subscribe from web, paste the link, Import.",
    "Apple Calendar: File > New Calendar Subscription, paste the link.",
)

OFF = (
    "There is no calendar feed here: this raidline serves no calendar "
    "(its operator set RAIDLINE_CALENDAR=off, or it runs without its web server, "
    "as `raidline console` does)."
)


def link_reply(url: str, label: str, *, reset: bool, revoked: int) -> Reply:
    """The private answer to ``/raid calendar``: the link and how to subscribe."""
    if reset:
        earlier = (
            f"Your {revoked} earlier calendar link{'s' if revoked != 1 else ''} for {label} "
            f"{'no longer work' if revoked != 1 else 'no longer works'}. "
            if revoked
            else f"You had no working calendar link for {label}. "
        )
        text = f"{earlier}Your new calendar link for {label}:\n{url}"
    else:
        text = f"Your calendar link for {label}:\n{url}"
    text += (
        "\nIt shows the due dates of open blockers, the review dates of open risks, the "
        "decide-by dates of pending decisions, and this channel's standups and digests. "
        "Keep it to yourself: anyone with the link can read them. "
        "`/raid calendar reset` turns your links off and gives you a new one."
    )
    return Reply(
        text=text,
        tone=Tone.SUCCESS,
        sections=(Section("Subscribe", SUBSCRIBE),),
    )


__all__ = ["MIME_TYPE", "OFF", "SUBSCRIBE", "channel_label", "link_reply", "render"]
