"""The scheduler on real storage: exactly once across concurrent workers and crashes."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import ChannelKey, RunStatus, Schedule, ScheduleKind
from bot.messages import Outgoing
from bot.scheduler import LEASE, Scheduler, TickReport
from storage.db import create_engine
from storage.uow import make_uow_factory
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory

NOW = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)  # Thu 09:30 in Berlin


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str:
        await asyncio.sleep(0)  # let the other worker interleave
        self.sent.append(message)
        return f"m{len(self.sent)}"


async def many_standups(uow_factory: UowFactory, count: int) -> list[ChannelKey]:
    channels = [ChannelKey("console", "local", f"team-{n}") for n in range(count)]
    async with uow_factory() as uow:
        for channel in channels:
            await uow.schedules.save(
                Schedule(
                    channel=channel,
                    kind=ScheduleKind.STANDUP,
                    days=("mon", "tue", "wed", "thu", "fri"),
                    at="09:30",
                    timezone="Europe/Berlin",
                    enabled=True,
                    next_run_at=NOW,
                    members=("ana",),
                )
            )
        await uow.commit()
    return channels


async def test_two_workers_open_each_standup_exactly_once(
    migrated_url: str, engine: AsyncEngine
) -> None:
    channels = await many_standups(make_uow_factory(engine), 40)
    other = create_engine(migrated_url)
    try:
        outbox = Recorder()
        clock = FixedClock(NOW)
        workers = [
            Scheduler(make_uow_factory(e), outbox, clock=clock, default_timezone="Europe/Berlin")
            for e in (engine, other)
        ]
        for _ in range(3):
            await asyncio.gather(*(w.tick() for w in workers))
        openings = Counter(
            m.channel for m in outbox.sent if m.reply.text.startswith("Standup time!")
        )
        assert set(openings) == set(channels)
        assert set(openings.values()) == {1}
    finally:
        await other.dispose()


async def test_a_worker_that_died_after_claiming_is_replaced_once_its_lease_ends(
    uow_factory: UowFactory,
) -> None:
    (channel,) = await many_standups(uow_factory, 1)
    clock = FixedClock(NOW)
    dead = Scheduler(uow_factory, Recorder(), clock=clock)
    # The dead worker claimed the schedule and the run, then was killed before sending.
    await dead.claim_schedules(NOW, TickReport())
    async with uow_factory() as uow:
        (claimed,) = await uow.schedules.claim_runs(NOW, NOW + LEASE)
        await uow.commit()
    assert claimed.status is RunStatus.SENDING

    outbox = Recorder()
    alive = Scheduler(uow_factory, outbox, clock=clock)
    await alive.tick()
    assert outbox.sent == []  # the lease still holds
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await alive.tick()
    await alive.tick()
    assert [m.reply.text.startswith("Standup time!") for m in outbox.sent] == [True]
    async with uow_factory() as uow:
        (run,) = await uow.schedules.runs(channel, claimed.kind)
    assert (run.status, run.attempts) == (RunStatus.DONE, 2)


async def test_a_failed_delivery_is_retried_not_dropped(uow_factory: UowFactory) -> None:
    await many_standups(uow_factory, 1)

    class Flaky(Recorder):
        fails = 1

        async def send(self, message: Outgoing) -> str:
            if self.fails:
                self.fails -= 1
                raise ConnectionError("platform said 503")
            return await super().send(message)

    clock = FixedClock(NOW)
    outbox = Flaky()
    worker = Scheduler(uow_factory, outbox, clock=clock)
    await worker.tick()
    assert outbox.sent == []
    clock.advance(seconds=30)
    await worker.tick()
    assert len(outbox.sent) == 1


def test_lease_is_short() -> None:
    assert timedelta(minutes=1) <= LEASE <= timedelta(minutes=5)
