"""Lessons learned: ``bot.ports.LessonRepository``."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.domain.model import ChannelKey, Lesson
from storage.db import translate_errors
from storage.repositories.common import SessionRepository, channel_id_of
from storage.tables import lessons

__all__ = ["SqlLessonRepository"]


class SqlLessonRepository(SessionRepository):
    """``bot.ports.LessonRepository`` on the unit of work's session and transaction."""

    @translate_errors
    async def add(self, lesson: Lesson) -> Lesson:
        channel_id = await channel_id_of(self._session, lesson.channel, create=True)
        inserted = await self._session.execute(
            lessons.insert()
            .values(
                channel_id=channel_id,
                author=lesson.author,
                text=lesson.text,
                created_at=lesson.created_at,
            )
            .returning(lessons.c.id)
        )
        return replace(lesson, id=inserted.scalar_one())

    @translate_errors
    async def of_channel(self, channel: ChannelKey) -> list[Lesson]:
        channel_id = await channel_id_of(self._session, channel, create=False)
        if channel_id is None:
            return []
        query = (
            select(lessons.c.id, lessons.c.author, lessons.c.text, lessons.c.created_at)
            .where(lessons.c.channel_id == channel_id)
            .order_by(lessons.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            Lesson(channel, row["author"], row["text"], row["created_at"], id=row["id"])
            for row in rows
        ]
