"""The scheduler tick: claim due schedules, sweep for nudges, deliver runs. Exactly once.

Every replica runs ``tick()`` every few seconds. Correctness comes from the database, not
from timing: schedules are claimed with row locks that other workers skip, every occurrence
is a run with a unique key (a second insert does nothing), and runs are delivered under a
lease, so a worker that dies between claiming and sending is replaced once its lease ends.

A run's message is built from fresh data by its first attempt and kept with the run: a retry
sends that same message. What sending it changes (the last digest's time, an item's nudge
count, where a standup was posted) is written in the transaction that marks the run done,
never per attempt. The lease is renewed while a send runs, and a run claimed again after a
send started is logged as a possible duplicate and sent with ``Outgoing.resend`` so that
adapters able to find their earlier message look first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.context import current_run_id
from bot.domain.model import (
    ChannelKey,
    ChannelSettings,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.domain.schedules import ZoneTimetable, local_date, rule_of, within_hours
from bot.errors import Unavailable, UsageError
from bot.messages import Outgoing
from bot.ports import (
    ChartDrawer,
    Clock,
    Messenger,
    SystemClock,
    Timetable,
    UnitOfWork,
    UnitOfWorkFactory,
    ZoneDirectory,
)
from bot.services import (
    closeout,
    dashboard,
    days_off,
    digests,
    nudges,
    stakeholder_updates,
    standups,
)
from bot.text.dates import check_timezone
from bot.views import digests as digest_views
from bot.views import nudges as nudge_views
from bot.views import stakeholders as stakeholder_views
from bot.views import standups as standup_views

log = logging.getLogger("raidline.scheduler")

LEASE = timedelta(minutes=2)
#: The longest one send may take (a platform's retries and rate-limit waits included); the
#: lease is renewed every quarter lease while it runs.
SEND_TIMEOUT = timedelta(minutes=5)
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
#: The longest a "dm local" standup waits for the platform to tell its members' time zones.
ZONE_LOOKUP_SECONDS = 5.0
#: How often a worker looks for blockers overdue long enough to escalate to stakeholders.
ESCALATION_SWEEP_EVERY = timedelta(minutes=5)


class NoRoute(Exception):
    """No adapter in this process serves the run's platform: leave it to a replica that does."""


class LeaseLost(Exception):
    """Another worker holds the run now (this worker's lease ran out): leave it to that one."""


class DayOff(Exception):
    """The run falls on a day off of its channel: recorded as skipped, with the reason."""


class SendTimedOut(Exception):
    """A send took longer than ``SEND_TIMEOUT``: given up, retried later."""


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
#: What sending a run changes, in the transaction that marks it done: (unit of work, the run
#: with its ``built_at``, the platform's message ref, when it was sent).
RunDone = Callable[[UnitOfWork, Run, str | None, datetime], Awaitable[None]]
#: On a retry of a run whose message is kept: is it still worth sending now?
RunCheck = Callable[[UnitOfWork, Run, datetime], Awaitable[bool]]


@dataclass(frozen=True)
class RunSteps:
    """What one kind of run does."""

    #: builds its message (first attempt only; retries send the kept message)
    build: RunHandler
    #: what sending it changes, written when it is marked done (None: nothing)
    done: RunDone | None = None
    #: a retry sends the kept message only if this still says yes (None: always)
    still_due: RunCheck | None = None


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
        lease: timedelta | None = None,
        timetable: Timetable | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.messenger = messenger
        self.clock = clock or SystemClock()
        #: next runs and holidays (the zoneinfo-only fallback when none is given)
        self.timetable: Timetable = timetable or ZoneTimetable()
        #: per platform, where members' own time zones are looked up ("dm local" standups)
        self.zone_directories: Mapping[str, ZoneDirectory] = {}
        self.default_timezone = default_timezone
        #: platforms this process delivers to (None: all)
        self.platforms = platforms
        #: how long a claim holds a run; renewed every quarter of it while a send runs
        self.lease = lease if lease is not None else LEASE
        self.last_tick_at: datetime | None = None
        #: called with the report of every tick, also of a failed one (metrics)
        self.observers: list[TickObserver] = []
        #: draws the weekly digest's chart; None: digests go without a picture
        self.charts: ChartDrawer | None = None
        #: set by :meth:`stop_delivering`: no new claims, claimed runs are handed back
        self.stopping = False
        #: how many channels' runs are delivered at once
        self.delivery_concurrency = max(1, delivery_concurrency)
        #: the runs being delivered right now, by key
        self.in_delivery: dict[str, Run] = {}
        self._unsent: list[Run] = []
        #: what each kind of run sends
        self.handlers: dict[RunKind, RunSteps] = {
            RunKind.NUDGE: RunSteps(self._nudge, self._nudge_done, self._nudge_still_due),
            RunKind.DIGEST: RunSteps(self._digest, self._digest_done),
            RunKind.STANDUP_OPEN: RunSteps(self._standup_open, self._standup_open_done),
            RunKind.STANDUP_REMIND: RunSteps(self._standup_remind),
            RunKind.STANDUP_CLOSE: RunSteps(self._standup_close),
            RunKind.STANDUP_UPDATE: RunSteps(self._standup_update),
            RunKind.STAKEHOLDER: RunSteps(self._stakeholder),
        }
        self._escalations_swept_at: datetime | None = None

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
            await self.sweep_escalations(now, report)
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
                self.lease,
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
        rule = rule_of(s)
        # A "dm local" standup is claimed ``lead`` ahead of its time (standups.lead).
        lead = standups.lead(s)
        occurrences = [s.next_run_at + lead]
        while len(occurrences) < 400:
            following = self.timetable.next_run(rule, occurrences[-1])
            if following - lead > now:
                break
            occurrences.append(following)
        upcoming = self.timetable.next_run(rule, max(now + lead, occurrences[-1])) - lead
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
                at = {"at": occurrence.isoformat()} if lead else {}
                new.append(
                    Run(
                        key=f"standup_open:{s.stored_id}:{day}",
                        kind=RunKind.STANDUP_OPEN,
                        channel=s.channel,
                        due_at=occurrence,
                        status=status,
                        payload={"schedule_id": s.stored_id, "local_date": day, **at},
                        created_at=now,
                    )
                )
                if lead and status is RunStatus.PENDING:
                    new.append(standups.prepare_run(s, occurrence, day, now))
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
                and nudges.reason(
                    item, settings[item.channel], zones[item.channel], now, self.timetable
                )
            ]
            report.runs_created += len(await uow.schedules.add_runs(new))
            await uow.commit()

    async def sweep_escalations(self, now: datetime, report: TickReport) -> None:
        """Queue stakeholder escalations: long-overdue blockers, milestones at risk or missed
        (every few minutes)."""
        swept = self._escalations_swept_at
        if swept is not None and swept <= now < swept + ESCALATION_SWEEP_EVERY:
            return
        async with self.uow_factory() as uow:
            report.runs_created += await stakeholder_updates.sweep_escalations(
                uow, now, self._tz, self._day_off_reason
            )
            await uow.commit()
        self._escalations_swept_at = now

    def _day_off_reason(self, settings: ChannelSettings, day: date) -> str | None:
        return days_off.reason(settings, day, self.timetable)

    # --- 3. delivery -----------------------------------------------------------------------

    async def deliver(self, now: datetime, report: TickReport) -> None:
        """Deliver the claimed runs: up to ``delivery_concurrency`` channels at once (a slow
        platform call holds up one channel, not the batch), each channel's runs in order."""
        if self.stopping:
            return
        async with self.uow_factory() as uow:
            runs = await uow.schedules.claim_runs(now, now + self.lease, DELIVERY_BATCH)
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
        if run.send_started_at is not None:
            log.warning(
                "possible duplicate: %s is sent again after an earlier attempt started to "
                "send it at %s and did not see it through (attempt %s)",
                run.key,
                run.send_started_at.isoformat(),
                run.attempts,
            )
        try:
            outgoing = await self._build(run, now)
            if outgoing is not None:
                outgoing = dataclasses.replace(
                    outgoing, key=run.key, resend=run.send_started_at is not None
                )
            ref = await self._send_leased(run, outgoing) if outgoing else None
        except NoRoute:
            await self._finish(run, RunStatus.PENDING, retry_at=run.due_at)
            return
        except stakeholder_updates.Held as held:
            log.info("%s: %s", run.key, held)
            await self._finish(run, RunStatus.PENDING, retry_at=held.until)
            return
        except standups.SummaryNotPosted as waiting:
            log.info("%s: %s; trying again shortly", run.key, waiting)
            await self._finish(run, RunStatus.PENDING, retry_at=now + LEASE / 4)
            return
        except LeaseLost:
            log.warning("%s: lease lost to another worker; left to that one", run.key)
            return
        except DayOff as off:
            report.skipped += 1
            log.info("%s skipped: %s", run.key, off)
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
            built = dataclasses.replace(run, built_at=run.built_at or now)
            await self._finish(built, RunStatus.DONE, ref, sent_at=self.clock.now())

    async def _send_leased(self, run: Run, outgoing: Outgoing) -> str | None:
        """Send, renewing the run's lease every quarter lease while the send runs; give the
        send up at ``SEND_TIMEOUT``, or as soon as the run is another worker's."""
        loop = asyncio.get_running_loop()
        every = self.lease.total_seconds() / 4
        began = loop.time()
        held_until = began + self.lease.total_seconds()
        send = asyncio.ensure_future(self.messenger.send(outgoing))
        try:
            while True:
                done, _ = await asyncio.wait({send}, timeout=every)
                if done:
                    return send.result()
                if loop.time() - began >= SEND_TIMEOUT.total_seconds():
                    raise SendTimedOut(f"no answer from the platform in {SEND_TIMEOUT}")
                held = await self._renew(run)
                if held is False:
                    raise LeaseLost(run.key)
                if held:
                    held_until = loop.time() + self.lease.total_seconds()
                elif loop.time() + every >= held_until:
                    # The database is unreachable and the lease ends before the next try.
                    raise LeaseLost(run.key)
        finally:
            if not send.done():
                send.cancel()
                send.add_done_callback(_forget)

    async def _renew(self, run: Run) -> bool | None:
        """Extend the lease of a run being sent; None: the database could not be reached."""
        try:
            async with self.uow_factory() as uow:
                held = await uow.schedules.renew_lease(
                    run.stored_id, run.attempts, self.clock.now() + self.lease
                )
                await uow.commit()
        except Unavailable:
            log.warning("could not renew the lease of %s (database unavailable)", run.key)
            return None
        return held

    async def _finish(
        self,
        run: Run,
        status: RunStatus,
        ref: str | None = None,
        retry_at: datetime | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        """Record how the run ended, in one transaction with what sending it changed."""
        try:
            async with self.uow_factory() as uow:
                if retry_at is not None:
                    await uow.schedules.retry_run(run.stored_id, retry_at)
                else:
                    await uow.schedules.finish_run(run.stored_id, status, ref)
                done = self.handlers[run.kind].done
                if status is RunStatus.DONE and done is not None:
                    await done(uow, run, ref, sent_at or self.clock.now())
                await uow.commit()
        except Unavailable:
            log.warning("could not record the end of %s; its lease will expire", run.key)

    async def _build(self, run: Run, now: datetime) -> Outgoing | None:
        """The message a run sends, None when there is nothing (more) to send: the message its
        first attempt built and kept, or, on the first attempt, one built now from fresh data
        and kept. In the same transaction the lease is renewed and the send recorded as
        started; raises :class:`LeaseLost` when another worker holds the run now."""
        steps = self.handlers[run.kind]
        async with self.uow_factory() as uow:
            outgoing: Outgoing | None = None
            kept = False
            if run.built_at is not None:
                outgoing = await uow.schedules.stored_message(run.stored_id)
                kept = outgoing is not None
                if (
                    kept
                    and steps.still_due is not None
                    and not await steps.still_due(uow, run, now)
                ):
                    outgoing = None
            if not kept and (off := await self._day_off(uow, run)) is not None:
                if not await uow.schedules.renew_lease(run.stored_id, run.attempts, now):
                    raise LeaseLost(run.key)
                await uow.schedules.finish_run(run.stored_id, RunStatus.SKIPPED, reason=off)
                await uow.commit()
                raise DayOff(off)
            if not kept:
                outgoing = await steps.build(uow, run, now)
                if outgoing is not None:
                    outgoing = dataclasses.replace(outgoing, key=run.key)
                    await uow.schedules.save_message(run.stored_id, outgoing, now)
            held = await uow.schedules.renew_lease(
                run.stored_id,
                run.attempts,
                now + self.lease,
                send_started_at=now if outgoing is not None else None,
            )
            if not held:
                raise LeaseLost(run.key)
            await uow.commit()
        return outgoing

    async def _day_off(self, uow: UnitOfWork, run: Run) -> str | None:
        """Why the run's day is a day off of its channel (the run is then skipped), or None.
        Asked when the run fires, so the work week and holidays as they are now count."""
        if not days_off.checked_at_fire_time(run):
            return None
        settings = await uow.channels.get_settings(run.channel)
        day = run.payload.get("local_date") or local_date(run.due_at, self._tz(settings.timezone))
        # a closed project's scheduled runs are skipped alike (services.closeout)
        return closeout.skip_reason(settings, date.fromisoformat(str(day)), self.timetable)

    # --- the run kinds: each reads and changes what it needs in the run's unit of work ----

    async def _nudge(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        nudge = await nudges.due(uow, run, now, self._tz, self.timetable)
        if nudge is None:
            return None
        return nudge_views.message(
            nudge.item, nudge.why, nudge.settings, nudge.timezone, now, nudge.baseline
        )

    async def _nudge_still_due(self, uow: UnitOfWork, run: Run, now: datetime) -> bool:
        return await nudges.due(uow, run, now, self._tz, self.timetable) is not None

    async def _nudge_done(self, uow: UnitOfWork, run: Run, ref: str | None, at: datetime) -> None:
        await nudges.delivered(uow, run, at)

    async def _digest(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        schedule_id = run.payload.get("schedule_id")
        schedule = await uow.schedules.get_by_id(int(schedule_id)) if schedule_id else None
        since = None
        if schedule is not None and schedule.name is not None:
            # An added digest schedule (a weekly beside a daily) covers the time since its
            # own last digest; the channel's first one, since the channel's last digest.
            since = await digests.last_sent(uow, run.channel, schedule.stored_id)
        digest, tz = await digests.due(
            uow, run.channel, now, self._tz, since=since, timetable=self.timetable
        )
        if not digest.worth_sending:
            return None
        reply = digest_views.digest(digest, tz, now)
        if schedule is not None and len(schedule.days) == 1:  # the weekly digest: a picture
            png = await dashboard.chart_png(uow, run.channel, now, self.charts)
            reply = digest_views.with_chart(reply, png, now)
        return Outgoing(run.channel, reply)

    async def _digest_done(self, uow: UnitOfWork, run: Run, ref: str | None, at: datetime) -> None:
        await digests.delivered(uow, run.channel, run.built_at or at)
        await stakeholder_updates.digest_posted(uow, run, at)

    async def _stakeholder(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        notice = await stakeholder_updates.due(uow, run, now, self._tz, self._day_off_reason)
        if notice is None:
            return None
        if notice.digest_run is None:
            return stakeholder_views.notice(notice, run.channel, now)
        digest = await uow.schedules.stored_message(notice.digest_run)
        if digest is None:
            return None
        return stakeholder_views.weekly(digest.reply, run.channel, notice.person)

    async def _standup_open(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        opened = await standups.open_run(uow, run, now, self._member_zones)
        if opened is None:
            return None
        reply = standup_views.opening(
            opened.standup,
            opened.timezone,
            now,
            questions_by_dm=opened.questions_by_dm,
            name=opened.name,
        )
        return Outgoing(run.channel, reply, to_user=opened.to_user)

    async def _member_zones(self, channel: ChannelKey, people: Sequence[str]) -> Mapping[str, str]:
        """The members' time zones the channel's platform knows (Slack: users.info); none
        when it knows none or does not answer in time."""
        directory = self.zone_directories.get(channel.platform)
        if directory is None or not people:
            return {}
        try:
            async with asyncio.timeout(ZONE_LOOKUP_SECONDS):
                return await directory.timezones(channel, people)
        except Exception as exc:  # a platform outage must not stop a standup
            log.warning("no time zones from %s: %s", channel.platform, type(exc).__name__)
            return {}

    async def _standup_open_done(
        self, uow: UnitOfWork, run: Run, ref: str | None, at: datetime
    ) -> None:
        if ref is not None:
            await standups.delivered(uow, run, ref)

    async def _standup_remind(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        reminder = await standups.remind_run(uow, run, now, self.default_timezone)
        if reminder is None:
            return None
        reply = standup_views.reminder(
            reminder.standup, reminder.missing, reminder.timezone, now, name=reminder.name
        )
        return Outgoing(run.channel, reply, to_user=reminder.to_user, thread=reminder.thread)

    async def _standup_close(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        closed = await standups.close_run(uow, run, self.default_timezone)
        if closed is None:
            return None
        reply = standup_views.summary(closed.summary, closed.timezone, now, name=closed.name)
        return Outgoing(run.channel, reply)

    async def _standup_update(self, uow: UnitOfWork, run: Run, now: datetime) -> Outgoing | None:
        closed = await standups.update_run(uow, run, self.default_timezone)
        if closed is None:
            return None
        reply = standup_views.summary(closed.summary, closed.timezone, now, name=closed.name)
        return Outgoing(run.channel, reply, edit=closed.edit)


def _forget(task: asyncio.Future[str | None]) -> None:
    """A send given up on: its outcome no longer matters (read it so asyncio does not warn)."""
    if not task.cancelled():
        task.exception()
