"""The scheduler at scale: an idle tick, a standup fan-out, and the nudge sweep.

    .venv/bin/python -m benchmarks.bench_scheduler

* ``tick_idle_ms_100k``: ``Scheduler.tick()`` with 100,000 standup schedules, none due (their
  next run is tomorrow) and nothing in the outbox: median of 25 ticks.
* ``standup_fanout_10k_s``: 10,000 channels whose standups fall due in the same minute.
  From the first tick until every standup is claimed, opened (its standup row, reminder and
  close runs written), rendered as Slack Block Kit by the real renderer and queued for
  sending, with ticks run back to back as the tick loop does while there is a backlog.
* ``nudge_sweep_100k_ms``: ``Scheduler.sweep_nudges`` over 100,000 open blockers in 1,000
  channels, 1 % of them overdue (1,000 nudges queued), then the same sweep again (all of
  them nudged already today), median of 5 each.

SQLite, plus PostgreSQL figures beside them when ``RAIDLINE_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.runtime.config import load_settings
from adapters.runtime.timetable import CronTimetable
from adapters.slack import blocks as kit
from benchmarks._common import emit, median, postgres_base_url, postgres_database
from benchmarks._data import NOW, add_channels, add_items, add_schedules, sync_engine
from bot.messages import Outgoing
from bot.scheduler import Scheduler, TickReport
from storage.db import create_engine
from storage.migrate import upgrade
from storage.tables import runs
from storage.uow import make_uow_factory
from tests.fakes import FixedClock


class QueueMessenger:
    """The network edge: renders like the Slack adapter does and queues the message."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.sent = 0

    async def send(self, message: Outgoing) -> str | None:
        self.sent += 1
        await self.queue.put(
            {
                "channel": message.channel.channel,
                "text": kit.message_text(message.reply),
                "blocks": kit.message_blocks(message.reply),
            }
        )
        return f"1700000000.{self.sent:06d}"


def _scheduler(url: str, clock: FixedClock) -> tuple[Scheduler, QueueMessenger, AsyncEngine]:
    engine = create_engine(url)
    messenger = QueueMessenger()
    scheduler = Scheduler(
        make_uow_factory(engine),
        messenger,
        clock=clock,
        default_timezone="Europe/Berlin",
        delivery_concurrency=load_settings({}).raidline_delivery_concurrency,  # the default
        timetable=CronTimetable(),  # raidline's: APScheduler's CronTrigger
    )
    return scheduler, messenger, engine


async def _tick_idle(url: str, ticks: int = 25) -> float:
    scheduler, _, engine = _scheduler(url, FixedClock(NOW))
    try:
        await scheduler.tick()  # connections opened, statements compiled
        samples = []
        for _ in range(ticks):
            started = time.perf_counter()
            report = await scheduler.tick()
            samples.append((time.perf_counter() - started) * 1000)
            assert report.claimed == report.delivered == 0
        return median(samples)
    finally:
        await engine.dispose()


async def _fanout(url: str, expected: int) -> tuple[float, int, int]:
    clock = FixedClock(NOW)
    scheduler, messenger, engine = _scheduler(url, clock)
    try:
        started = time.perf_counter()
        ticks = 0
        report = TickReport()
        while messenger.sent < expected:
            report = await scheduler.tick()
            ticks += 1
            if not report.busy and messenger.sent < expected:
                raise RuntimeError(f"stalled after {messenger.sent} of {expected} standups")
        elapsed = time.perf_counter() - started
        return elapsed, ticks, messenger.queue.qsize()
    finally:
        await engine.dispose()


async def _sweep(url: str, rounds: int = 5) -> tuple[float, float, int]:
    clock = FixedClock(NOW)
    scheduler, _, engine = _scheduler(url, clock)
    reset = sync_engine(url)
    try:
        first: list[float] = []
        again: list[float] = []
        queued = 0
        for _ in range(rounds):
            with reset.begin() as connection:  # the runs of the previous round
                connection.execute(runs.delete())
            report = TickReport()
            started = time.perf_counter()
            await scheduler.sweep_nudges(NOW, report)
            first.append((time.perf_counter() - started) * 1000)
            queued = report.runs_created
            started = time.perf_counter()
            await scheduler.sweep_nudges(NOW, TickReport())
            again.append((time.perf_counter() - started) * 1000)
        return median(first), median(again), queued
    finally:
        reset.dispose()
        await engine.dispose()


def populate_schedules(url: str, count: int, *, due: bool) -> None:
    upgrade(url)
    engine = sync_engine(url)
    try:
        ids = add_channels(engine, count, created_at=NOW - timedelta(days=30))
        next_run = NOW - timedelta(seconds=30) if due else NOW + timedelta(days=1)
        add_schedules(engine, ids, next_run_at=next_run, at="09:59", now=NOW)
    finally:
        engine.dispose()


def populate_blockers(url: str, channels: int, per_channel: int) -> None:
    upgrade(url)
    engine = sync_engine(url)
    try:
        ids = add_channels(engine, channels, created_at=NOW - timedelta(days=400))
        for channel_id in ids:
            add_items(
                engine, channel_id, open_count=per_channel, done_count=0, now=NOW,
                kinds=("blocker",), overdue_share=0.01, seed=channel_id,
            )  # fmt: skip
    finally:
        engine.dispose()


def measure(make: Callable[[], ContextManager[str]], label: str) -> dict[str, float]:
    """Every scenario on a fresh, empty database from ``make``."""
    out: dict[str, float] = {}
    with make() as url:
        populate_schedules(url, 100_000, due=False)
        out["tick_idle_ms_100k"] = asyncio.run(_tick_idle(url))
        print(f"  idle tick, 100,000 schedules:     {out['tick_idle_ms_100k']:9.2f} ms")
    with make() as url:
        populate_schedules(url, 10_000, due=True)
        seconds, ticks, queued = asyncio.run(_fanout(url, 10_000))
        out["standup_fanout_10k_s"] = seconds
        print(f"  10,000 standups due at once:  {seconds:9.2f} s  ({ticks} ticks, {queued} queued)")
    with make() as url:
        populate_blockers(url, 1_000, 100)
        first, again, queued = asyncio.run(_sweep(url))
        out["nudge_sweep_100k_ms"] = first
        out["nudge_sweep_again_100k_ms"] = again
        print(f"  nudge sweep, 100,000 blockers:    {first:9.2f} ms  ({queued} nudges queued)")
        print(f"  the same sweep again (none new):  {again:9.2f} ms")
    return {k if label == "sqlite" else k.replace("_", "_pg_", 1): v for k, v in out.items()}


@contextlib.contextmanager
def sqlite_db() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'sched.db'}"


def run() -> dict[str, float]:
    print("SQLite")
    results = measure(sqlite_db, "sqlite")
    base = postgres_base_url()
    if base:
        print("PostgreSQL")
        results.update(measure(lambda: postgres_database(base), "postgres"))
    return results


def main() -> None:
    emit(run())


if __name__ == "__main__":
    main()
