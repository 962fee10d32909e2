"""The scheduler tick: claim due schedules, sweep for nudges, deliver runs. Exactly once.

Every replica runs ``tick()`` every few seconds. Correctness comes from the database, not
from timing: schedules are claimed with row locks that other workers skip, every occurrence
is a run with a unique key (a second insert does nothing), and runs are delivered under a
lease, so a worker that dies between claiming and sending is replaced once its lease ends.
Content is built at delivery time from fresh data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.context import current_run_id
from bot.domain.model import (
    ChannelKey,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.domain.schedules import local_date, next_run, within_hours
from bot.errors import Unavailable, UsageError
from bot.messages import Outgoing
from bot.ports import Clock, Messenger, SystemClock, UnitOfWork, UnitOfWorkFactory
from bot.services import digests, nudges, standups
from bot.text.dates import check_timezone
from bot.views import digests as digest_views
from bot.views import nudges as nudge_views
from bot.views import standups as standup_views

log = logging.getLogger("raidline.scheduler")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
#: After downtime, at most this many missed occurrences of one schedule are recorded.
MAX_CATCH_UP = 14
#: An item nudged this recently is not looked at again: nudges are at most daily, and
#: working hours leave more than this between one day's nudges and the next day's.
NUDGED_RECENTLY = timedelta(hours=12)
#: Schedules claimed, and runs claimed for delivery, per transaction. A tick that fills a
#: batch reports ``busy`` and the tick loop runs the next one at once.
CLAIM_BATCH = 100
DELIVERY_BATCH = 50


class NoRoute(Exception):
    """No adapter in this process serves the run's platform: leave it to a replica that does."""


@dataclass
class TickReport:
    claimed: int = 0
    runs_created: int = 0
    delivered: int = 0
    skipped: int = 0
    #: runs given up on after MAX_ATTEMPTS
    failed: int = 0
    sent: list[str] = field(default_factory=list)
    #: (run kind, seconds from its due time to its delivery) of every run delivered
    deliveries: list[tuple[str, float]] = field(default_factory=list)
    #: delivery attempts that raised (retried later, or failed for good)
    delivery_errors: int = 0
    #: times the database could not be reached
    database_errors: int = 0
    #: runs claimed but handed back unsent because the scheduler is stopping
    released: int = 0
    #: runs pending or sending after the tick; None when they could not be counted
    outbox_depth: int | None = None
    #: when the tick finished; None when it failed
    finished_at: datetime | None = None
    #: the tick stopped at a batch limit with more work waiting: tick again at once
    busy: bool = False

    @property
    def max_lag_seconds(self) -> float:
        """The longest a run delivered in this tick waited past its due time (0: none)."""
        return max((lag for _, lag in self.deliveries), default=0.0)


TickObserver = Callable[[TickReport], None]
#: Builds the message of one run in the run's unit of work; None: nothing to send.
RunHandler = Callable[[UnitOfWork, Run, datetime], Awaitable[Outgoing | None]]


class Scheduler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        messenger: Messenger,
        *,
        clock: Clock | None = None,
        default_timezone: str = "UTC",
        platforms: frozenset[str] | None = None,
        delivery_concurrency: int = 1,
    ) -> None:
        self.uow_factory = uow_factory
        self.messenger = messenger
        self.clock = clock or SystemClock()
        self.default_timezone = default_timezone
        #: platforms this process delivers to (None: all)
        self.platforms = platforms
        self.last_tick_at: datetime | None = None
        #: called with the report of every tick, also of a failed one (metrics)
        self.observers: list[TickObserver] = []
        #: set by :meth:`stop_delivering`: no new claims, claimed runs are handed back
        self.stopping = False
        #: how many channels' runs are delivered at once
        self.delivery_concurrency = max(1, delivery_concurrency)
        #: the runs being delivered right now, by key
        self.in_delivery: dict[str, Run] = {}
        self._unsent: list[Run] = []
        #: what each kind of run sends
        self.handlers: dict[RunKind, RunHandler] = {
            RunKind.NUDGE: self._nudge,
            RunKind.DIGEST: self._digest,
            RunKind.STANDUP_OPEN: self._standup_open,
            RunKind.STANDUP_REMIND: self._standup_remind,
            RunKind.STANDUP_CLOSE: self._standup_close,
        }

    def _tz(self, name: str | None) -> str:
        if name:
            try:
                return check_timezone(name)
            except UsageError:
                log.warning("ignoring unknown time zone %r", name)
        return self.default_timezone

    async def tick(self) -> TickReport:
        report = TickReport()
        now = self.clock.now()
        try:
            await self.claim_schedules(now, report)
            await self.sweep_nudges(now, report)
            await self.deliver(now, report)
            self.last_tick_at = now
            report.outbox_depth = await self._outbox_depth(report)
            report.finished_at = self.clock.now()
        except Unavailable:
            report.database_errors += 1
            raise
        finally:
            for observer in self.observers:
                try:
                    observer(report)
                except Exception:
                    log.exception("a tick observer failed")
        return report

    async def _outbox_depth(self, report: TickReport) -> int | None:
        try:
            async with self.uow_factory() as uow:
                return await uow.schedules.outbox_depth()
        except Unavailable:
            report.database_errors += 1
            return None

    # --- stopping ----------------------------------------------------------------------------

    def stop_delivering(self) -> None:
        """Shutting down: finish the run being sent, hand the other claimed runs back, and
        claim no more. The tick in progress then ends soon."""
        self.stopping = True

    async def release_unsent(self) -> list[str]:
        """Hand back the runs this tick claimed and has not started to send; their keys."""
        runs, self._unsent = self._unsent, []
        if not runs:
            return []
        keys = [run.key for run in runs]
        try:
            async with self.uow_factory() as uow:
                released = await uow.schedules.release_runs([run.stored_id for run in runs])
                await uow.commit()
        except Unavailable:
            log.warning(
                "could not hand back %s claimed runs; their leases expire within %s",
                len(runs),
                LEASE,
                extra={"runs": keys},
            )
            return []
        log.info("handed back %s claimed runs unsent", released, extra={"runs": keys})
        return keys

    # --- 1. schedules -> runs ------------------------------------------------------------

    async def claim_schedules(self, now: datetime, report: TickReport) -> None:
        async with self.uow_factory() as uow:
            claimed = await uow.schedules.claim_due(now, CLAIM_BATCH)
            report.busy |= len(claimed) >= CLAIM_BATCH
            for schedule in claimed:
                report.claimed += 1
                report.runs_created += await self._occurrences(uow, schedule, now)
            await uow.commit()

    async def _occurrences(self, uow: UnitOfWork, s: Schedule, now: datetime) -> int:
        """Runs for every occurrence up to ``now`` (missed ones recorded), next run advanced."""
        assert s.next_run_at is not None and s.at is not None  # noqa: S101 - claim_due's contract
        occurrences = [s.next_run_at]
        while len(occurrences) < 400:
            following = next_run(s.days, s.at, s.timezone, occurrences[-1])
            if following > now:
                break
            occurrences.append(following)
        upcoming = next_run(s.days, s.at, s.timezone, max(now, occurrences[-1]))
        if s.kind is ScheduleKind.DIGEST:
            # One catch-up digest covers the whole gap since the last one.
            day = local_date(occurrences[-1], s.timezone)
            new = [
                Run(
                    key=f"digest:{s.stored_id}:{day}",
                    kind=RunKind.DIGEST,
                    channel=s.channel,
                    due_at=occurrences[-1],
                    payload={"schedule_id": s.stored_id, "local_date": day},
                )
            ]
        else:
            window = timedelta(minutes=s.window_minutes)
            new = []
            for occurrence in occurrences[-MAX_CATCH_UP:]:
                day = local_date(occurrence, s.timezone)
                if day in s.skip_dates:
                    status = RunStatus.SKIPPED
                elif now - occurrence >= window:
                    status = RunStatus.MISSED
                else:
                    status = RunStatus.PENDING
                new.append(
                    Run(
                        key=f"standup_open:{s.stored_id}:{day}",
                        kind=RunKind.STANDUP_OPEN,
                        channel=s.channel,
                        due_at=occurrence,
                        status=status,
                        payload={"schedule_id": s.stored_id, "local_date": day},
                        created_at=now,
                    )
                )
        added = await uow.schedules.add_runs(new)
        for run in new:
            if run.key in added and run.status is RunStatus.MISSED:
                log.warning(
                    "standup %s of %s was missed (raidline was down)",
                    run.payload["local_date"],
                    s.channel,
                )
        today = local_date(now, s.timezone)
        await uow.schedules.reschedule(
            s.stored_id, upcoming, [d for d in s.skip_dates if d >= today], now
        )
        return len(added)

    # --- 2. nudges -------------------------------------------------------------------------

    async def sweep_nudges(self, now: datetime, report: TickReport) -> None:
        """Queue a nudge run for every item that deserves one today. The database narrows
        the active items down to the few that may (indexed: past their date, unowned for a
        day, waiting for approval, not nudged in the last ``NUDGED_RECENTLY``); the rules
        then decide in each channel's time zone and working hours."""
        async with self.uow_factory() as uow:
            candidates = await uow.items.nudge_candidates(
                now,
                unowned_before=now - nudges.UNOWNED_AFTER,
                waiting_before=now - timedelta(days=nudges.APPROVAL_WORKING_DAYS),
                nudged_before=now - NUDGED_RECENTLY,
            )
            settings = await uow.channels.settings_of(item.channel for item in candidates)
            zones = {key: self._tz(found.timezone) for key, found in settings.items()}
            working = {
                key: within_hours(
                    now, zones[key], found.work_days, found.work_start, found.work_end
                )
                for key, found in settings.items()
            }
            new = [
                Run(
                    key=f"nudge:{item.stored_id}:{local_date(now, zones[item.channel])}",
                    kind=RunKind.NUDGE,
                    channel=item.channel,
                    due_at=now,
                    payload={"kind": item.kind.value, "number": item.number},
                    created_at=now,
                )
                for item in candidates
                if working[item.channel]
                and nudges.reason(item, settings[item.channel], zones[item.channel], now)
            ]
            report.runs_created += len(await uow.schedules.add_runs(new))
            await uow.commit()

    # --- 3. delivery -----------------------------------------------------------------------

    async def deliver(self, now: datetime, report: TickReport) -> None:
        """Deliver the claimed runs: up to ``delivery_concurrency`` channels at once (a slow
        platform call holds up one channel, not the batch), each channel's runs in order."""
        if self.stopping:
            return
        async with self.uow_factory() as uow:
            runs = await uow.schedules.claim_runs(now, now + LEASE, DELIVERY_BATCH)
            await uow.commit()
        report.busy |= len(runs) >= DELIVERY_BATCH
        self._unsent = list(runs)
        channels = list(dict.fromkeys(run.channel for run in runs))
        workers = [
            self._deliver_channels(channels, report)
            for _ in range(min(self.delivery_concurrency, len(channels)))
        ]
        await asyncio.gather(*workers)
        if self._unsent:  # stopping: what no worker started goes back
            report.released += len(await self.release_unsent())

    async def _deliver_channels(self, channels: list[ChannelKey], report: TickReport) -> None:
        """One delivery worker: takes the next channel and sends its runs, oldest first."""
        while channels and not self.stopping:
            channel = channels.pop(0)
            for run in [r for r in self._unsent if r.channel == channel]:
                if self.stopping:
                    return
                self._unsent.remove(run)
                self.in_delivery[run.key] = run
                token = current_run_id.set(run.key)
                try:
                    await self._deliver_one(run, report)
                finally:
                    current_run_id.reset(token)
                    del self.in_delivery[run.key]

    @property
    def delivering(self) -> Run | None:
        """A run being delivered right now (the first, when several are)."""
        return next(iter(self.in_delivery.values()), None)

    async def _deliver_one(self, run: Run, report: TickReport) -> None:
        if self.platforms is not None and run.channel.platform not in self.platforms:
            await self._finish(run, RunStatus.PENDING, retry_at=run.due_at)
            return
        now = self.clock.now()
        try:
            outgoing = await self._build(run, now)
            if outgoing is not None:
                outgoing = dataclasses.replace(outgoing, key=run.key)
            ref = await self.messenger.send(outgoing) if outgoing else None
        except NoRoute:
            await self._finish(run, RunStatus.PENDING, retry_at=run.due_at)
            return
        except Unavailable:
            report.database_errors += 1
            log.warning("database unavailable while delivering %s; it will be retried", run.key)
            return  # the lease runs out and the run is claimed again
        except Exception:
            report.delivery_errors += 1
            log.exception("delivering %s failed (attempt %s)", run.key, run.attempts)
            if run.attempts >= MAX_ATTEMPTS:
                report.failed += 1
                await self._finish(run, RunStatus.FAILED)
            else:
                backoff = timedelta(seconds=min(300, 5 * 2**run.attempts))
                await self._finish(run, RunStatus.PENDING, retry_at=now + backoff)
            return
        if outgoing is None:
            report.skipped += 1
            await self._finish(run, RunStatus.SKIPPED)
        else:
            report.delivered += 1
            report.sent.append(run.key)
            report.deliveries.append((run.kind.value, (now - run.due_at).total_seconds()))
            await self._finish(run, RunStatus.DONE, ref)

    async def _finish(
        self,
        run: Run,
        status: RunStatus,
        ref: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record how the run ended, in one transaction with what its message left behind."""
        try:
            async with self.uow_factory() as uow:
                if retry_at is not None:
                    await uow.schedules.retry_run(run.stored_id, retry_at)
                else:
                    await uow.schedules.finish_run(run.stored_id, status, ref)
                if status is RunStatus.DONE and ref is not None:
                    await standups.delivered(uow, run, ref)
                await uow.commit()
        except Unavailable:
            log.warning("could not record the end of %s; its lease will expire", run.key)

    async def _build(self, run: Run, now: datetime) -> Outgoing | None:
        """The message a run sends, from fresh data; None when there is nothing to send."""
        async with self.uow_factory() as uow:
            outgoing = await self.handlers[run.kind](uow, run, now)
            await uow.commit()
        return outgoing

    # --- the run kinds: each reads and changes what it needs in the run's unit of work ----

    async def _nudge(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        nudge = await nudges.due(uow, run, now, self._tz)
        if nudge is None:
            return None
        return nudge_views.message(nudge.item, nudge.why, nudge.settings, nudge.timezone, now)

    async def _digest(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        digest, tz = await digests.due(uow, run.channel, now, self._tz)
        if not digest.worth_sending:
            return None
        return Outgoing(run.channel, digest_views.digest(digest, tz, now))

    async def _standup_open(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        opened = await standups.open_run(uow, run, now)
        if opened is None:
            return None
        reply = standup_views.opening(
            opened.standup, opened.timezone, now, questions_by_dm=opened.questions_by_dm
        )
        return Outgoing(run.channel, reply, to_user=opened.to_user)

    async def _standup_remind(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        reminder = await standups.remind_run(uow, run, now, self.default_timezone)
        if reminder is None:
            return None
        reply = standup_views.reminder(reminder.standup, reminder.missing, reminder.timezone, now)
        return Outgoing(run.channel, reply, to_user=reminder.to_user, thread=reminder.thread)

    async def _standup_close(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        closed = await standups.close_run(uow, run, self.default_timezone)
        if closed is None:
            return None
        return Outgoing(run.channel, standup_views.summary(closed.summary, closed.timezone, now))
