"""Schedules: the schedule half of ``bot.ports.ScheduleRepository``, which joins the run
ledger (:mod:`storage.repositories.outbox`) and the standups
(:mod:`storage.repositories.standups`) into the one repository the unit of work hands out.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, select, update

from bot.domain.model import ChannelKey, Schedule, ScheduleKind
from storage.db import translate_errors
from storage.repositories.common import (
    IN_CHUNK,
    channel_filter,
    channel_id_of,
    insert_for,
    keyed,
    known_channels,
    with_channel,
)
from storage.repositories.outbox import RunLedger
from storage.repositories.rows import schedule_from_row, schedule_values, stored_kind
from storage.repositories.standups import StandupBook
from storage.tables import channels, schedules, standups

__all__ = ["SqlScheduleRepository"]

#: Where a unit of work keeps the schedules :meth:`SqlScheduleRepository.preload` read.
_PRELOADED = "raidline_preloaded_schedules"

_RESCHEDULE = (
    update(schedules)
    .where(schedules.c.id == bindparam("schedule_id"))
    .values(
        next_run_at=bindparam("next_run", type_=schedules.c.next_run_at.type),
        skip_dates=bindparam("skip", type_=schedules.c.skip_dates.type),
        updated_at=bindparam("now", type_=schedules.c.updated_at.type),
    )
)


class SqlScheduleRepository(RunLedger, StandupBook):
    """``bot.ports.ScheduleRepository`` on the unit of work's session and transaction.

    Claims lock rows ``FOR NO KEY UPDATE … SKIP LOCKED`` on PostgreSQL, so replicas ticking
    at the same time each get different rows and nobody waits; on SQLite the clause renders
    as nothing and the unit of work's ``BEGIN IMMEDIATE`` serialises the ticks instead.
    Locks (and the claims that rely on them) last until the caller commits or rolls back.

    The port keeps schedules, their runs and their standups together; the run ledger
    (:class:`RunLedger`) and the standups (:class:`StandupBook`) are written in their own
    modules and joined here.
    """

    @translate_errors
    async def get(
        self, channel: ChannelKey, kind: ScheduleKind, name: str | None = None
    ) -> Schedule | None:
        query = (
            select(schedules)
            .join(channels, channels.c.id == schedules.c.channel_id)
            .where(*channel_filter(channel), schedules.c.kind == stored_kind(kind, name))
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        if row is None:
            return None
        known_channels(self._session)[channel] = row["channel_id"]
        return schedule_from_row(channel, row)

    def _preloaded(self) -> dict[int, Schedule]:
        found: dict[int, Schedule] = self._session.info.setdefault(_PRELOADED, {})
        return found

    @translate_errors
    async def preload(self, schedule_ids: Iterable[int]) -> None:
        wanted = sorted(set(schedule_ids) - set(self._preloaded()))
        for start in range(0, len(wanted), IN_CHUNK):
            query = with_channel(schedules).where(
                schedules.c.id.in_(wanted[start : start + IN_CHUNK])
            )
            for row in (await self._session.execute(query)).mappings():
                self._preloaded()[row["id"]] = schedule_from_row(keyed(self._session, row), row)

    @translate_errors
    async def get_by_id(self, schedule_id: int) -> Schedule | None:
        preloaded = self._preloaded().get(schedule_id)
        if preloaded is not None:
            return preloaded
        query = with_channel(schedules).where(schedules.c.id == schedule_id)
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else schedule_from_row(keyed(self._session, row), row)

    @translate_errors
    async def of_channel(self, channel: ChannelKey) -> builtins.list[Schedule]:
        query = (
            select(schedules)
            .join(channels, channels.c.id == schedules.c.channel_id)
            .where(*channel_filter(channel))
            .order_by(schedules.c.kind)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [schedule_from_row(channel, row) for row in rows]

    @translate_errors
    async def remove(self, schedule_id: int) -> None:
        self._preloaded().pop(schedule_id, None)
        # Its standups go with it (their answers cascade); runs still queued for it find no
        # schedule or standup when they are delivered and are skipped.
        await self._session.execute(delete(standups).where(standups.c.schedule_id == schedule_id))
        await self._session.execute(delete(schedules).where(schedules.c.id == schedule_id))

    @translate_errors
    async def save(self, schedule: Schedule) -> Schedule:
        session = self._session
        channel_id = await channel_id_of(session, schedule.channel, create=True)
        updated_at = schedule.updated_at or datetime.now(UTC)
        values = {**schedule_values(schedule), "updated_at": updated_at}
        # One schedule per channel and kind: an upsert on that key is race-free on both
        # backends (a concurrent saver's insert turns into an update of the winner's row).
        inserted = insert_for(session, schedules).values(
            channel_id=channel_id, kind=stored_kind(schedule.kind, schedule.name), **values
        )
        statement = inserted.on_conflict_do_update(
            index_elements=[schedules.c.channel_id, schedules.c.kind],
            set_={name: inserted.excluded[name] for name in values},
        ).returning(schedules.c.id)
        schedule_id: int = (await session.execute(statement)).scalar_one()
        self._preloaded().pop(schedule_id, None)
        return replace(schedule, id=schedule_id, updated_at=updated_at)

    @translate_errors
    async def reschedule(
        self,
        schedule_id: int,
        next_run_at: datetime | None,
        skip_dates: Sequence[str],
        now: datetime,
    ) -> None:
        await self.reschedule_many([(schedule_id, next_run_at, skip_dates)], now)

    @translate_errors
    async def reschedule_many(
        self,
        changes: Sequence[tuple[int, datetime | None, Sequence[str]]],
        now: datetime,
    ) -> None:
        if not changes:
            return
        for schedule_id, _, _ in changes:
            self._preloaded().pop(schedule_id, None)
        # One statement, executed for every schedule (executemany: one round trip).
        await self._session.execute(
            _RESCHEDULE,
            [
                {
                    "schedule_id": schedule_id,
                    "next_run": next_run_at,
                    "skip": builtins.list(skip_dates),
                    "now": now,
                }
                for schedule_id, next_run_at, skip_dates in changes
            ],
        )

    @translate_errors
    async def claim_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        query = (
            with_channel(schedules)
            .where(schedules.c.enabled.is_(True), schedules.c.next_run_at <= now)
            .order_by(schedules.c.next_run_at, schedules.c.id)
            .limit(limit)
            # OF schedules: the joined channel rows stay unlocked. NO KEY UPDATE (what an
            # UPDATE of next_run_at takes anyway) still lets other transactions insert rows
            # that reference the schedule, such as its standups.
            .with_for_update(skip_locked=True, key_share=True, of=schedules)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [schedule_from_row(keyed(self._session, row), row) for row in rows]
