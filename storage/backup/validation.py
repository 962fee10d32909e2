"""Reading a backup: :func:`parse`/:func:`validate` check all of it before anything is
written and name the first bad value by its path
(``channels[0].items[3].kind: 'bug' is not a kind``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Column

from bot.domain import plan
from bot.domain.model import (
    DEFAULT_ESCALATE_AFTER_DAYS,
    DEFAULT_QUESTIONS,
    MAX_ESCALATE_AFTER_DAYS,
    REMINDERS,
    RESPONSES,
    STAKEHOLDER_LEVELS,
    WEEKDAYS,
    WORKDAYS,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Lesson,
    Ref,
    Schedule,
    ScheduleKind,
    Status,
)
from bot.domain.schedules import NTH
from storage.backup.format import BACKUP_FORMAT, BACKUP_VERSION
from storage.tables import channels, item_events, items
from storage.tables import lessons as lessons_table

__all__ = [
    "STANDUP_MODES",
    "STATUSES",
    "Backup",
    "BackupError",
    "ChannelBackup",
    "InvalidBackup",
    "parse",
    "validate",
]

#: The states each kind of item can be in (see ``bot.services.items``).
STATUSES: Mapping[Kind, tuple[Status, ...]] = {
    Kind.BLOCKER: (Status.OPEN, Status.RESOLVED, Status.WITHDRAWN, Status.DEFERRED),
    Kind.RISK: (Status.OPEN, Status.CLOSED, Status.OCCURRED, Status.WITHDRAWN, Status.DEFERRED),
    Kind.DECISION: (
        Status.PENDING,
        Status.DECIDED,
        Status.SUPERSEDED,
        Status.REJECTED,
        Status.WITHDRAWN,
        Status.DEFERRED,
    ),
    Kind.CHANGE: (
        Status.PROPOSED,
        Status.APPROVED,
        Status.IMPLEMENTED,
        Status.REJECTED,
        Status.WITHDRAWN,
        Status.DEFERRED,
    ),
    Kind.MILESTONE: (Status.OPEN, Status.DONE, Status.WITHDRAWN, Status.DEFERRED),
}
STANDUP_MODES = ("thread", "dm")

#: The largest value an integer column holds on PostgreSQL.
_INT_MAX = 2**31 - 1
_LOCAL_TIME_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_T = TypeVar("_T")


class BackupError(Exception):
    """A backup that cannot be restored; ``message`` is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidBackup(BackupError):
    """The document is not a raidline backup this version can read; nothing was written."""


@dataclass(frozen=True)
class ChannelBackup:
    settings: ChannelSettings
    schedules: tuple[Schedule, ...]
    items: tuple[tuple[Item, tuple[Event, ...]], ...]
    #: the lessons learned (``/raid lesson``), oldest first
    lessons: tuple[Lesson, ...] = ()

    @property
    def channel(self) -> ChannelKey:
        return self.settings.channel


@dataclass(frozen=True)
class Backup:
    """A validated backup: what :func:`restore` writes."""

    exported_at: datetime
    channels: tuple[ChannelBackup, ...]

    @property
    def item_count(self) -> int:
        return sum(len(c.items) for c in self.channels)

    @property
    def event_count(self) -> int:
        return sum(len(events) for c in self.channels for _, events in c.items)


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Object:
    """A JSON object at ``path``, read key by key; every error names the key's path."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise InvalidBackup(f"{path}: expected an object, got {_type_name(value)}")
        self.value: dict[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> InvalidBackup:
        return InvalidBackup(f"{self.at(key)}: {problem}")

    def raw(self, key: str, *, required: bool) -> Any:
        if key not in self.value:
            if required:
                raise self.fail(key, "missing")
            return None
        return self.value[key]

    def text(
        self, key: str, *, required: bool = False, column: Column[Any] | None = None
    ) -> str | None:
        value = self.raw(key, required=required)
        if value is None:
            if required:
                raise self.fail(key, "must not be null")
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_type_name(value)}")
        if required and not value.strip():
            raise self.fail(key, "must not be empty")
        limit = getattr(column.type, "length", None) if column is not None else None
        if limit is not None and len(value) > limit:
            raise self.fail(key, f"is {len(value)} characters long; at most {limit} fit")
        return value

    def required_text(self, key: str, column: Column[Any] | None = None) -> str:
        value = self.text(key, required=True, column=column)
        assert value is not None  # noqa: S101 - text(required=True) never returns None
        return value

    def integer(
        self, key: str, *, low: int, high: int | None = None, default: int | None = None
    ) -> int | None:
        value = self.raw(key, required=False)
        if value is None:
            return default
        wrong_type = isinstance(value, bool) or not isinstance(value, int)
        if wrong_type or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise self.fail(key, f"expected a whole number {bounds}, got {_shown(value)}")
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_shown(value)}")
        return value

    def when(self, key: str, *, required: bool = False) -> datetime | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(key, f"{_shown(value)} is not an ISO 8601 date and time") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.fail(key, f"{_shown(value)} has no UTC offset (e.g. +00:00)")
        return moment.astimezone(UTC)

    def required_when(self, key: str) -> datetime:
        moment = self.when(key, required=True)
        assert moment is not None  # noqa: S101 - when(required=True) never returns None
        return moment

    def texts(
        self,
        key: str,
        default: Sequence[str] = (),
        check: Callable[[str], str | None] | None = None,
        column: Column[Any] | None = None,
    ) -> tuple[str, ...]:
        """A list of strings; ``check`` returns what is wrong with one, or None."""
        value = self.raw(key, required=False)
        if value is None:
            return tuple(default)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_type_name(value)}")
        limit = getattr(column.type, "length", None) if column is not None else None
        for index, entry in enumerate(value):
            where = f"{self.at(key)}[{index}]"
            if not isinstance(entry, str):
                raise InvalidBackup(f"{where}: expected a string, got {_type_name(entry)}")
            problem = check(entry) if check is not None else None
            if problem is None and limit is not None and len(entry) > limit:
                problem = f"is {len(entry)} characters long; at most {limit} fit"
            if problem is not None:
                raise InvalidBackup(f"{where}: {problem}")
        return tuple(value)

    def text_map(
        self, key: str, check: Callable[[str], str | None] | None = None
    ) -> dict[str, str]:
        value = self.raw(key, required=False)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected an object of strings, got {_type_name(value)}")
        for name, entry in value.items():
            where = f"{self.at(key)}.{name}"
            if not isinstance(entry, str):
                raise InvalidBackup(f"{where}: expected a string, got {_type_name(entry)}")
            problem = check(entry) if check is not None else None
            if problem is not None:
                raise InvalidBackup(f"{where}: {problem}")
        return dict(value)

    def objects(self, key: str, *, required: bool = False) -> Iterator[_Object]:
        value = self.raw(key, required=required)
        if value is None:
            if required:
                raise self.fail(key, "must be a list, not null")
            return
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_type_name(value)}")
        for index, entry in enumerate(value):
            yield _Object(entry, f"{self.at(key)}[{index}]")

    def choice(self, key: str, parse: Callable[[str], _T], what: str) -> _T:
        value = self.required_text(key)
        try:
            return parse(value)
        except ValueError:
            raise self.fail(key, f"{_shown(value)} is not {what}") from None


def _weekday(text: str) -> str | None:
    return None if text in WEEKDAYS else f"{_shown(text)} is not a weekday ({', '.join(WEEKDAYS)})"


def _iso_date(text: str) -> str | None:
    try:
        date.fromisoformat(text)
    except ValueError:
        return f"{_shown(text)} is not an ISO date (YYYY-MM-DD)"
    return None


def _local_time(obj: _Object, key: str, default: str | None) -> str | None:
    value = obj.text(key)
    if value is None:
        return default
    if not _LOCAL_TIME_RE.match(value):
        raise obj.fail(key, f"{_shown(value)} is not a time of day (HH:MM)")
    return value


def _zone(obj: _Object, key: str, *, default: str | None) -> str | None:
    value = obj.text(key, column=channels.c.timezone)
    if value is None:
        return default
    try:
        ZoneInfo(value)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise obj.fail(key, f"{_shown(value)} is not a time zone") from None
    return value


def _settings(channel: ChannelKey, obj: _Object) -> ChannelSettings:
    return ChannelSettings(
        channel=channel,
        timezone=_zone(obj, "timezone", default=None),
        leads=obj.texts("leads"),
        nudges_enabled=obj.boolean("nudges_enabled", True),
        work_days=obj.texts("work_days", WORKDAYS, _weekday),
        work_start=_local_time(obj, "work_start", "09:00") or "09:00",
        work_end=_local_time(obj, "work_end", "18:00") or "18:00",
        last_digest_at=obj.when("last_digest_at"),
        holidays=_holiday_calendar(obj, "holidays"),
        days_off=tuple(sorted(set(obj.texts("days_off", (), _iso_date)))),
        link_patterns=_link_patterns(obj),
        closing_since=obj.when("closing_since"),
        closed_at=obj.when("closed_at"),
        closed_by=obj.text("closed_by", column=channels.c.closed_by),
        stakeholders=_stakeholders(obj, "stakeholders"),
        escalate_after_days=obj.integer(
            "escalate_after_days",
            low=1,
            high=MAX_ESCALATE_AFTER_DAYS,
            default=DEFAULT_ESCALATE_AFTER_DAYS,
        )
        or DEFAULT_ESCALATE_AFTER_DAYS,
    )


def _link_patterns(obj: _Object) -> dict[str, str]:
    found = obj.text_map("link_patterns")
    for prefix, pattern in found.items():
        try:
            plan.parse_pattern(prefix, pattern)
        except plan.LinkError as e:
            raise obj.fail("link_patterns", f"{_shown(prefix)}: {e}") from None
    return found


def _ref_problem(text: str) -> str | None:
    return None if Ref.parse(text) is not None else f"{_shown(text)} is not a ref such as B-7"


def _link_problem(text: str) -> str | None:
    try:
        plan.parse_tracker_link(text)
    except plan.LinkError as e:
        return str(e)
    return None


def _stakeholders(obj: _Object, key: str) -> dict[str, tuple[str, ...]]:
    """person -> levels (each one of ``STAKEHOLDER_LEVELS``); people without a level left out."""
    value = obj.raw(key, required=False)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise obj.fail(key, f"expected an object of lists, got {_type_name(value)}")
    found: dict[str, tuple[str, ...]] = {}
    for person in value:
        if not isinstance(person, str) or not person.strip():
            raise obj.fail(key, f"{_shown(person)} is not a person")
        levels = _Object(value, obj.at(key)).texts(person, (), _stakeholder_level)
        if levels:
            found[person] = tuple(dict.fromkeys(levels))
    return found


def _stakeholder_level(text: str) -> str | None:
    if text in STAKEHOLDER_LEVELS:
        return None
    return f"{_shown(text)} is not a stakeholder level ({', '.join(STAKEHOLDER_LEVELS)})"


_HOLIDAY_CALENDAR_RE = re.compile(r"^[A-Z]{2,3}(-[A-Za-z0-9]{1,28})?$")


def _holiday_calendar(obj: _Object, key: str) -> str | None:
    value = obj.text(key, column=channels.c.holidays)
    if value is not None and not _HOLIDAY_CALENDAR_RE.match(value):
        raise obj.fail(key, f"{_shown(value)} is not a holiday calendar code (e.g. DE-BY, US)")
    return value


_REMINDERS = ", ".join(REMINDERS)
_SCHEDULE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,23}")


def _zone_problem(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return f"{_shown(value)} is not a time zone"
    return None


def _zones(obj: _Object) -> dict[str, str]:
    """Members' own time zones: person -> IANA zone."""
    return obj.text_map("zones", _zone_problem)


def _schedule_name(obj: _Object, kind: ScheduleKind) -> str | None:
    name = obj.text("name")
    if name is None:
        return None
    if kind is ScheduleKind.DIGEST:
        # a channel's second, third... digest schedule (/digest add) is numbered
        if not (name.isdigit() and 2 <= int(name) <= 99):
            raise obj.fail("name", f"{_shown(name)} is not the number of a digest (2, 3, …)")
        return name
    if not _SCHEDULE_NAME.fullmatch(name):
        raise obj.fail("name", f"{_shown(name)} is not the name of a standup (e.g. retro)")
    return name


def _schedule(channel: ChannelKey, obj: _Object) -> Schedule:
    kind = obj.choice("kind", ScheduleKind, "a schedule kind (standup, digest)")
    days = obj.texts("days", (), _weekday)
    at = _local_time(obj, "at", None)
    enabled = obj.boolean("enabled", False)
    if enabled and not (days and at):
        raise InvalidBackup(f"{obj.path}: an enabled schedule needs its days and time (at)")
    mode = obj.text("mode") or "thread"
    if mode not in STANDUP_MODES:
        raise obj.fail("mode", f"{_shown(mode)} is not a standup mode (thread, dm)")
    reminder = obj.text("reminder") or "75%"
    if reminder not in REMINDERS:
        raise obj.fail("reminder", f"{_shown(reminder)} is not a reminder setting ({_REMINDERS})")
    return Schedule(
        channel=channel,
        kind=kind,
        days=days,
        at=at,
        timezone=_zone(obj, "timezone", default="UTC") or "UTC",
        enabled=enabled,
        questions=obj.texts("questions", DEFAULT_QUESTIONS),
        members=obj.texts("members"),
        window_minutes=obj.integer("window_minutes", low=1, high=_INT_MAX, default=120) or 120,
        mode=mode,
        skip_dates=obj.texts("skip_dates", (), _iso_date),
        away=obj.text_map("away", _iso_date),
        updated_at=obj.when("updated_at"),
        name=_schedule_name(obj, kind),
        late_minutes=obj.integer("late_minutes", low=0, high=24 * 60, default=0) or 0,
        reminder=reminder,
        optional=obj.texts("optional"),
        observers=obj.texts("observers"),
        mentions=obj.boolean("mentions", True),
        local_times=obj.boolean("local_times", False),
        zones=_zones(obj),
        every_weeks=obj.integer("every_weeks", low=1, high=2, default=1) or 1,
        week_anchor=_optional_date(obj, "week_anchor"),
        nth=_nth(obj),
        month_day=obj.integer("month_day", low=1, high=31),
    )


def _optional_date(obj: _Object, key: str) -> str | None:
    value = obj.text(key)
    if value is not None and (problem := _iso_date(value)):
        raise obj.fail(key, problem)
    return value


def _nth(obj: _Object) -> str | None:
    value = obj.text("nth")
    if value is not None and value not in NTH:
        raise obj.fail("nth", f"{_shown(value)} is not one of {', '.join(NTH)}")
    return value


def _event(obj: _Object) -> Event:
    changes: list[Change] = []
    for change in obj.objects("changes"):
        changes.append(
            Change(
                field=change.required_text("field"),
                old=change.text("old"),
                new=change.text("new"),
            )
        )
    return Event(
        at=obj.required_when("at"),
        actor=obj.required_text("actor", item_events.c.actor),
        action=obj.required_text("action", item_events.c.action),
        changes=tuple(changes),
        note=obj.text("note"),
    )


def _item(channel: ChannelKey, obj: _Object) -> tuple[Item, tuple[Event, ...]]:
    kind = obj.choice("kind", Kind, "a kind (" + ", ".join(k.value for k in Kind) + ")")
    ref_text = obj.required_text("ref")
    ref = Ref.parse(ref_text)
    if ref is None:
        raise obj.fail("ref", f"{_shown(ref_text)} is not a ref such as B-7")
    if ref.kind is not kind:
        raise obj.fail("ref", f"{ref} is not the ref of a {kind.label}")
    status = obj.choice("status", Status, "a status")
    if status not in STATUSES[kind]:
        allowed = ", ".join(s.value for s in STATUSES[kind])
        raise obj.fail("status", f"{status.value!r} is not a status of a {kind.label} ({allowed})")
    response = obj.text("response")
    if response is not None and response not in RESPONSES:
        raise obj.fail("response", f"{_shown(response)} is not a risk response")
    item = Item(
        channel=channel,
        kind=kind,
        number=ref.number,
        status=status,
        title=obj.required_text("title", items.c.title),
        reporter=obj.required_text("reporter", items.c.reporter),
        created_at=obj.required_when("created_at"),
        updated_at=obj.required_when("updated_at"),
        details=obj.text("details"),
        owner=obj.text("owner", column=items.c.owner),
        due_at=obj.when("due"),
        waiting_on=obj.text("waiting_on"),
        resolution=obj.text("resolution"),
        likelihood=obj.integer("likelihood", low=1, high=5),
        impact=obj.integer("impact", low=1, high=5),
        response=response,
        mitigation=obj.text("mitigation"),
        outcome=obj.text("outcome"),
        rationale=obj.text("rationale"),
        impacts=obj.text_map("impacts"),
        approvers=obj.texts("approvers"),
        decision_note=obj.text("decision_note"),
        decided_by=obj.text("decided_by", column=items.c.decided_by),
        decided_at=obj.when("decided_at"),
        linked_ref=obj.text("linked_ref", column=items.c.linked_ref),
        source_url=obj.text("source_url"),
        nudge_count=obj.integer("nudge_count", low=0, high=_INT_MAX, default=0) or 0,
        last_nudged_at=obj.when("last_nudged_at"),
        snoozed_until=obj.when("snoozed_until"),
        milestone=_milestone(obj),
        depends_on=obj.texts("depends_on", (), _ref_problem),
        links=obj.texts("links", (), _link_problem),
        revisit_at=obj.when("revisit_at"),
        deferred_reason=obj.text("deferred_reason"),
    )
    events = tuple(_event(e) for e in obj.objects("events", required=True))
    return item, events


def _milestone(obj: _Object) -> str | None:
    value = obj.text("milestone", column=items.c.milestone)
    ref = Ref.parse(value) if value is not None else None
    if value is not None and (ref is None or ref.kind is not Kind.MILESTONE):
        raise obj.fail("milestone", f"{_shown(value)} is not a milestone's ref such as M-1")
    return value


def _channel(obj: _Object) -> ChannelBackup:
    key = ChannelKey(
        obj.required_text("platform", channels.c.platform),
        obj.required_text("workspace", channels.c.workspace),
        obj.required_text("channel", channels.c.external_id),
    )
    settings = (
        _settings(key, _Object(obj.value["settings"], obj.at("settings")))
        if obj.value.get("settings") is not None
        else ChannelSettings(channel=key)
    )
    found_schedules: dict[tuple[ScheduleKind, str | None], Schedule] = {}
    for entry in obj.objects("schedules"):
        schedule = _schedule(key, entry)
        if (schedule.kind, schedule.name) in found_schedules:
            which = f"`{schedule.name}` " if schedule.name else ""
            raise InvalidBackup(
                f"{entry.at('kind')}: a second {which}{schedule.kind.value} schedule"
            )
        found_schedules[schedule.kind, schedule.name] = schedule
    found_items: dict[Ref, tuple[Item, tuple[Event, ...]]] = {}
    for entry in obj.objects("items", required=True):
        item, events = _item(key, entry)
        if item.ref in found_items:
            raise InvalidBackup(f"{entry.at('ref')}: {item.ref} appears twice in this channel")
        found_items[item.ref] = (item, events)
    lessons = tuple(
        Lesson(
            key,
            entry.required_text("author", lessons_table.c.author),
            entry.required_text("text"),
            entry.required_when("created_at"),
        )
        for entry in obj.objects("lessons")
    )
    return ChannelBackup(
        settings, tuple(found_schedules.values()), tuple(found_items.values()), lessons
    )


def validate(document: Any) -> Backup:
    """The backup in ``document`` (parsed JSON), checked; :class:`InvalidBackup` if it is not."""
    if not isinstance(document, dict):
        raise InvalidBackup(
            f"not a raidline backup: expected an object, got {_type_name(document)}"
        )
    root = _Object(document, "")
    fmt = root.raw("format", required=True)
    if fmt != BACKUP_FORMAT:
        raise root.fail(
            "format",
            f"{_shown(fmt)} is not {BACKUP_FORMAT!r}: not a raidline backup "
            "(`raidline export --all --format json` makes one)",
        )
    version = root.raw("version", required=True)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise root.fail("version", f"{_shown(version)} is not a backup version")
    if version > BACKUP_VERSION:
        raise root.fail(
            "version",
            f"backup version {version} is newer than this raidline reads ({BACKUP_VERSION}); "
            "restore it with a newer raidline",
        )
    exported_at = root.required_when("exported_at")
    found: dict[ChannelKey, ChannelBackup] = {}
    for entry in root.objects("channels", required=True):
        channel = _channel(entry)
        if channel.channel in found:
            raise InvalidBackup(f"{entry.path}: channel {channel.channel} appears twice")
        found[channel.channel] = channel
    return Backup(exported_at, tuple(found.values()))


def parse(data: bytes | str) -> Backup:
    """A backup file's contents, decoded and validated."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidBackup(f"not UTF-8 text (byte {exc.start})") from None
    if not data.strip():
        raise InvalidBackup("the file is empty, not a raidline backup")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidBackup(
            f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidBackup("not a raidline backup: JSON nested too deeply") from None
    return validate(document)
