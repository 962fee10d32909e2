"""Restoring a validated backup into an empty database, in one transaction or not at all.

:func:`restore` writes channels with their settings, standup and digest schedules (the next
run recomputed from the rule), items with their own ref numbers and timestamps, every event in
order, and ref counters at each kind's highest number so that new items continue where the log
left off. Scheduler state (runs, opened standups and their answers) is not in a backup; the
scheduler starts afresh from the schedules.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.model import Kind, Schedule
from bot.domain.schedules import ZoneTimetable, rule_of
from bot.errors import Unavailable
from bot.ports import Timetable
from storage.backup.validation import Backup, BackupError, ChannelBackup, validate
from storage.db import is_unavailable_error
from storage.repositories import item_values, schedule_values
from storage.repositories.rows import stakeholder_values, stored_kind
from storage.tables import channels, item_events, items, lessons, ref_counters, schedules

__all__ = ["RestoreReport", "TargetNotEmpty", "restore"]


class TargetNotEmpty(BackupError):
    """The target database already has channels or items; nothing was written."""


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


async def restore(
    engine: AsyncEngine,
    document: Backup | Mapping[str, Any],
    *,
    now: datetime | None = None,
    timetable: Timetable | None = None,
) -> RestoreReport:
    """Write the backup into the empty database behind ``engine``, in one transaction.

    Raises :class:`InvalidBackup` for a malformed document and :class:`TargetNotEmpty` when
    the database has channels or items; in both cases nothing is written. ``now`` is when the
    enabled schedules' next runs are computed from (default: the current time), by ``timetable``
    (default: the zoneinfo-only fallback).
    """
    backup = document if isinstance(document, Backup) else validate(document)
    now = now or datetime.now(UTC)
    timetable = timetable or ZoneTimetable()
    try:
        # One transaction: a failure anywhere rolls every row back. On SQLite it begins
        # IMMEDIATE, so no other writer gets in between the emptiness check and the inserts.
        async with engine.begin() as connection:
            await _require_empty(connection)
            counts = RestoreReport(0, 0, 0, 0)
            for channel in backup.channels:
                counts = _add(counts, await _restore_channel(connection, channel, now, timetable))
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


def _next_run_at(schedule: Schedule, now: datetime, timetable: Timetable) -> datetime | None:
    if not (schedule.enabled and schedule.days and schedule.at):
        return None
    # A "dm local" standup is claimed ahead of its time (Schedule.lead).
    return timetable.next_run(rule_of(schedule), now) - schedule.lead


async def _restore_channel(
    connection: AsyncConnection, backup: ChannelBackup, now: datetime, timetable: Timetable
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
                holidays=settings.holidays,
                days_off=list(settings.days_off) or None,
                link_patterns=dict(settings.link_patterns) or None,
                closing_since=settings.closing_since,
                closed_at=settings.closed_at,
                closed_by=settings.closed_by,
                **stakeholder_values(settings),
            )
            .returning(channels.c.id)
        )
    ).scalar_one()

    if backup.schedules:
        await connection.execute(
            insert(schedules),
            [
                {
                    **schedule_values(replace(s, next_run_at=_next_run_at(s, now, timetable))),
                    "channel_id": channel_id,
                    "kind": stored_kind(s.kind, s.name),
                    "updated_at": s.updated_at or now,
                }
                for s in backup.schedules
            ],
        )
    if backup.lessons:
        await connection.execute(
            insert(lessons),
            [
                {
                    "channel_id": channel_id,
                    "author": lesson.author,
                    "text": lesson.text,
                    "created_at": lesson.created_at,
                }
                for lesson in backup.lessons
            ],
        )
    if not backup.items:
        return RestoreReport(1, 0, 0, len(backup.schedules))

    await connection.execute(
        insert(items),
        [
            {
                **item_values(item),
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
