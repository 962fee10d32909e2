"""A chat-style harness: ``await chat.say("/blocker ...")`` and assert on what the user sees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from adapters.runtime.timetable import CronTimetable
from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Item, Kind
from bot.messages import Reply, Request
from bot.views.plain import render_text
from tests.fakes import FakeStore, FixedClock

# Wed 25 Nov 2026, 10:00 in Berlin.
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Chat:
    def __init__(self, store: FakeStore, clock: FixedClock, *, user: str = "ana") -> None:
        self.store = store
        self.clock = clock
        self.core = Core(
            store, clock=clock, default_timezone="Europe/Berlin", timetable=CronTimetable()
        )
        self.user = user
        self.channel = ChannelKey("console", "local", "proj")
        self.last: Reply | None = None

    async def say(self, line: str, *, user: str | None = None, admin: bool = False) -> Reply:
        """``admin``: the platform says the user administers the workspace."""
        command, _, text = line.lstrip("/").partition(" ")
        request = Request(
            self.channel, user or self.user, command=command, text=text, user_is_admin=admin
        )
        self.last = await self.core.handle(request)
        return self.last

    async def click(
        self, action_id: str, values: Mapping[str, str] | None = None, *, user: str | None = None
    ) -> Reply:
        request = Request(
            self.channel, user or self.user, action_id=action_id, values=dict(values or {})
        )
        self.last = await self.core.handle(request)
        return self.last

    async def text(self, line: str, *, user: str | None = None) -> str:
        return render_text(await self.say(line, user=user))

    def item(self, ref: str) -> Item:
        prefix, number = ref.split("-")
        for item in self.store.state.items.values():
            if item.channel == self.channel and str(item.ref) == ref:
                return item
        raise AssertionError(f"{ref} not stored ({prefix}{number})")

    def items(self, kind: Kind | None = None) -> list[Item]:
        return [i for i in self.store.state.items.values() if kind is None or i.kind is kind]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def chat(store: FakeStore, clock: FixedClock) -> Chat:
    return Chat(store, clock)
