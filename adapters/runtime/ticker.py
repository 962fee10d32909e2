"""Drives the core's scheduler tick: one asyncio task, every few seconds and on demand.

The database is the source of truth (schedules, the run ledger, the outbox); this loop only
calls ``Scheduler.tick()`` every ``RAIDLINE_TICK_SECONDS``, never twice at once, at once
after a command changed a schedule, and back to back while a tick reports a backlog (many
standups due in the same minute). APScheduler is not used: its persistent job stores
double-fire when shared between processes and pickle jobs (notes/scheduling-and-storage.md
§2), next runs are computed from the rule with zoneinfo (``bot.domain.schedules``), and an
interval is all that is left to drive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import Unavailable
from bot.messages import Outgoing
from bot.ports import Messenger
from bot.scheduler import NoRoute, Scheduler

if TYPE_CHECKING:
    from adapters.metrics import Metrics
    from adapters.runtime.config import Settings
    from bot.dispatcher import Core

log = logging.getLogger("raidline.scheduler")


class Router:
    """``Messenger`` that hands each message to the adapter serving its platform."""

    def __init__(self, messengers: Mapping[str, Messenger]) -> None:
        self.messengers = messengers

    async def send(self, message: Outgoing) -> str | None:
        messenger = self.messengers.get(message.channel.platform)
        if messenger is None:
            raise NoRoute(message.channel.platform)
        return await messenger.send(message)


class TickRunner:
    """Runs ``Scheduler.tick()`` in one asyncio task. Ticks never overlap, and stopping lets
    the tick in progress finish its bookkeeping instead of cancelling it."""

    def __init__(self, scheduler: Scheduler, interval_seconds: float) -> None:
        self.scheduler = scheduler
        self.interval = interval_seconds
        self._bell = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while not self._stopping:
            self._bell.clear()
            busy = False
            try:
                report = await self.scheduler.tick()
            except Unavailable:
                # The tick counted it; nothing was claimed, so everything waits for the database.
                log.warning("the database is unreachable; scheduled work waits for it")
            except Exception:
                # A failed tick (database down...) is retried at the next one; nothing is
                # lost because nothing was marked done.
                log.exception("scheduler tick failed")
            else:
                busy = report.busy
                if report.delivered or report.failed or report.runs_created:
                    log.info(
                        "tick: %s runs created, %s delivered, %s skipped, %s failed",
                        report.runs_created,
                        report.delivered,
                        report.skipped,
                        report.failed,
                    )
            if busy:  # a backlog (many standups due at once): the next batch right away
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bell.wait(), timeout=self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="raidline-scheduler")

    def wake(self) -> None:
        """Tick as soon as possible (a command changed a schedule)."""
        self._bell.set()

    @property
    def last_tick_at(self) -> datetime | None:
        return self.scheduler.last_tick_at

    async def stop(self) -> None:
        self._stopping = True
        self._bell.set()
        if self._task is not None:
            await self._task
            self._task = None


def make_ticker(
    settings: Settings,
    core: Core,
    messengers: Mapping[str, Messenger],
    *,
    metrics: Metrics | None = None,
) -> TickRunner:
    """The scheduler tick for the platforms ``messengers`` serve, built but not started;
    from now on a command that changes a schedule wakes it."""
    scheduler = Scheduler(
        core.uow_factory,
        Router(messengers),
        clock=core.clock,
        default_timezone=settings.timezone,
        platforms=frozenset(messengers),
        delivery_concurrency=settings.raidline_delivery_concurrency,
        lease=timedelta(seconds=settings.raidline_run_lease_seconds),
        timetable=core.timetable,
    )
    scheduler.charts = core.charts
    scheduler.zone_directories = core.zone_directories
    if metrics is not None:
        scheduler.observers.append(metrics.observe_tick)
    runner = TickRunner(scheduler, settings.raidline_tick_seconds)
    core.on_schedule_change = runner.wake
    return runner


def start_scheduler(
    settings: Settings,
    core: Core,
    messengers: Mapping[str, Messenger],
    *,
    metrics: Metrics | None = None,
) -> TickRunner:
    """:func:`make_ticker`, started."""
    runner = make_ticker(settings, core, messengers, metrics=metrics)
    runner.start()
    return runner


__all__ = ["Router", "TickRunner", "make_ticker", "start_scheduler"]
