"""Fakes at the core's ports: an in-memory unit of work and a clock that stands still."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType

from bot.model import ChannelKey, ChannelSettings, Event, Item, Kind, Status


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, **kwargs: float) -> None:
        self._now += timedelta(**kwargs)


@dataclasses.dataclass
class _State:
    items: dict[int, Item] = dataclasses.field(default_factory=dict)
    events: dict[int, list[Event]] = dataclasses.field(default_factory=dict)
    counters: dict[tuple[ChannelKey, Kind], int] = dataclasses.field(default_factory=dict)
    settings: dict[ChannelKey, ChannelSettings] = dataclasses.field(default_factory=dict)
    next_id: int = 1


class _Items:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        n = self.s.counters.get((channel, kind), 0) + 1
        self.s.counters[(channel, kind)] = n
        return n

    async def add(self, item: Item) -> Item:
        item = dataclasses.replace(item, id=self.s.next_id)
        self.s.next_id += 1
        self.s.items[item.id] = item  # type: ignore[index]
        return item

    async def get(self, channel: ChannelKey, kind: Kind, number: int) -> Item | None:
        for item in self.s.items.values():
            if (item.channel, item.kind, item.number) == (channel, kind, number):
                return item
        return None

    async def update(self, item: Item) -> None:
        assert item.id in self.s.items
        self.s.items[item.id] = item  # type: ignore[index]

    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> list[Item]:
        kinds_set = set(kinds) if kinds is not None else None
        statuses_set = set(statuses) if statuses is not None else None
        found = [
            i
            for i in self.s.items.values()
            if i.channel == channel
            and (kinds_set is None or i.kind in kinds_set)
            and (statuses_set is None or i.status in statuses_set)
        ]
        return sorted(found, key=lambda i: (i.created_at, i.number))

    async def active_in_workspace(self, platform: str, workspace: str) -> list[Item]:
        found = [
            i
            for i in self.s.items.values()
            if (i.channel.platform, i.channel.workspace) == (platform, workspace) and i.active
        ]
        return sorted(found, key=lambda i: (i.created_at, i.number))

    async def add_event(self, item_id: int, event: Event) -> None:
        self.s.events.setdefault(item_id, []).append(event)

    async def events(self, item_ids: Sequence[int]) -> dict[int, list[Event]]:
        return {i: list(self.s.events.get(i, [])) for i in item_ids}


class _Channels:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        return self.s.settings.get(channel, ChannelSettings(channel))

    async def save_settings(self, settings: ChannelSettings) -> None:
        self.s.settings[settings.channel] = settings

    async def channels(self) -> list[ChannelKey]:
        keys = set(self.s.settings) | {i.channel for i in self.s.items.values()}
        return sorted(keys)


class FakeUnitOfWork:
    """Works on a copy of the shared state; ``commit`` publishes it, anything else drops it."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.state = copy.deepcopy(self.store.state)
        self.items = _Items(self.state)
        self.channels = _Channels(self.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self.store.state = self.state
        self.store.commits += 1

    async def rollback(self) -> None:
        return None


class FakeStore:
    def __init__(self) -> None:
        self.state = _State()
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)
