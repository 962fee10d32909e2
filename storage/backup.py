"""Restore a full backup (``raidline export --all``) into an empty database.

The document is the one ``bot.services.export.export_all`` makes::

    {"format": "raidline-backup", "version": 1, "exported_at": "…",
     "channels": [{"platform", "workspace", "channel", "settings": {…},
                   "schedules": [{…}], "items": [{"ref", "kind", …, "events": [{…}]}]}]}

:func:`parse`/:func:`validate` check all of it before anything is written and name the first
bad value by its path (``channels[0].items[3].kind: 'bug' is not a kind``). :func:`restore`
then writes it in one transaction, or nothing at all: channels with their settings, standup
and digest schedules (the next run recomputed from the rule), items with their own ref
numbers and timestamps, every event in order, and ref counters at each kind's highest number
so that new items continue where the log left off. Scheduler state (runs, opened standups and
their answers) is not in a backup; the scheduler starts afresh from the schedules.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Column, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.model import (
    DEFAULT_QUESTIONS,
    RESPONSES,
    WEEKDAYS,
    WORKDAYS,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Ref,
    Schedule,
    ScheduleKind,
    Status,
)
from bot.domain.schedules import next_run
from bot.errors import Unavailable
from bot.services.export import BACKUP_FORMAT, BACKUP_VERSION
from storage.db import is_sqlite, is_unavailable_error
from storage.repositories import _item_values, _schedule_values
from storage.tables import channels, item_events, items, ref_counters, schedules
from storage.uow import SqlUnitOfWork, make_uow_factory

__all__ = [
    "Backup",
    "BackupError",
    "ChannelBackup",
    "InvalidBackup",
    "RestoreReport",
    "TargetNotEmpty",
    "parse",
    "restore",
    "snapshot_uow_factory",
    "validate",
]

#: The states each kind of item can be in (see ``bot.services.items``).
STATUSES: Mapping[Kind, tuple[Status, ...]] = {
    Kind.BLOCKER: (Status.OPEN, Status.RESOLVED, Status.WITHDRAWN),
    Kind.RISK: (Status.OPEN, Status.CLOSED, Status.OCCURRED, Status.WITHDRAWN),
    Kind.DECISION: (
        Status.PENDING,
        Status.DECIDED,
        Status.SUPERSEDED,
        Status.REJECTED,
        Status.WITHDRAWN,
    ),
    Kind.CHANGE: (
        Status.PROPOSED,
        Status.APPROVED,
        Status.IMPLEMENTED,
        Status.REJECTED,
        Status.WITHDRAWN,
    ),
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


class TargetNotEmpty(BackupError):
    """The target database already has channels or items; nothing was written."""


@dataclass(frozen=True)
class ChannelBackup:
    settings: ChannelSettings
    schedules: tuple[Schedule, ...]
    items: tuple[tuple[Item, tuple[Event, ...]], ...]

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


@dataclass(frozen=True)
class RestoreReport:
    channels: int
    items: int
    events: int
    schedules: int

    def __str__(self) -> str:
        return (
            f"Restored {_count(self.channels, 'channel')}, {_count(self.items, 'item')}, "
            f"{_count(self.events, 'event')}."
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- validation ------------------------------------------------------------------------------


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
    )


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
    )


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
    )
    events = tuple(_event(e) for e in obj.objects("events", required=True))
    return item, events


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
    found_schedules: dict[ScheduleKind, Schedule] = {}
    for entry in obj.objects("schedules"):
        schedule = _schedule(key, entry)
        if schedule.kind in found_schedules:
            raise InvalidBackup(f"{entry.at('kind')}: a second {schedule.kind.value} schedule")
        found_schedules[schedule.kind] = schedule
    found_items: dict[Ref, tuple[Item, tuple[Event, ...]]] = {}
    for entry in obj.objects("items", required=True):
        item, events = _item(key, entry)
        if item.ref in found_items:
            raise InvalidBackup(f"{entry.at('ref')}: {item.ref} appears twice in this channel")
        found_items[item.ref] = (item, events)
    return ChannelBackup(settings, tuple(found_schedules.values()), tuple(found_items.values()))


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


# --- restoring -------------------------------------------------------------------------------


async def restore(
    engine: AsyncEngine, document: Backup | Mapping[str, Any], *, now: datetime | None = None
) -> RestoreReport:
    """Write the backup into the empty database behind ``engine``, in one transaction.

    Raises :class:`InvalidBackup` for a malformed document and :class:`TargetNotEmpty` when
    the database has channels or items; in both cases nothing is written. ``now`` is when the
    enabled schedules' next runs are computed from (default: the current time).
    """
    backup = document if isinstance(document, Backup) else validate(document)
    now = now or datetime.now(UTC)
    try:
        # One transaction: a failure anywhere rolls every row back. On SQLite it begins
        # IMMEDIATE, so no other writer gets in between the emptiness check and the inserts.
        async with engine.begin() as connection:
            await _require_empty(connection)
            counts = RestoreReport(0, 0, 0, 0)
            for channel in backup.channels:
                counts = _add(counts, await _restore_channel(connection, channel, now))
        return counts
    except BackupError:
        raise
    except Exception as exc:
        if is_unavailable_error(exc):
            raise Unavailable(
                "raidline can't reach the target database; nothing was restored."
            ) from exc
        if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
            reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
            raise BackupError(
                f"the database refused the backup ({reason}); nothing was restored"
            ) from exc
        raise


def _add(a: RestoreReport, b: RestoreReport) -> RestoreReport:
    return RestoreReport(
        a.channels + b.channels, a.items + b.items, a.events + b.events, a.schedules + b.schedules
    )


async def _require_empty(connection: AsyncConnection) -> None:
    if connection.dialect.name != "sqlite":
        # Writers wait until the restore commits (readers do not); a second restore waits
        # and then finds the database no longer empty.
        await connection.exec_driver_sql("LOCK TABLE channels IN EXCLUSIVE MODE")
    channel_count = (await connection.execute(select(func.count()).select_from(channels))).scalar()
    item_count = (await connection.execute(select(func.count()).select_from(items))).scalar()
    if channel_count or item_count:
        raise TargetNotEmpty(
            f"the target database is not empty ({_count(channel_count or 0, 'channel')}, "
            f"{_count(item_count or 0, 'item')}); nothing was restored: import into a new, "
            "empty database"
        )


def _next_run_at(schedule: Schedule, now: datetime) -> datetime | None:
    if not (schedule.enabled and schedule.days and schedule.at):
        return None
    return next_run(schedule.days, schedule.at, schedule.timezone, now)


async def _restore_channel(
    connection: AsyncConnection, backup: ChannelBackup, now: datetime
) -> RestoreReport:
    settings = backup.settings
    key = backup.channel
    channel_id: int = (
        await connection.execute(
            insert(channels)
            .values(
                platform=key.platform,
                workspace=key.workspace,
                external_id=key.channel,
                timezone=settings.timezone,
                leads=list(settings.leads),
                nudges_enabled=settings.nudges_enabled,
                created_at=now,
                work_days=list(settings.work_days),
                work_start=settings.work_start,
                work_end=settings.work_end,
                last_digest_at=settings.last_digest_at,
            )
            .returning(channels.c.id)
        )
    ).scalar_one()

    if backup.schedules:
        await connection.execute(
            insert(schedules),
            [
                {
                    **_schedule_values(replace(s, next_run_at=_next_run_at(s, now))),
                    "channel_id": channel_id,
                    "kind": s.kind.value,
                    "updated_at": s.updated_at or now,
                }
                for s in backup.schedules
            ],
        )
    if not backup.items:
        return RestoreReport(1, 0, 0, len(backup.schedules))

    await connection.execute(
        insert(items),
        [
            {
                **_item_values(item),
                "channel_id": channel_id,
                "date_moves": sum(event.moves_date for event in events),
            }
            for item, events in backup.items
        ],
    )
    ids = {
        (row.kind, row.number): row.id
        for row in await connection.execute(
            select(items.c.id, items.c.kind, items.c.number).where(items.c.channel_id == channel_id)
        )
    }
    # Events go in by time across the channel's items (each item's own order kept as it is),
    # so "events since" (digests) reads them as they happened, as the original ids did.
    timeline = heapq.merge(
        *(
            [(ids[(item.kind.value, item.number)], event) for event in events]
            for item, events in backup.items
        ),
        key=lambda pair: pair[1].at,
    )
    event_rows = [
        {
            "item_id": item_id,
            "channel_id": channel_id,
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in event.changes],
            "note": event.note,
        }
        for item_id, event in timeline
    ]
    if event_rows:
        await connection.execute(insert(item_events), event_rows)

    highest: dict[Kind, int] = {}
    for item, _ in backup.items:
        highest[item.kind] = max(highest.get(item.kind, 0), item.number)
    await connection.execute(
        insert(ref_counters),
        [
            {"channel_id": channel_id, "kind": kind.value, "last_number": number}
            for kind, number in highest.items()
        ],
    )
    return RestoreReport(1, len(backup.items), len(event_rows), len(backup.schedules))


# --- exporting -------------------------------------------------------------------------------


def snapshot_uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """Units of work that read one consistent snapshot, for ``export_all``.

    PostgreSQL's default READ COMMITTED would let a backup taken while the bot runs see an
    item without the event committed just after it was read; REPEATABLE READ reads every
    table as of the first statement. SQLite's transactions are serialised anyway.
    """
    if not is_sqlite(engine):
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    return make_uow_factory(engine)
