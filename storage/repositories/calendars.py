"""Calendar feed tokens: ``bot.ports.CalendarTokenRepository``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select, update

from bot.domain.model import CalendarToken, ChannelKey
from storage.db import translate_errors
from storage.repositories.common import SessionRepository, channel_id_of, keyed, with_channel
from storage.tables import calendar_tokens

__all__ = ["SqlCalendarTokenRepository"]


class SqlCalendarTokenRepository(SessionRepository):
    """``bot.ports.CalendarTokenRepository`` on the unit of work's session and transaction."""

    @translate_errors
    async def add(self, token: CalendarToken) -> CalendarToken:
        channel_id = await channel_id_of(self._session, token.channel, create=True)
        inserted = await self._session.execute(
            calendar_tokens.insert()
            .values(
                channel_id=channel_id,
                user=token.user,
                token_hash=token.token_hash,
                channel_name=token.channel_name,
                created_at=token.created_at,
                revoked_at=token.revoked_at,
            )
            .returning(calendar_tokens.c.id)
        )
        return replace(token, id=inserted.scalar_one())

    @translate_errors
    async def find(self, token_hash: str) -> CalendarToken | None:
        query = with_channel(calendar_tokens).where(
            calendar_tokens.c.token_hash == token_hash,
            calendar_tokens.c.revoked_at.is_(None),
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        if row is None:
            return None
        return CalendarToken(
            channel=keyed(self._session, row),
            user=row["user"],
            token_hash=row["token_hash"],
            created_at=row["created_at"],
            channel_name=row["channel_name"],
            revoked_at=row["revoked_at"],
            id=row["id"],
        )

    @translate_errors
    async def active_count(self, channel: ChannelKey, user: str) -> int:
        channel_id = await channel_id_of(self._session, channel, create=False)
        if channel_id is None:
            return 0
        query = select(func.count()).where(
            calendar_tokens.c.channel_id == channel_id,
            calendar_tokens.c.user == user,
            calendar_tokens.c.revoked_at.is_(None),
        )
        return int((await self._session.execute(query)).scalar_one())

    @translate_errors
    async def revoke(self, channel: ChannelKey, user: str, at: datetime) -> int:
        channel_id = await channel_id_of(self._session, channel, create=False)
        if channel_id is None:
            return 0
        revoked = await self._session.execute(
            update(calendar_tokens)
            .where(
                calendar_tokens.c.channel_id == channel_id,
                calendar_tokens.c.user == user,
                calendar_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
            .returning(calendar_tokens.c.id)
        )
        return len(revoked.all())
