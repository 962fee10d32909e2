"""Two changes to one item at the same moment: no lost updates, on SQLite and PostgreSQL.

For every pair of state-changing commands on one item, two users send them at once through
``Core.handle`` (on PostgreSQL both units of work reach the item's load together, held at a
barrier). The outcome must be one that running the two one after the other gives: the same
stored items, the same history, and each user told the same thing. A user told "changed
meanwhile" must have changed nothing: the outcome is then that of the other command alone.
The scheduler's nudge bookkeeping races a resolve the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Item, Kind, Run, RunKind, Status
from bot.errors import ChangedMeanwhile
from bot.messages import Outgoing, Request, Tone
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.scheduler import Scheduler, TickReport
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory, statement_engine
from tests.fakes import FakeStore, FixedClock
from tests.integration.conftest import CHANNEL, UowFactory, make_item

NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # a Tuesday, 09:30 in Berlin
#: Concurrent runs of each pair (the serial outcomes are computed once per pair).
TRIALS = 3


class Racing:
    """A unit-of-work factory; while ``armed``, a unit of work stops at its first item load
    to let another request run up to its own, so two requests read the item together.

    With ``barrier`` (PostgreSQL) each waits there for the other. SQLite and the in-memory
    store let one unit of work in at a time, so there the second could never come while the
    first waits: they only yield to it.
    """

    def __init__(self, factory: UnitOfWorkFactory, *, barrier: bool) -> None:
        self.factory = factory
        self.barrier = asyncio.Barrier(2) if barrier else None
        self._armed = False
        self._met = False

    @property
    def armed(self) -> bool:
        return self._armed

    @armed.setter
    def armed(self, value: bool) -> None:
        self._armed, self._met = value, False

    def __call__(self) -> UnitOfWork:
        uow = self.factory()
        return _Meeting(uow, self._meet) if self.armed else uow  # type: ignore[return-value]

    async def _meet(self) -> None:
        # The two requests meet once; a later unit of work of either (a nudge is counted in
        # its own, after the send) has nobody left to meet and must not wait for one.
        if self.barrier is None or self._met:
            for _ in range(5):
                await asyncio.sleep(0)
            return
        async with asyncio.timeout(10):
            await self.barrier.wait()
        self._met = True


class _Meeting:
    """A unit of work whose first item load meets the other request first."""

    def __init__(self, uow: UnitOfWork, meet: Callable[[], Awaitable[None]]) -> None:
        self._uow = uow
        self._meet = meet

    async def __aenter__(self) -> _Meeting:
        await self._uow.__aenter__()
        self.items = _MeetFirst(self._uow.items, self._meet)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._uow.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


class _MeetFirst:
    """An item repository whose first ``get`` meets the other request first."""

    def __init__(self, items: Any, meet: Callable[[], Awaitable[None]]) -> None:
        self._items = items
        self._meet: Callable[[], Awaitable[None]] | None = meet

    async def get(self, *args: Any, **kwargs: Any) -> Item | None:
        if self._meet is not None:
            meet, self._meet = self._meet, None
            await meet()
        item: Item | None = await self._items.get(*args, **kwargs)
        return item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._items, name)


# --- the commands: (kind, start state) -> command name -> the line a user sends ----------------

Line = Callable[[str], str]

BLOCKER: dict[str, Line] = {
    "resolve": lambda user: f"/raid resolve B-1 fixed by {user}",
    "reopen": lambda user: "/raid reopen B-1",
    "assign": lambda user: f"/raid assign B-1 @{'erin' if user == 'ana' else 'fred'}",
    "due": lambda user: f"/raid due B-1 {'friday' if user == 'ana' else 'next monday'}",
    "note": lambda user: f"/raid note B-1 seen by {user}",
    "withdraw": lambda user: f"/raid withdraw B-1 duplicate, says {user}",
}
CHANGE: dict[str, Line] = {
    "approve": lambda user: f"/raid approve C-1 fine with {user}",
    "reject": lambda user: f"/raid reject C-1 no budget, says {user}",
    "implemented": lambda user: f"/raid implemented C-1 shipped by {user}",
    "withdraw": lambda user: f"/raid withdraw C-1 not needed, says {user}",
}
DECISION: dict[str, Line] = {
    "decide": lambda user: f"/raid decide D-1 Okta, chosen by {user}",
    "reject": lambda user: f"/raid reject D-1 out of scope, says {user}",
}
RISK: dict[str, Line] = {
    "close": lambda user: f"/raid close R-1 gone, says {user}",
    "occurred": lambda user: f"/raid occurred R-1 seen by {user}",
}

#: start state: (the lines that make it, reporter "rita"; the commands to race on it)
STARTS: dict[str, tuple[tuple[str, ...], dict[str, Line]]] = {
    "blocker-open": (("/blocker Firewall change",), BLOCKER),
    "blocker-resolved": (("/blocker Firewall change", "/raid resolve B-1 merged"), BLOCKER),
    "change-proposed": (("/change Add CRM impact schedule +2 weeks",), CHANGE),
    "change-approved": (("/change Add CRM impact schedule +2 weeks", "/raid approve C-1"), CHANGE),
    "decision-pending": (("/decision needed Pick the SSO vendor",), DECISION),
    "risk-open": (("/risk Vendor may slip",), RISK),
}

Told = tuple[Tone, str]
#: Every start gets a channel of its own: race-1, race-2...
CHANNELS = itertools.count(1)
#: Items are compared without the channel they are in.
CHANNEL_X = ChannelKey("console", "local", "x")
Outcome = tuple[tuple[Any, ...], tuple[Told, ...]]


def say(channel: ChannelKey, user: str, line: str) -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(channel, user, command=command, text=text)


class Bench:
    """Fresh channels with an item in a start state, and what they hold afterwards."""

    def __init__(self, core: Core, factory: UnitOfWorkFactory) -> None:
        self.core = core
        self.factory = factory

    async def start(self, setup: tuple[str, ...]) -> ChannelKey:
        channel = ChannelKey("console", "local", f"race-{next(CHANNELS)}")
        for line in ("/raid settings leads @ana @bob", *setup):
            user = "ana" if line.startswith("/raid settings") or "approve" in line else "rita"
            reply = await self.core.handle(say(channel, user, line))
            assert reply.tone is Tone.SUCCESS, (line, reply.text)
        return channel

    async def record(self, channel: ChannelKey) -> tuple[Any, ...]:
        """Every item of the channel (identity left out) with its history."""
        async with self.factory() as uow:
            items = await uow.items.list(channel)
            events = await uow.items.events([i.stored_id for i in items])
        return tuple(
            (dataclasses.replace(i, id=None, channel=CHANNEL_X), tuple(events[i.stored_id]))
            for i in items
        )

    async def serial(self, setup: tuple[str, ...], *sends: tuple[str, str]) -> Outcome:
        channel = await self.start(setup)
        told = []
        for user, line in sends:
            reply = await self.core.handle(say(channel, user, line))
            told.append((reply.tone, reply.text))
        return await self.record(channel), tuple(told)


def describe(outcome: Outcome) -> str:
    record, told = outcome
    history = [[e.action for e in events] for _, events in record]
    return f"told {[text for _, text in told]}, history {history}, items {[i for i, _ in record]}"


def meanwhile(told: Told) -> bool:
    return told[0] is Tone.ERROR and "changed meanwhile" in told[1]


async def race_every_pair(factory: Callable[[], Racing], start: str, trials: int) -> list[str]:
    """Race every pair of commands on the start state; what went wrong, one line each."""
    setup, commands = STARTS[start]
    wrong = []
    for first, second in itertools.combinations_with_replacement(sorted(commands), 2):
        racing = factory()
        core = Core(racing, clock=FixedClock(NOW), default_timezone="Europe/Berlin")
        bench = Bench(core, racing)
        a, b = ("ana", commands[first]("ana")), ("bob", commands[second]("bob"))
        ana_first = await bench.serial(setup, a, b)
        bob_first, (to_bob, to_ana) = await bench.serial(setup, b, a)
        allowed = [ana_first, (bob_first, (to_ana, to_bob))]  # told in (ana, bob) order
        for _ in range(trials):
            channel = await bench.start(setup)
            racing.armed = True
            try:
                replies = await asyncio.gather(
                    core.handle(say(channel, *a)), core.handle(say(channel, *b))
                )
            finally:
                racing.armed = False
            told = tuple((r.tone, r.text) for r in replies)
            outcome = (await bench.record(channel), told)
            if outcome in allowed:
                continue
            if meanwhile(told[0]) != meanwhile(told[1]):
                # the one told "changed meanwhile" changed nothing: the other's alone
                alone = a if meanwhile(told[1]) else b
                record, (only,) = await bench.serial(setup, alone)
                if record == outcome[0] and only in told:
                    continue
            wrong.append(
                f"{start}: ana {a[1]!r} and bob {b[1]!r} at once: {describe(outcome)}; "
                f"one after the other: {' or '.join(describe(o) for o in allowed)}"
            )
    return wrong


@pytest.mark.parametrize("start", sorted(STARTS))
async def test_two_changes_at_once_end_as_one_after_the_other(
    engine: AsyncEngine, start: str
) -> None:
    uows = make_uow_factory(engine)
    postgres = engine.dialect.name == "postgresql"
    wrong = await race_every_pair(lambda: Racing(uows, barrier=postgres), start, TRIALS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("start", sorted(STARTS))
async def test_the_fake_store_runs_two_changes_at_once_one_after_the_other(start: str) -> None:
    wrong = await race_every_pair(lambda: Racing(FakeStore(), barrier=False), start, 1)
    assert not wrong, "\n".join(wrong)


# --- the scheduler's nudge bookkeeping against a resolve -------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return f"m{len(self.sent)}"


async def test_a_nudge_sent_while_the_blocker_is_resolved_does_not_reopen_it(
    engine: AsyncEngine,
) -> None:
    racing = Racing(make_uow_factory(engine), barrier=engine.dialect.name == "postgresql")
    clock = FixedClock(NOW - timedelta(days=7))
    core = Core(racing, clock=clock, default_timezone="Europe/Berlin")
    bench = Bench(core, racing)
    channels = [await bench.start(("/blocker Firewall change @dana due friday",)) for _ in range(8)]
    clock.advance(days=7)  # overdue now
    for n, channel in enumerate(channels):
        async with racing() as uow:
            nudge = Run(
                key=f"nudge:race-{n}",
                kind=RunKind.NUDGE,
                channel=channel,
                due_at=NOW,
                payload={"kind": "blocker", "number": 1},
                created_at=NOW,
            )
            assert await uow.schedules.add_run(nudge) is not None
            await uow.commit()
        outbox = Recorder()
        scheduler = Scheduler(racing, outbox, clock=clock, default_timezone="Europe/Berlin")
        racing.armed = True
        try:
            report, reply = TickReport(), None

            async def resolve(channel: ChannelKey = channel) -> None:
                nonlocal reply
                reply = await core.handle(say(channel, "dana", "/raid resolve B-1 merged"))

            await asyncio.gather(scheduler.deliver(NOW, report), resolve())
        finally:
            racing.armed = False
        assert reply is not None and reply.tone is Tone.SUCCESS, reply
        async with racing() as uow:
            item = await uow.items.get(channel, Kind.BLOCKER, 1)
            assert item is not None
            events = (await uow.items.events([item.stored_id]))[item.stored_id]
        nudged = [m for m in outbox.sent if m.channel == channel]
        assert item.status is Status.RESOLVED
        assert [e.action for e in events] == ["created", "resolved"]
        if nudged:  # the nudge went first: it is counted, and the resolve answered it
            assert (item.last_nudged_at, item.nudge_count) == (NOW, 0)
        else:  # the resolve went first: no nudge about a resolved blocker, nothing counted
            assert (item.last_nudged_at, item.nudge_count) == (None, 0)


# --- the write itself: only what changed, never over a change made meanwhile ---------------


async def change_a_stale_copy(factory: UnitOfWorkFactory) -> None:
    """A change decided on a copy read before another request changed the item is refused,
    and writes nothing."""
    async with factory() as uow:
        await uow.items.add(make_item(Kind.BLOCKER, 1))
        await uow.commit()
    async with factory() as uow:
        stale = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)  # read only, nothing held
    assert stale is not None
    async with factory() as uow:
        fresh = await uow.items.get(CHANNEL, Kind.BLOCKER, 1, lock=True)
        assert fresh is not None
        await uow.items.save_change(fresh, dataclasses.replace(fresh, status=Status.RESOLVED))
        await uow.commit()
    async with factory() as uow:
        with pytest.raises(ChangedMeanwhile) as refused:
            await uow.items.save_change(stale, dataclasses.replace(stale, owner="U_LATE"))
        assert refused.value.message == "B-1 changed meanwhile, try again."
    async with factory() as uow:
        stored = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)
    assert stored is not None
    assert (stored.status, stored.owner) == (Status.RESOLVED, None)


async def test_a_change_to_a_stale_copy_is_refused(uow_factory: UowFactory) -> None:
    await change_a_stale_copy(uow_factory)


async def test_the_fake_store_refuses_a_change_to_a_stale_copy_too() -> None:
    await change_a_stale_copy(FakeStore())


def updated_columns(statements: list[str]) -> list[set[str]]:
    """The columns each ``UPDATE items`` of ``statements`` sets."""
    found = []
    for statement in statements:
        flat = " ".join(statement.split())
        if flat.startswith("UPDATE items SET "):
            assignments = flat.removeprefix("UPDATE items SET ").split(" WHERE ")[0]
            found.append({a.split("=")[0].strip() for a in assignments.split(", ")})
    return found


async def test_a_change_and_the_nudge_bookkeeping_write_only_their_columns(
    engine: AsyncEngine,
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    clock = FixedClock(NOW - timedelta(days=7))
    factory = make_uow_factory(engine)
    core = Core(factory, clock=clock, default_timezone="Europe/Berlin")
    for line in ("/blocker Firewall change @dana due friday", "/blocker Creds @erin due friday"):
        assert (await core.handle(say(CHANNEL, "rita", line))).tone is Tone.SUCCESS
    clock.advance(days=7)
    async with factory() as uow:
        nudge = Run(
            key="nudge:B-2",
            kind=RunKind.NUDGE,
            channel=CHANNEL,
            due_at=NOW,
            payload={"kind": "blocker", "number": 2},
            created_at=NOW,
        )
        await uow.schedules.add_run(nudge)
        await uow.commit()
    outbox = Recorder()
    scheduler = Scheduler(factory, outbox, clock=clock, default_timezone="Europe/Berlin")

    sa.event.listen(statement_engine(engine), "before_cursor_execute", seen)
    try:
        reply = await core.handle(say(CHANNEL, "dana", "/raid resolve B-1 merged"))
        resolving = updated_columns(statements)
        statements.clear()
        report = TickReport()
        await scheduler.deliver(NOW, report)
        nudging = updated_columns(statements)
    finally:
        sa.event.remove(statement_engine(engine), "before_cursor_execute", seen)
    assert reply.tone is Tone.SUCCESS
    assert resolving == [{"status", "resolution", "updated_at"}]
    assert [m.channel for m in outbox.sent] == [CHANNEL]
    assert nudging == [{"nudge_count", "last_nudged_at"}]


async def test_two_changes_waiting_for_each_other_tell_one_to_try_again_postgres(
    postgres_url: str,
) -> None:
    """Each holds one item and waits for the other's (PostgreSQL breaks the deadlock): the
    one given up on is told its item changed meanwhile; the other goes through."""
    upgrade(postgres_url)
    engine = create_engine(postgres_url)
    try:
        factory = make_uow_factory(engine)
        async with factory() as uow:
            for number in (1, 2):
                await uow.items.add(make_item(Kind.BLOCKER, number))
            await uow.commit()
        both_hold_one = asyncio.Barrier(2)

        async def hold(first: int, then: int) -> None:
            async with factory() as uow:
                await uow.items.get(CHANNEL, Kind.BLOCKER, first, lock=True)
                await both_hold_one.wait()
                await uow.items.get(CHANNEL, Kind.BLOCKER, then, lock=True)
                await uow.commit()

        results = await asyncio.gather(hold(1, 2), hold(2, 1), return_exceptions=True)
    finally:
        await engine.dispose()
    told = sorted(r.message if isinstance(r, ChangedMeanwhile) else repr(r) for r in results)
    assert told in (
        ["B-1 changed meanwhile, try again.", "None"],
        ["B-2 changed meanwhile, try again.", "None"],
    )
