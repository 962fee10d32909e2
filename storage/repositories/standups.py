"""Standups and their answers: the standup half of ``bot.ports.ScheduleRepository``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, select, tuple_, update

from bot.domain.model import ChannelKey, Standup, StandupAnswer
from storage.db import translate_errors
from storage.repositories.common import (
    IN_CHUNK,
    SessionRepository,
    channel_filter,
    channel_id_of,
    insert_for,
    with_channel,
)
from storage.repositories.rows import standup_from_row, standup_values
from storage.tables import standup_answers, standups

__all__ = ["StandupBook"]

_SET_MESSAGE = (
    update(standups)
    .where(
        standups.c.schedule_id == bindparam("of_schedule", type_=standups.c.schedule_id.type),
        standups.c.local_date == bindparam("on_date", type_=standups.c.local_date.type),
        standups.c.message_ref.is_(None),
    )
    .values(message_ref=bindparam("posted_as", type_=standups.c.message_ref.type))
)


class StandupBook(SessionRepository):
    """The standups of ``bot.ports.ScheduleRepository`` (see ``SqlScheduleRepository``)."""

    @translate_errors
    async def open_standup(self, standup: Standup) -> tuple[Standup, bool]:
        session = self._session
        channel_id = await channel_id_of(session, standup.channel, create=True)
        # Get-or-create like add_run: a concurrent opener's insert does nothing (on
        # PostgreSQL it first waits for the winner to commit) and then finds the winner's row.
        statement = (
            insert_for(session, standups)
            .values(
                schedule_id=standup.schedule_id,
                channel_id=channel_id,
                local_date=standup.local_date,
                **standup_values(standup),
            )
            .on_conflict_do_nothing(index_elements=[standups.c.schedule_id, standups.c.local_date])
            .returning(standups.c.id)
        )
        standup_id: int | None = (await session.execute(statement)).scalar_one_or_none()
        if standup_id is not None:
            return replace(standup, id=standup_id), True
        query = with_channel(standups).where(
            standups.c.schedule_id == standup.schedule_id,
            standups.c.local_date == standup.local_date,
        )
        row = (await session.execute(query)).mappings().one()
        return standup_from_row(row), False

    @translate_errors
    async def open_standups(self, drafts: Sequence[Standup]) -> builtins.list[tuple[Standup, bool]]:
        if not drafts:
            return []
        session = self._session
        rows = [
            {
                "schedule_id": standup.schedule_id,
                "channel_id": await channel_id_of(session, standup.channel, create=True),
                "local_date": standup.local_date,
                **standup_values(standup),
            }
            for standup in drafts
        ]
        # One statement for all (as add_runs); a standup that exists is left as it is.
        statement = (
            insert_for(session, standups)
            .on_conflict_do_nothing(index_elements=[standups.c.schedule_id, standups.c.local_date])
            .returning(standups.c.id, standups.c.schedule_id, standups.c.local_date)
        )
        inserted = {
            (row.schedule_id, row.local_date): row.id
            for row in await session.execute(statement, rows)
        }
        opened: dict[tuple[int, str], tuple[Standup, bool]] = {}
        results: builtins.list[tuple[Standup, bool] | None] = []
        for standup in drafts:
            key = (standup.schedule_id, standup.local_date)
            if key in inserted and key not in opened:
                opened[key] = (replace(standup, id=inserted[key]), True)
                results.append(opened[key])
            else:
                results.append(None)
        missing = sorted({(s.schedule_id, s.local_date) for s in drafts} - set(inserted))
        for start in range(0, len(missing), IN_CHUNK):
            query = with_channel(standups).where(
                tuple_(standups.c.schedule_id, standups.c.local_date).in_(
                    missing[start : start + IN_CHUNK]
                )
            )
            for row in (await session.execute(query)).mappings():
                found = standup_from_row(row)
                opened[(found.schedule_id, found.local_date)] = (found, False)
        return [
            found or (opened[(s.schedule_id, s.local_date)][0], False)
            for s, found in zip(drafts, results, strict=True)
        ]

    @translate_errors
    async def get_standup(self, standup_id: int) -> Standup | None:
        query = with_channel(standups).where(standups.c.id == standup_id)
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else standup_from_row(row)

    @translate_errors
    async def latest_standup(
        self, channel: ChannelKey, schedule_id: int | None = None
    ) -> Standup | None:
        mine = () if schedule_id is None else (standups.c.schedule_id == schedule_id,)
        query = (
            with_channel(standups)
            .where(*channel_filter(channel), *mine)
            .order_by(standups.c.opened_at.desc(), standups.c.id.desc())
            .limit(1)
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else standup_from_row(row)

    @translate_errors
    async def standups_since(self, channel: ChannelKey, since: datetime) -> builtins.list[Standup]:
        query = (
            with_channel(standups)
            .where(*channel_filter(channel), standups.c.opened_at > since)
            .order_by(standups.c.opened_at, standups.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [standup_from_row(row) for row in rows]

    @translate_errors
    async def update_standup(self, standup: Standup) -> None:
        if standup.id is None:
            raise ValueError("the standup has no id; open_standup() it first")
        # Schedule and local date are the standup's identity; like an item's ref, they are
        # never rewritten, so a stale or mistaken Standup cannot take another's place.
        statement = (
            update(standups)
            .where(
                standups.c.id == standup.id,
                standups.c.schedule_id == standup.schedule_id,
                standups.c.local_date == standup.local_date,
            )
            .values(**standup_values(standup))
            .returning(standups.c.id)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            raise LookupError(
                f"no stored standup {standup.id} of schedule {standup.schedule_id} "
                f"on {standup.local_date}"
            )

    @translate_errors
    async def set_standup_message(self, schedule_id: int, local_date: str, ref: str) -> None:
        await self.set_standup_messages([(schedule_id, local_date, ref)])

    @translate_errors
    async def set_standup_messages(self, posted: Sequence[tuple[int, str, str]]) -> None:
        if posted:
            await self._session.execute(
                _SET_MESSAGE,
                [
                    {"of_schedule": schedule_id, "on_date": local_date, "posted_as": ref}
                    for schedule_id, local_date, ref in posted
                ],
            )

    @translate_errors
    async def save_answer(self, answer: StandupAnswer) -> None:
        session = self._session
        inserted = insert_for(session, standup_answers).values(
            standup_id=answer.standup_id,
            person=answer.person,
            answers=list(answer.answers),
            answered_at=answer.answered_at,
            first_answered_at=answer.answered_at,
        )
        # A second answer replaces the first but keeps its place in the order.
        await session.execute(
            inserted.on_conflict_do_update(
                index_elements=[standup_answers.c.standup_id, standup_answers.c.person],
                set_={
                    "answers": inserted.excluded.answers,
                    "answered_at": inserted.excluded.answered_at,
                },
            )
        )

    @translate_errors
    async def answers(self, standup_id: int) -> builtins.list[StandupAnswer]:
        query = (
            select(standup_answers)
            .where(standup_answers.c.standup_id == standup_id)
            .order_by(standup_answers.c.first_answered_at, standup_answers.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            StandupAnswer(
                standup_id=row["standup_id"],
                person=row["person"],
                answers=tuple(row["answers"] or ()),
                answered_at=row["answered_at"],
            )
            for row in rows
        ]
