"""The scheduler on real storage: exactly once across concurrent workers and crashes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.scheduler
from bot.domain.model import (
    WEEKDAYS,
    ChannelKey,
    ChannelSettings,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.messages import (
    Action,
    Card,
    Field,
    File,
    Form,
    FormField,
    InputKind,
    Outgoing,
    Reply,
    Section,
    Tone,
    Visibility,
)
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


class Slow(Recorder):
    """A platform that posts a message the moment the call arrives and answers ``delay``
    seconds later (timeouts, retries, rate-limit waits...)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.started = asyncio.Event()

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        self.started.set()
        await asyncio.sleep(self.delay)
        return f"m{len(self.sent)}"


async def test_a_send_slower_than_the_lease_is_not_taken_over_by_a_second_worker(
    migrated_url: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers on the system clock with a one-second lease; the first one's send takes
    # 2.5 s. The second ticks all the while: it must not take the run over and post it again.
    monkeypatch.setattr(bot.scheduler, "LEASE", timedelta(seconds=1))
    now = datetime.now(UTC)
    async with make_uow_factory(engine)() as uow:
        team = ChannelKey("console", "local", "team")
        # Today, whatever day it is, is a working day: the run must be sent, not skipped.
        await uow.channels.save_settings(ChannelSettings(channel=team, work_days=WEEKDAYS))
        await uow.schedules.save(
            Schedule(
                channel=team,
                kind=ScheduleKind.STANDUP,
                days=WEEKDAYS,
                at="09:30",
                timezone="Europe/Berlin",
                enabled=True,
                next_run_at=now - timedelta(seconds=5),
                members=("ana",),
            )
        )
        await uow.commit()
    other = create_engine(migrated_url)
    try:
        outbox = Slow(2.5)
        first = Scheduler(make_uow_factory(engine), outbox, default_timezone="Europe/Berlin")
        second = Scheduler(make_uow_factory(other), outbox, default_timezone="Europe/Berlin")
        sending = asyncio.create_task(first.tick())
        await asyncio.wait_for(outbox.started.wait(), 10)
        began = time.monotonic()
        while not sending.done() and time.monotonic() - began < 6:
            await second.tick()
            await asyncio.sleep(0.2)
        report = await sending
        await second.tick()
    finally:
        await other.dispose()
    assert report.delivered == 1
    assert [m.reply.text.startswith("Standup time!") for m in outbox.sent] == [True]


async def test_a_runs_message_is_kept_exactly_as_built(uow_factory: UowFactory) -> None:
    channel = ChannelKey("slack", "T1", "C1")
    form = Form("assign:B-1", "Assign", (FormField("owner", "Owner", InputKind.USER),))
    message = Outgoing(
        channel,
        Reply(
            "Digest: 1 open blocker",
            visibility=Visibility.CHANNEL,
            tone=Tone.SUCCESS,
            cards=(
                Card(
                    "B-1",
                    "blocker",
                    "Waiting on VPN",
                    "open",
                    fields=(Field("Owner", "<@dana>"),),
                    actions=(Action("Assign", "assign:B-1", form=form),),
                    due_at=NOW,
                    channel=channel,
                ),
            ),
            sections=(Section("What is blocked (1)", ("B-1 Waiting on VPN",)),),
            files=(File("raid.csv", b"ref,title\nB-1,VPN\n", "text/csv"),),
            field_errors={"owner": "who?"},
        ),
        to_user="dana",
        thread="1700000000.000100",
        key="digest:1:2026-11-26",
    )
    async with uow_factory() as uow:
        run_id = await uow.schedules.add_run(
            Run(message.key or "", RunKind.DIGEST, channel, NOW, created_at=NOW)
        )
        assert run_id is not None
        await uow.schedules.save_message(run_id, message, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.schedules.stored_message(run_id) == message
        (run,) = await uow.schedules.runs(channel, RunKind.DIGEST)
    assert run.built_at == NOW
