"""Channels and their settings: ``bot.ports.ChannelRepository``."""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from sqlalchemy import select, tuple_, update

from bot.domain.model import ChannelKey, ChannelSettings
from storage.db import translate_errors
from storage.repositories.common import (
    CHANNEL_KEY_COLUMNS,
    IN_CHUNK,
    KEY_MATCHES,
    SessionRepository,
    channel_id_of,
    channel_key_from_row,
    key_parameters,
    known_channels,
)
from storage.repositories.rows import settings_from_row, stakeholder_values
from storage.sessions import hot
from storage.tables import channels

__all__ = ["SqlChannelRepository"]

_SETTINGS = hot(
    select(
        channels.c.id,
        channels.c.timezone,
        channels.c.leads,
        channels.c.nudges_enabled,
        channels.c.work_days,
        channels.c.work_start,
        channels.c.work_end,
        channels.c.last_digest_at,
        channels.c.holidays,
        channels.c.days_off,
        channels.c.link_patterns,
        channels.c.closing_since,
        channels.c.closed_at,
        channels.c.closed_by,
        channels.c.stakeholders,
        channels.c.escalate_after_days,
    ).where(*KEY_MATCHES)
)


class SqlChannelRepository(SessionRepository):
    """``bot.ports.ChannelRepository`` on the unit of work's session and transaction."""

    @translate_errors
    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        found = await self._session.execute(_SETTINGS, key_parameters(channel))
        row = found.mappings().one_or_none()
        if row is None:
            return ChannelSettings(channel=channel)
        known_channels(self._session)[channel] = row["id"]  # the command's writes need it
        return settings_from_row(channel, row)

    @translate_errors
    async def settings_of(self, keys: Iterable[ChannelKey]) -> dict[ChannelKey, ChannelSettings]:
        wanted = builtins.list(dict.fromkeys(keys))
        found = {key: ChannelSettings(channel=key) for key in wanted}
        key_columns = tuple_(channels.c.platform, channels.c.workspace, channels.c.external_id)
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = [(k.platform, k.workspace, k.channel) for k in wanted[start : start + IN_CHUNK]]
            query = select(channels, *CHANNEL_KEY_COLUMNS).where(key_columns.in_(chunk))
            for row in (await self._session.execute(query)).mappings():
                found[channel_key_from_row(row)] = settings_from_row(channel_key_from_row(row), row)
        return found

    @translate_errors
    async def save_settings(self, settings: ChannelSettings) -> None:
        channel_id = await channel_id_of(self._session, settings.channel, create=True)
        await self._session.execute(
            update(channels)
            .where(channels.c.id == channel_id)
            .values(
                timezone=settings.timezone,
                leads=list(settings.leads),
                nudges_enabled=settings.nudges_enabled,
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
        )

    @translate_errors
    async def with_stakeholders(
        self, platform: str | None = None, workspace: str | None = None
    ) -> builtins.list[ChannelSettings]:
        query = select(channels, *CHANNEL_KEY_COLUMNS).where(channels.c.stakeholders.is_not(None))
        if platform is not None:
            query = query.where(channels.c.platform == platform)
        if workspace is not None:
            query = query.where(channels.c.workspace == workspace)
        found = [
            settings_from_row(channel_key_from_row(row), row)
            for row in (await self._session.execute(query)).mappings()
        ]
        return sorted((s for s in found if s.stakeholders), key=lambda s: s.channel)

    @translate_errors
    async def channels(self) -> list[ChannelKey]:
        query = select(channels.c.platform, channels.c.workspace, channels.c.external_id)
        rows = (await self._session.execute(query)).all()
        # Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order disagree.
        return sorted(
            ChannelKey(platform, workspace, external_id)
            for platform, workspace, external_id in rows
        )
