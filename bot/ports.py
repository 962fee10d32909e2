"""The ports the core needs from the outside world. ``storage/`` implements the repositories.

A unit of work is an async context manager: leaving it without ``commit()`` rolls back.
Implementations raise :class:`bot.errors.Unavailable` when the database cannot be reached.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from bot.model import ChannelKey, ChannelSettings, Event, Item, Kind, Status


class ItemRepository(Protocol):
    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        """The next ref number for this channel and kind: 1, 2, 3... never reused.

        Race-free: a per-channel, per-kind counter row updated in the caller's transaction.
        """
        ...

    async def add(self, item: Item) -> Item:
        """Store a new item; returns it with its ``id`` set."""
        ...

    async def get(self, channel: ChannelKey, kind: Kind, number: int) -> Item | None: ...

    async def update(self, item: Item) -> None:
        """Store every field of an existing item (matched by ``id``)."""
        ...

    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> builtins.list[Item]:
        """Items of one channel, oldest first (created_at, then number)."""
        ...

    async def add_event(self, item_id: int, event: Event) -> None: ...

    async def active_in_workspace(self, platform: str, workspace: str) -> builtins.list[Item]:
        """Every active item (open, pending, proposed, approved) in one workspace's channels."""
        ...

    async def events(self, item_ids: Sequence[int]) -> dict[int, builtins.list[Event]]:
        """Each item's events, oldest first; items without events map to an empty list."""
        ...


class ChannelRepository(Protocol):
    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        """The channel's settings; defaults when the channel has none stored yet."""
        ...

    async def save_settings(self, settings: ChannelSettings) -> None: ...

    async def channels(self) -> list[ChannelKey]:
        """Every channel that has items or settings."""
        ...


class UnitOfWork(Protocol):
    items: ItemRepository
    channels: ChannelRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, time-zone aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
