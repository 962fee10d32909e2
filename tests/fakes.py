"""Fakes at the core's ports: an in-memory unit of work and a clock that stands still."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType

from bot.domain.model import (
    CalendarToken,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    ItemFilter,
    ItemOrder,
    Kind,
    Lesson,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
    Standup,
    StandupAnswer,
    Status,
)
from bot.errors import ChangedMeanwhile
from bot.messages import Outgoing


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, **kwargs: float) -> None:
        self._now += timedelta(**kwargs)


@dataclasses.dataclass
class _State:
    items: dict[int, Item] = dataclasses.field(default_factory=dict)
    events: dict[int, list[Event]] = dataclasses.field(default_factory=dict)
    counters: dict[tuple[ChannelKey, Kind], int] = dataclasses.field(default_factory=dict)
    settings: dict[ChannelKey, ChannelSettings] = dataclasses.field(default_factory=dict)
    schedules: dict[int, Schedule] = dataclasses.field(default_factory=dict)
    runs: dict[int, Run] = dataclasses.field(default_factory=dict)
    standups: dict[int, Standup] = dataclasses.field(default_factory=dict)
    answers: dict[tuple[int, str], StandupAnswer] = dataclasses.field(default_factory=dict)
    #: the message each run's first attempt built (by run id)
    messages: dict[int, Outgoing] = dataclasses.field(default_factory=dict)
    calendar_tokens: dict[int, CalendarToken] = dataclasses.field(default_factory=dict)
    lessons: dict[int, Lesson] = dataclasses.field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class _Items:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        n = self.s.counters.get((channel, kind), 0) + 1
        self.s.counters[(channel, kind)] = n
        return n

    async def add(self, item: Item) -> Item:
        item = dataclasses.replace(item, id=self.s.next_id)
        self.s.next_id += 1
        self.s.items[item.id] = item  # type: ignore[index]
        return item

    async def create(self, item: Item, event: Event) -> Item:
        number = await self.allocate_number(item.channel, item.kind)
        item = await self.add(dataclasses.replace(item, number=number))
        await self.add_event(item.stored_id, event)
        return item

    async def get(
        self, channel: ChannelKey, kind: Kind, number: int, *, lock: bool = False
    ) -> Item | None:
        # Units of work run one at a time (FakeStore), as on SQLite: every read is locked.
        for item in self.s.items.values():
            if (item.channel, item.kind, item.number) == (channel, kind, number):
                return item
        return None

    async def update(self, item: Item) -> None:
        assert item.id in self.s.items
        # Like storage: the date-move count is kept with the history, not by the caller.
        stored = self.s.items[item.id]
        self.s.items[item.id] = dataclasses.replace(item, date_moves=stored.date_moves)

    async def save_change(self, old: Item, new: Item) -> None:
        if old.id is None or new.id != old.id or new.ref != old.ref:
            raise ValueError(f"{new.ref} (id {new.id}) is not a change of {old.ref} ({old.id})")
        stored = self.s.items.get(old.id)
        if stored is None:
            raise LookupError(f"no stored item {old.ref} with id {old.id}")
        if dataclasses.replace(stored, date_moves=old.date_moves) != old:
            raise ChangedMeanwhile(old.ref)
        self.s.items[old.id] = dataclasses.replace(new, date_moves=stored.date_moves)

    async def record_nudge(self, item_id: int, at: datetime, *, counted: bool = True) -> None:
        item = self.s.items[item_id]
        self.s.items[item_id] = dataclasses.replace(
            item, nudge_count=item.nudge_count + (1 if counted else 0), last_nudged_at=at
        )

    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> list[Item]:
        kinds_set = set(kinds) if kinds is not None else None
        statuses_set = set(statuses) if statuses is not None else None
        found = [
            i
            for i in self.s.items.values()
            if i.channel == channel
            and (kinds_set is None or i.kind in kinds_set)
            and (statuses_set is None or i.status in statuses_set)
        ]
        return sorted(found, key=lambda i: (i.created_at, i.number))

    async def active_in_workspace(self, platform: str, workspace: str) -> list[Item]:
        found = [
            i
            for i in self.s.items.values()
            if (i.channel.platform, i.channel.workspace) == (platform, workspace) and i.active
        ]
        return sorted(found, key=lambda i: (i.created_at, i.number))

    async def find(
        self,
        channel: ChannelKey,
        where: ItemFilter,
        *,
        order: ItemOrder = ItemOrder.CREATED,
        limit: int | None = None,
    ) -> list[Item]:
        found = await self.list(channel)
        found = [i for i in found if where.matches(i)]
        if order is ItemOrder.SCORE:
            found.sort(key=lambda i: (i.score is None, -(i.score or 0)))  # stable: oldest next
        elif order is ItemOrder.RECENT:
            found.reverse()
        return found if limit is None else found[:limit]

    async def search(
        self, channel: ChannelKey, words: Sequence[str], *, limit: int | None = None
    ) -> list[Item]:
        def holds(item: Item, word: str) -> bool:
            notes = [e.note or "" for e in self.s.events.get(item.stored_id, [])]
            texts = [item.title, item.details or "", *notes]
            return any(word.casefold() in t.casefold() for t in texts)

        found = [i for i in await self.list(channel) if all(holds(i, w) for w in words)]
        found.sort(key=lambda i: (i.created_at, i.number), reverse=True)
        found.sort(key=lambda i: not i.active)  # stable: active first, newest first in each
        return found if limit is None else found[:limit]

    async def counts(self, channel: ChannelKey, wheres: Sequence[ItemFilter]) -> list[int]:
        return [len(await self.find(channel, where)) for where in wheres]

    async def owner_counts(
        self, channel: ChannelKey, where: ItemFilter, *, at_least: int = 1
    ) -> list[tuple[str, int]]:
        owned = Counter(i.owner for i in await self.find(channel, where) if i.owner)
        return sorted(
            ((p, n) for p, n in owned.items() if n >= at_least),
            key=lambda pair: (-pair[1], pair[0]),
        )

    async def nudge_candidates(
        self,
        now: datetime,
        *,
        unowned_before: datetime,
        waiting_before: datetime,
        nudged_before: datetime,
    ) -> list[Item]:
        def past_due(i: Item) -> bool:
            return i.due_at is not None and i.due_at < now

        def may_deserve(i: Item) -> bool:
            if i.kind is Kind.BLOCKER:
                return past_due(i) if i.owner else i.created_at <= unowned_before
            if i.kind is Kind.DECISION:
                return i.status is Status.PENDING and past_due(i)
            if i.kind is Kind.CHANGE:
                return i.status is Status.PROPOSED and i.created_at <= waiting_before
            return past_due(i)

        found = [
            i
            for i in self.s.items.values()
            if i.active
            and self.s.settings.get(i.channel, ChannelSettings(i.channel)).nudges_enabled
            and (i.snoozed_until is None or i.snoozed_until <= now)
            and (i.last_nudged_at is None or i.last_nudged_at < nudged_before)
            and may_deserve(i)
        ]
        return sorted(found, key=lambda i: (str(i.channel), i.created_at, i.number))

    async def events_since(self, channel: ChannelKey, since: datetime) -> list[tuple[Item, Event]]:
        found = [
            (item, event)
            for item_id, events in self.s.events.items()
            for event in events
            if (item := self.s.items[item_id]).channel == channel and event.at > since
        ]
        return sorted(found, key=lambda pair: pair[1].at)

    async def add_event(self, item_id: int, event: Event) -> None:
        self.s.events.setdefault(item_id, []).append(event)
        if event.moves_date:
            item = self.s.items[item_id]
            self.s.items[item_id] = dataclasses.replace(item, date_moves=item.date_moves + 1)

    async def by_ids(self, channel: ChannelKey, ids: Sequence[int]) -> list[Item]:
        wanted = set(ids)
        return [i for i in await self.list(channel) if i.id in wanted]

    async def field_changes_since(
        self, channel: ChannelKey, since: datetime, fields: Sequence[str]
    ) -> list[tuple[int, Event]]:
        return [
            (item.stored_id, event)
            for item, event in await self.events_since(channel, since)
            if any(c.field in fields for c in event.changes)
        ]

    async def events(self, item_ids: Sequence[int]) -> dict[int, list[Event]]:
        return {i: list(self.s.events.get(i, [])) for i in item_ids}


class _Channels:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        return self.s.settings.get(channel, ChannelSettings(channel))

    async def save_settings(self, settings: ChannelSettings) -> None:
        self.s.settings[settings.channel] = settings

    async def settings_of(self, keys: Iterable[ChannelKey]) -> dict[ChannelKey, ChannelSettings]:
        return {key: await self.get_settings(key) for key in keys}

    async def channels(self) -> list[ChannelKey]:
        keys = set(self.s.settings) | {i.channel for i in self.s.items.values()}
        return sorted(keys)

    async def with_stakeholders(
        self, platform: str | None = None, workspace: str | None = None
    ) -> list[ChannelSettings]:
        return sorted(
            (
                s
                for s in self.s.settings.values()
                if s.stakeholders
                and platform in (None, s.channel.platform)
                and workspace in (None, s.channel.workspace)
            ),
            key=lambda s: s.channel,
        )


class _Schedules:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def get(
        self, channel: ChannelKey, kind: ScheduleKind, name: str | None = None
    ) -> Schedule | None:
        for schedule in self.s.schedules.values():
            if (schedule.channel, schedule.kind, schedule.name) == (channel, kind, name):
                return schedule
        return None

    async def get_by_id(self, schedule_id: int) -> Schedule | None:
        return self.s.schedules.get(schedule_id)

    async def preload(self, schedule_ids: Iterable[int]) -> None:
        pass  # get_by_id reads memory anyway

    async def of_channel(self, channel: ChannelKey) -> list[Schedule]:
        mine = [s for s in self.s.schedules.values() if s.channel == channel]
        return sorted(mine, key=lambda s: (s.kind.value, s.name or ""))

    async def remove(self, schedule_id: int) -> None:
        self.s.schedules.pop(schedule_id, None)
        gone = {k for k, s in self.s.standups.items() if s.schedule_id == schedule_id}
        self.s.standups = {k: s for k, s in self.s.standups.items() if k not in gone}
        self.s.answers = {k: a for k, a in self.s.answers.items() if k[0] not in gone}

    async def save(self, schedule: Schedule) -> Schedule:
        existing = await self.get(schedule.channel, schedule.kind, schedule.name)
        schedule_id = existing.id if existing else self.s.new_id()
        schedule = dataclasses.replace(schedule, id=schedule_id)
        self.s.schedules[schedule_id] = schedule  # type: ignore[index]
        return schedule

    async def claim_due(self, now: datetime, limit: int = 100) -> list[Schedule]:
        due = [
            s
            for s in self.s.schedules.values()
            if s.enabled and s.next_run_at is not None and s.next_run_at <= now
        ]
        return sorted(due, key=lambda s: s.next_run_at or now)[:limit]

    async def add_run(self, run: Run) -> int | None:
        if any(r.key == run.key for r in self.s.runs.values()):
            return None
        run_id = self.s.new_id()
        self.s.runs[run_id] = dataclasses.replace(run, id=run_id)
        return run_id

    async def add_runs(self, runs: Sequence[Run]) -> set[str]:
        return {run.key for run in runs if await self.add_run(run) is not None}

    async def reschedule(
        self,
        schedule_id: int,
        next_run_at: datetime | None,
        skip_dates: Sequence[str],
        now: datetime,
    ) -> None:
        for key, schedule in self.s.schedules.items():
            if schedule.id == schedule_id:
                self.s.schedules[key] = dataclasses.replace(
                    schedule, next_run_at=next_run_at, skip_dates=tuple(skip_dates), updated_at=now
                )

    async def reschedule_many(
        self,
        changes: Sequence[tuple[int, datetime | None, Sequence[str]]],
        now: datetime,
    ) -> None:
        for schedule_id, next_run_at, skip_dates in changes:
            await self.reschedule(schedule_id, next_run_at, skip_dates, now)

    async def claim_runs(self, now: datetime, lease_until: datetime, limit: int = 50) -> list[Run]:
        claimed = []
        for run in sorted(self.s.runs.values(), key=lambda r: r.due_at):
            pending = run.status is RunStatus.PENDING and run.due_at <= now
            expired = (
                run.status is RunStatus.SENDING
                and run.lease_until is not None
                and run.lease_until <= now
            )
            if (pending or expired) and len(claimed) < limit:
                run = dataclasses.replace(
                    run,
                    status=RunStatus.SENDING,
                    lease_until=lease_until,
                    attempts=run.attempts + 1,
                )
                self.s.runs[run.stored_id] = run
                claimed.append(run)
        return claimed

    async def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        result_ref: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        run = self.s.runs[run_id]
        self.s.runs[run_id] = dataclasses.replace(
            run, status=status, result_ref=result_ref, lease_until=None, reason=reason
        )

    async def retry_run(self, run_id: int, due_at: datetime) -> None:
        run = self.s.runs[run_id]
        self.s.runs[run_id] = dataclasses.replace(
            run, status=RunStatus.PENDING, due_at=due_at, lease_until=None
        )

    async def renew_lease(
        self,
        run_id: int,
        attempt: int,
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> bool:
        run = self.s.runs[run_id]
        if run.status is not RunStatus.SENDING or run.attempts != attempt:
            return False
        self.s.runs[run_id] = dataclasses.replace(
            run, lease_until=lease_until, send_started_at=send_started_at or run.send_started_at
        )
        return True

    async def renew_leases(
        self,
        held: Sequence[tuple[int, int]],
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> set[int]:
        return {
            run_id
            for run_id, attempt in held
            if await self.renew_lease(run_id, attempt, lease_until, send_started_at=send_started_at)
        }

    async def save_messages(
        self, messages: Sequence[tuple[int, Outgoing]], built_at: datetime
    ) -> None:
        for run_id, message in messages:
            await self.save_message(run_id, message, built_at)

    async def finish_runs(self, results: Sequence[tuple[int, RunStatus, str | None]]) -> None:
        for run_id, status, ref in results:
            await self.finish_run(run_id, status, ref or self.s.runs[run_id].result_ref)

    async def save_message(self, run_id: int, message: Outgoing, built_at: datetime) -> None:
        self.s.messages[run_id] = message
        self.s.runs[run_id] = dataclasses.replace(self.s.runs[run_id], built_at=built_at)

    async def stored_message(self, run_id: int) -> Outgoing | None:
        return self.s.messages.get(run_id)

    async def release_runs(self, run_ids: Sequence[int]) -> int:
        released = 0
        for run_id in run_ids:
            run = self.s.runs.get(run_id)
            if run is not None and run.status is RunStatus.SENDING:
                self.s.runs[run_id] = dataclasses.replace(
                    run,
                    status=RunStatus.PENDING,
                    lease_until=None,
                    attempts=max(0, run.attempts - 1),
                )
                released += 1
        return released

    async def outbox_depth(self) -> int:
        waiting = (RunStatus.PENDING, RunStatus.SENDING)
        return sum(1 for r in self.s.runs.values() if r.status in waiting)

    async def run_by_key(self, key: str) -> Run | None:
        return next((r for r in self.s.runs.values() if r.key == key), None)

    async def runs(self, channel: ChannelKey, kind: RunKind, limit: int = 10) -> list[Run]:
        found = [r for r in self.s.runs.values() if r.channel == channel and r.kind is kind]
        return sorted(found, key=lambda r: (r.due_at, r.stored_id), reverse=True)[:limit]

    async def open_standup(self, standup: Standup) -> tuple[Standup, bool]:
        for existing in self.s.standups.values():
            if (existing.schedule_id, existing.local_date) == (
                standup.schedule_id,
                standup.local_date,
            ):
                return existing, False
        standup = dataclasses.replace(standup, id=self.s.new_id())
        self.s.standups[standup.stored_id] = standup
        return standup, True

    async def open_standups(self, drafts: Sequence[Standup]) -> list[tuple[Standup, bool]]:
        return [await self.open_standup(draft) for draft in drafts]

    async def get_standup(self, standup_id: int) -> Standup | None:
        return self.s.standups.get(standup_id)

    async def latest_standup(
        self, channel: ChannelKey, schedule_id: int | None = None
    ) -> Standup | None:
        mine = [
            s
            for s in self.s.standups.values()
            if s.channel == channel and schedule_id in (None, s.schedule_id)
        ]
        return max(mine, key=lambda s: (s.opened_at, s.stored_id), default=None)

    async def standups_since(self, channel: ChannelKey, since: datetime) -> list[Standup]:
        mine = [s for s in self.s.standups.values() if s.channel == channel and s.opened_at > since]
        return sorted(mine, key=lambda s: (s.opened_at, s.stored_id))

    async def update_standup(self, standup: Standup) -> None:
        self.s.standups[standup.stored_id] = standup

    async def set_standup_message(self, schedule_id: int, local_date: str, ref: str) -> None:
        for standup in self.s.standups.values():
            key = (standup.schedule_id, standup.local_date)
            if key == (schedule_id, local_date) and standup.message_ref is None:
                self.s.standups[standup.stored_id] = dataclasses.replace(standup, message_ref=ref)

    async def set_standup_messages(self, posted: Sequence[tuple[int, str, str]]) -> None:
        for schedule_id, local_date, ref in posted:
            await self.set_standup_message(schedule_id, local_date, ref)

    async def save_answer(self, answer: StandupAnswer) -> None:
        key = (answer.standup_id, answer.person)
        if key in self.s.answers:
            # keep the first answer's place in the order
            order = list(self.s.answers)
            self.s.answers[key] = answer
            self.s.answers = {k: self.s.answers[k] for k in order}
        else:
            self.s.answers[key] = answer

    async def answers(self, standup_id: int) -> list[StandupAnswer]:
        return [a for (sid, _), a in self.s.answers.items() if sid == standup_id]


class _Calendars:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def add(self, token: CalendarToken) -> CalendarToken:
        if any(t.token_hash == token.token_hash for t in self.s.calendar_tokens.values()):
            raise AssertionError("a token hash is unique")
        stored = dataclasses.replace(token, id=self.s.new_id())
        self.s.calendar_tokens[stored.id or 0] = stored
        return stored

    async def find(self, token_hash: str) -> CalendarToken | None:
        return next(
            (
                t
                for t in self.s.calendar_tokens.values()
                if t.token_hash == token_hash and t.revoked_at is None
            ),
            None,
        )

    def _held(self, channel: ChannelKey, user: str) -> list[CalendarToken]:
        return [
            t
            for t in self.s.calendar_tokens.values()
            if t.channel == channel and t.user == user and t.revoked_at is None
        ]

    async def active_count(self, channel: ChannelKey, user: str) -> int:
        return len(self._held(channel, user))

    async def revoke(self, channel: ChannelKey, user: str, at: datetime) -> int:
        held = self._held(channel, user)
        for token in held:
            self.s.calendar_tokens[token.id or 0] = dataclasses.replace(token, revoked_at=at)
        return len(held)


class _Lessons:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def add(self, lesson: Lesson) -> Lesson:
        stored = dataclasses.replace(lesson, id=self.s.new_id())
        self.s.lessons[stored.id or 0] = stored
        return stored

    async def of_channel(self, channel: ChannelKey) -> list[Lesson]:
        return [lesson for lesson in self.s.lessons.values() if lesson.channel == channel]


class FakeUnitOfWork:
    """Works on a copy of the shared state; ``commit`` publishes it, anything else drops it.

    One unit of work at a time per store (like SQLite's exclusive transactions), so two
    requests at once run one after the other instead of overwriting each other's copy. One
    opened inside another in the same task does not wait (it would wait for itself).
    """

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.committed = False
        self._holding = False

    async def __aenter__(self) -> FakeUnitOfWork:
        if not self.store.holder.get():
            await self.store.lock().acquire()
            self.store.holder.set(True)
            self._holding = True
        self.state = copy.deepcopy(self.store.state)
        self.items = _Items(self.state)
        self.channels = _Channels(self.state)
        self.schedules = _Schedules(self.state)
        self.calendars = _Calendars(self.state)
        self.lessons = _Lessons(self.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._holding:
            self._holding = False
            self.store.holder.set(False)
            self.store.lock().release()

    async def commit(self) -> None:
        self.store.state = self.state
        self.store.commits += 1

    async def rollback(self) -> None:
        """Drop what this unit of work changed, as a database's rollback does."""
        self.state = copy.deepcopy(self.store.state)
        self.items = _Items(self.state)
        self.channels = _Channels(self.state)
        self.schedules = _Schedules(self.state)


class FakeStore:
    def __init__(self) -> None:
        self.state = _State()
        self.commits = 0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.holder: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"fake_store_{id(self)}", default=False
        )

    def lock(self) -> asyncio.Lock:
        """The lock units of work take in turn (one per event loop: tests run many)."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)
