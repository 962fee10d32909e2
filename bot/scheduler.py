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
import functools
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
from bot.domain.schedules import Recurrence, ZoneTimetable, local_date, rule_of, within_hours
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
CLAIM_BATCH = 500
DELIVERY_BATCH = 200
#: Standup openings built ahead per transaction (see ``Scheduler._build_ahead``).
BUILD_BATCH = 100
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
#: Builds the messages of many runs of one kind in one unit of work, by run key.
RunsHandler = Callable[
    [UnitOfWork, Sequence[Run], datetime], Awaitable[Mapping[str, Outgoing | None]]
]
#: What sending many runs of one kind changed: (run, message ref, when it was sent) each.
RunsDone = Callable[[UnitOfWork, Sequence[tuple[Run, str | None, datetime]]], Awaitable[None]]
#: On a retry of a run whose message is kept: is it still worth sending now?
RunCheck = Callable[[UnitOfWork, Run, datetime], Awaitable[bool]]


@dataclass(frozen=True)
class _Prebuilt:
    """A run's message built ahead with others (None: nothing to send), kept with the run."""

    outgoing: Outgoing | None


@dataclass(frozen=True)
class _Entry:
    """A line for the delivery journal (``Scheduler._write_journal``): a send about to start
    (``started`` answers whether the run is still this worker's), or how a run ended."""

    run: Run
    started: asyncio.Future[bool] | None = None
    status: RunStatus = RunStatus.DONE
    ref: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RunSteps:
    """What one kind of run does."""

    #: builds its message (first attempt only; retries send the kept message)
    build: RunHandler
    #: what sending it changes, written when it is marked done (None: nothing)
    done: RunDone | None = None
    #: a retry sends the kept message only if this still says yes (None: always)
    still_due: RunCheck | None = None
    #: builds many runs' messages at once (``Scheduler._build_ahead``; None: one by one)
    build_many: RunsHandler | None = None
    #: ``done`` for many runs at once (None: ``done`` for each)
    done_many: RunsDone | None = None


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
        #: messages built ahead for the runs of the batch being delivered, by key
        self._prebuilt: dict[str, _Prebuilt] = {}
        #: sends about to start and runs ended, not written yet (``_write_journal``)
        self._journal: list[_Entry] = []
        #: set while the journal is being written; done when that write has ended
        self._journal_writing: asyncio.Future[None] | None = None
        #: what each kind of run sends
        self.handlers: dict[RunKind, RunSteps] = {
            RunKind.NUDGE: RunSteps(self._nudge, self._nudge_done, self._nudge_still_due),
            RunKind.DIGEST: RunSteps(self._digest, self._digest_done),
            RunKind.STANDUP_OPEN: RunSteps(
                self._standup_open,
                self._standup_open_done,
                build_many=self._standup_open_many,
                done_many=self._standup_open_done_many,
            ),
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
        """Claim a batch of due schedules: their runs go in with one multi-row INSERT, their
        next runs with one statement executed for all of them."""
        async with self.uow_factory() as uow:
            claimed = await uow.schedules.claim_due(now, CLAIM_BATCH)
            report.busy |= len(claimed) >= CLAIM_BATCH
            new: list[Run] = []
            moves: list[tuple[int, datetime | None, list[str]]] = []
            # Many schedules share a rule ("weekdays at 09:30 in Europe/Berlin"): each next
            # run is worked out once per claim.
            next_run = functools.lru_cache(maxsize=1024)(self.timetable.next_run)
            for schedule in claimed:
                report.claimed += 1
                runs, upcoming = self._occurrences(schedule, now, next_run)
                new += runs
                today = local_date(now, schedule.timezone)
                skip = [d for d in schedule.skip_dates if d >= today]
                moves.append((schedule.stored_id, upcoming, skip))
            added = await uow.schedules.add_runs(new)
            for run in new:
                if run.key in added and run.status is RunStatus.MISSED:
                    log.warning(
                        "standup %s of %s was missed (raidline was down)",
                        run.payload["local_date"],
                        run.channel,
                    )
            await uow.schedules.reschedule_many(moves, now)
            report.runs_created += len(added)
            await uow.commit()

    def _occurrences(
        self, s: Schedule, now: datetime, next_run: Callable[[Recurrence, datetime], datetime]
    ) -> tuple[list[Run], datetime]:
        """Runs for every occurrence up to ``now`` (missed ones recorded), and the next run."""
        assert s.next_run_at is not None and s.at is not None  # noqa: S101 - claim_due's contract
        rule = rule_of(s)
        # A "dm local" standup is claimed ``lead`` ahead of its time (standups.lead).
        lead = standups.lead(s)
        occurrences = [s.next_run_at + lead]
        while len(occurrences) < 400:
            following = next_run(rule, occurrences[-1])
            if following - lead > now:
                break
            occurrences.append(following)
        upcoming = next_run(rule, max(now + lead, occurrences[-1])) - lead
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
        return new, upcoming

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
        try:
            await self._build_ahead(runs, now, report)
            channels = list(dict.fromkeys(run.channel for run in self._unsent))
            workers = [
                self._deliver_channels(channels, report)
                for _ in range(min(self.delivery_concurrency, len(channels)))
            ]
            await asyncio.gather(*workers)
        finally:
            await self._write_journal()
        if self._unsent:  # stopping: what no worker started goes back
            report.released += len(await self.release_unsent())
        self._prebuilt.clear()

    # --- 3a. building many runs in one transaction -------------------------------------------

    def _builds_ahead(self, run: Run) -> bool:
        """Whether a run's message is built with others, ahead of sending: a standup's opening
        (a fan-out: thousands may fall due in one minute) on its first attempt, sent from this
        process. Not a "dm local" one: opening it asks the platform for members' time zones."""
        return (
            run.kind is RunKind.STANDUP_OPEN
            and run.built_at is None
            and run.send_started_at is None
            and "at" not in run.payload
            and (self.platforms is None or run.channel.platform in self.platforms)
        )

    async def _build_ahead(self, runs: Sequence[Run], now: datetime, report: TickReport) -> None:
        """Build the messages of the runs that allow it (:meth:`_builds_ahead`), up to
        ``BUILD_BATCH`` in one transaction, with the same statements and the same lease checks
        as building one (:meth:`_build`). A run whose build fails there is built on its own
        when its turn comes, and so is every run when the database is not reachable."""
        batch = [run for run in runs if self._builds_ahead(run)]
        for start in range(0, len(batch), BUILD_BATCH):
            chunk = batch[start : start + BUILD_BATCH]
            for _ in range(3):
                try:
                    failing = await self._build_chunk(chunk, now, report)
                except Unavailable:
                    report.database_errors += 1
                    log.warning("database unavailable while building %s runs", len(chunk))
                    return
                if not failing:
                    break
                chunk = [run for run in chunk if run not in failing]

    async def _build_chunk(
        self, chunk: Sequence[Run], now: datetime, report: TickReport
    ) -> list[Run]:
        """Build ``chunk`` in one transaction; the runs whose build raised (nothing is then
        written), or none."""
        built: dict[str, Outgoing | None] = {}
        off: dict[str, str] = {}
        async with self.uow_factory() as uow:
            # The leases first: this transaction holds the runs it renews until it commits.
            held = await uow.schedules.renew_leases(
                [(run.stored_id, run.attempts) for run in chunk], now + self.lease
            )
            mine = [run for run in chunk if run.stored_id in held]
            settings = await uow.channels.settings_of(
                run.channel for run in mine if days_off.checked_at_fire_time(run)
            )
            await uow.schedules.preload(
                int(run.payload["schedule_id"]) for run in mine if "schedule_id" in run.payload
            )
            by_kind: dict[RunKind, list[Run]] = {}
            for run in mine:
                if run.channel in settings and days_off.checked_at_fire_time(run):
                    reason = self._run_day_off(settings[run.channel], run)
                    if reason is not None:
                        await uow.schedules.finish_run(
                            run.stored_id, RunStatus.SKIPPED, reason=reason
                        )
                        off[run.key] = reason
                        continue
                by_kind.setdefault(run.kind, []).append(run)
            for kind, group in by_kind.items():
                steps = self.handlers[kind]
                try:
                    if steps.build_many is not None:
                        built.update(await steps.build_many(uow, group, now))
                    else:
                        for run in group:
                            built[run.key] = await steps.build(uow, run, now)
                except Unavailable:
                    raise
                except Exception:
                    log.debug("%s runs are built one by one: building them together failed", kind)
                    return group
            built = {
                key: outgoing and dataclasses.replace(outgoing, key=key)
                for key, outgoing in built.items()
            }
            await uow.schedules.save_messages(
                [(run.stored_id, out) for run in mine if (out := built.get(run.key)) is not None],
                now,
            )
            await uow.commit()
        for run in chunk:
            if run.stored_id not in held:
                log.warning("%s: lease lost to another worker; left to that one", run.key)
                self._unsent.remove(run)
            elif run.key in off:
                report.skipped += 1
                log.info("%s skipped: %s", run.key, off[run.key])
                self._unsent.remove(run)
            else:
                self._prebuilt[run.key] = _Prebuilt(built[run.key])
        return []

    # --- 3b. the delivery journal: starts and ends of sends, written together ----------------

    async def _start_send(self, run: Run) -> bool:
        """Record that the run's send starts now, renewing its lease, as :meth:`_build` does
        for a run built on its own; False: the run is another worker's now. Written with the
        other workers' starts and ends waiting at the same moment, in one transaction."""
        started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._journal.append(_Entry(run, started))
        await self._write_journal(until=started)
        return await started

    def _end_later(self, run: Run, status: RunStatus, ref: str | None = None) -> None:
        """Record how a run ended with the next start of a send (so before the next message
        of its channel goes out), or at the end of the batch."""
        self._journal.append(_Entry(run, status=status, ref=ref, at=self.clock.now()))

    async def _write_journal(self, until: asyncio.Future[bool] | None = None) -> None:
        """Write the journal: every start and end waiting goes into one transaction, and
        what waits while it is written goes into the next (group commit: the delivery workers
        share the transactions instead of taking turns). Returns once ``until`` is settled,
        or (None) once nothing is waiting."""
        while until is None or not until.done():
            if self._journal_writing is not None:
                await self._journal_writing
                continue
            if not self._journal:
                return
            writing = self._journal_writing = asyncio.get_running_loop().create_future()
            entries: list[_Entry] = []
            try:
                await asyncio.sleep(0)  # the workers woken by the last write add theirs
                entries, self._journal = self._journal, []
                await self._write_entries(entries)
            finally:
                self._journal_writing = None
                writing.set_result(None)
                for entry in entries:  # the write was interrupted: the runs' leases run out
                    if entry.started is not None and not entry.started.done():
                        entry.started.set_exception(Unavailable("the delivery was interrupted"))

    async def _write_entries(self, entries: Sequence[_Entry]) -> None:
        """One transaction: the ends, with what sending each run changed (as :meth:`_finish`
        does for one), then the starts, whose leases are renewed if still held."""
        ends = [entry for entry in entries if entry.started is None]
        starts = [entry for entry in entries if entry.started is not None]
        try:
            async with self.uow_factory() as uow:
                if ends:
                    await uow.schedules.finish_runs(
                        [(end.run.stored_id, end.status, end.ref) for end in ends]
                    )
                sent: dict[RunKind, list[tuple[Run, str | None, datetime]]] = {}
                for end in ends:
                    if end.status is RunStatus.DONE:
                        sent.setdefault(end.run.kind, []).append(
                            (end.run, end.ref, end.at or self.clock.now())
                        )
                for kind, group in sent.items():
                    steps = self.handlers[kind]
                    if steps.done_many is not None:
                        await steps.done_many(uow, group)
                    elif steps.done is not None:
                        for run, ref, at in group:
                            await steps.done(uow, run, ref, at)
                held: set[int] = set()
                if starts:
                    now = self.clock.now()
                    held = await uow.schedules.renew_leases(
                        [(start.run.stored_id, start.run.attempts) for start in starts],
                        now + self.lease,
                        send_started_at=now,
                    )
                await uow.commit()
        except Exception as error:
            if ends:
                log.warning(
                    "could not record the end of %s runs; their leases will expire",
                    len(ends),
                    extra={"runs": [end.run.key for end in ends]},
                )
            for start in starts:
                if start.started is not None:
                    start.started.set_exception(error)
            if not starts and not isinstance(error, Unavailable):
                raise
            return
        for start in starts:
            if start.started is not None:
                start.started.set_result(start.run.stored_id in held)

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
        ahead = self._prebuilt.pop(run.key, None)
        try:
            if ahead is not None:
                outgoing = ahead.outgoing
                if outgoing is not None and not await self._start_send(run):
                    raise LeaseLost(run.key)
            else:
                # What the runs sent before this one changed, recorded before it is built.
                await self._write_journal()
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
            self._end_later(run, RunStatus.SKIPPED)
        else:
            report.delivered += 1
            report.sent.append(run.key)
            report.deliveries.append((run.kind.value, (now - run.due_at).total_seconds()))
            built = dataclasses.replace(run, built_at=run.built_at or now)
            self._end_later(built, RunStatus.DONE, ref)

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
        return self._run_day_off(await uow.channels.get_settings(run.channel), run)

    def _run_day_off(self, settings: ChannelSettings, run: Run) -> str | None:
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
        return self._opening(run, await standups.open_run(uow, run, now, self._member_zones), now)

    async def _standup_open_many(
        self, uow: UnitOfWork, runs: Sequence[Run], now: datetime
    ) -> dict[str, Outgoing | None]:
        opened = await standups.open_runs(uow, runs, now, self._member_zones)
        return {run.key: self._opening(run, opened[run.key], now) for run in runs}

    async def _standup_open_done_many(
        self, uow: UnitOfWork, sent: Sequence[tuple[Run, str | None, datetime]]
    ) -> None:
        await standups.delivered_many(uow, [(run, ref) for run, ref, _ in sent])

    def _opening(self, run: Run, opened: standups.Opened | None, now: datetime) -> Outgoing | None:
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
