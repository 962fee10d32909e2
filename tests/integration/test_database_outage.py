"""PostgreSQL stopped mid-run: commands say so, nothing acknowledged is lost, all resumes.

The test starts and stops a PostgreSQL cluster of its own (never the shared one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.web import Readiness
from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Schedule, ScheduleKind
from bot.errors import Unavailable
from bot.messages import Outgoing, Request, Tone
from bot.scheduler import Scheduler
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import check_database, make_uow_factory
from tests.fakes import FixedClock
from tests.integration.throwaway_postgres import Cluster, throwaway_cluster

CHANNEL = ChannelKey("console", "local", "proj")
OUTAGE = "raidline can't reach its database right now; nothing was saved, please try again."


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as running:
        yield running


def say(line: str, user: str = "ana") -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return str(len(self.sent))


@pytest.mark.postgres
async def test_postgres_stopped_mid_run(cluster: Cluster) -> None:
    upgrade(cluster.url)
    engine = create_engine(cluster.url)
    clock = FixedClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))  # Thu 09:00 Berlin
    core = Core(make_uow_factory(engine), clock=clock, default_timezone="Europe/Berlin")
    outbox = Recorder()
    scheduler = Scheduler(core.uow_factory, outbox, clock=clock, default_timezone="Europe/Berlin")
    try:
        assert (await core.handle(say("/blocker Before the outage @dana"))).tone is Tone.SUCCESS
        async with core.uow_factory() as uow:
            await uow.schedules.save(
                Schedule(
                    CHANNEL,
                    ScheduleKind.DIGEST,
                    days=("thu",),
                    at="09:30",
                    timezone="Europe/Berlin",
                    enabled=True,
                    next_run_at=datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
                )
            )
            await uow.commit()

        cluster.stop()
        reply = await core.handle(say("/blocker During the outage"))
        assert reply.text == OUTAGE and reply.tone is Tone.ERROR
        listing = await core.handle(say("/raid list"))
        assert listing.text == OUTAGE
        assert await check_database(engine) is False
        readiness = await Readiness(engine).check()
        assert readiness["ready"] is False
        assert readiness["checks"]["database"]["ok"] is False
        clock.advance(minutes=45)  # the digest is due while the database is down
        with contextlib.suppress(Unavailable):  # the tick loop logs it and tries again
            await scheduler.tick()
        assert outbox.sent == []

        cluster.start()
        assert await check_database(engine) is True
        assert (await Readiness(engine).check())["checks"]["database"]["ok"] is True
        after = await core.handle(say("/blocker After the outage"))
        assert after.tone is Tone.SUCCESS and after.item_ref == "B-2"
        listing = await core.handle(say("/raid list blockers"))
        lines = [line for s in listing.sections for line in s.lines]
        assert any("Before the outage" in line for line in lines)
        assert not any("During the outage" in line for line in lines)
        await scheduler.tick()
        assert [m.reply.text.split(":")[0] for m in outbox.sent] == ["Digest"]
    finally:
        await engine.dispose()
