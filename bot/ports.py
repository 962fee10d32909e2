"""The ports the core needs from the outside world. ``storage/`` implements the repositories.

A unit of work is an async context manager: leaving it without ``commit()`` rolls back.
Implementations raise :class:`bot.errors.Unavailable` when the database cannot be reached.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Literal, Protocol

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
from bot.domain.schedules import Recurrence
from bot.domain.trends import HeatMap, Trends
from bot.messages import Outgoing


class ItemRepository(Protocol):
    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        """The next ref number for this channel and kind: 1, 2, 3... never reused.

        Race-free: a per-channel, per-kind counter row updated in the caller's transaction.
        """
        ...

    async def add(self, item: Item) -> Item:
        """Store a new item; returns it with its ``id`` set."""
        ...

    async def create(self, item: Item, event: Event) -> Item:
        """Store a new item under the next number of its kind in its channel, with ``event``
        as the first of its history: ``allocate_number``, ``add`` and ``add_event`` in one
        (``item.number`` is not read). Returns it with its ``number`` and ``id`` set."""
        ...

    async def get(
        self, channel: ChannelKey, kind: Kind, number: int, *, lock: bool = False
    ) -> Item | None:
        """The item, or None. With ``lock`` (to change it): the item is held until the
        transaction ends, so a concurrent change to it waits and then reads this one's
        result; changes to one item happen one after the other (PostgreSQL: a row lock,
        ``FOR NO KEY UPDATE``; SQLite's transactions are exclusive already). Raises
        :class:`bot.errors.ChangedMeanwhile` when the database gives up waiting (deadlock)."""
        ...

    async def update(self, item: Item) -> None:
        """Store every field of an existing item (matched by ``id``): a whole-row write, for
        putting data in place. A change to an item goes through :meth:`save_change`."""
        ...

    async def save_change(self, old: Item, new: Item) -> None:
        """Write the fields in which ``new`` differs from ``old`` (nothing else of the row).

        ``old`` is the item as this transaction read it, best ``get(..., lock=True)``. If the
        stored item is no longer ``old`` (a change was decided on a copy another request has
        changed since), nothing is written and :class:`bot.errors.ChangedMeanwhile` is raised.
        The ref (kind, number) never changes; ``date_moves`` is kept by ``add_event``.
        """
        ...

    async def record_nudge(self, item_id: int, at: datetime, *, counted: bool = True) -> None:
        """A nudge about the item was sent ``at``; ``counted`` adds one to ``nudge_count``.
        Only ``nudge_count`` and ``last_nudged_at`` are written, whatever else changed."""
        ...

    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> builtins.list[Item]:
        """Items of one channel, oldest first (created_at, then number)."""
        ...

    async def find(
        self,
        channel: ChannelKey,
        where: ItemFilter,
        *,
        order: ItemOrder = ItemOrder.CREATED,
        limit: int | None = None,
    ) -> builtins.list[Item]:
        """At most ``limit`` of one channel's items that match ``where``, in ``order``."""
        ...

    async def counts(self, channel: ChannelKey, wheres: Sequence[ItemFilter]) -> builtins.list[int]:
        """How many of one channel's items match each of ``wheres``, in one query."""
        ...

    async def search(
        self, channel: ChannelKey, words: Sequence[str], *, limit: int | None = None
    ) -> builtins.list[Item]:
        """At most ``limit`` of one channel's items (closed ones too) in which every one of
        ``words`` appears, ignoring case, as plain text (``%`` and ``_`` are not wildcards)
        in the title, the details or a note of the history. Active items first, then the
        newest first."""
        ...

    async def owner_counts(
        self, channel: ChannelKey, where: ItemFilter, *, at_least: int = 1
    ) -> builtins.list[tuple[str, int]]:
        """(owner, items) for owners of at least ``at_least`` matching items, most first."""
        ...

    async def add_event(self, item_id: int, event: Event) -> None:
        """Append to the item's history; an event that ``moves_date`` counts in its
        ``date_moves``."""
        ...

    async def nudge_candidates(
        self,
        now: datetime,
        *,
        unowned_before: datetime,
        waiting_before: datetime,
        nudged_before: datetime,
    ) -> builtins.list[Item]:
        """Active items in channels with nudges on that may deserve a nudge now: not snoozed,
        not nudged since ``nudged_before``, and past their date (blockers with an owner,
        pending decisions, risks), unowned blockers logged before ``unowned_before``, or
        change requests proposed before ``waiting_before``. A superset: the caller decides."""
        ...

    async def events_since(
        self, channel: ChannelKey, since: datetime
    ) -> builtins.list[tuple[Item, Event]]:
        """Events of one channel's items after ``since`` (exclusive), oldest first."""
        ...

    async def active_in_workspace(self, platform: str, workspace: str) -> builtins.list[Item]:
        """Every active item (open, pending, proposed, approved) in one workspace's channels."""
        ...

    async def by_ids(self, channel: ChannelKey, ids: Sequence[int]) -> builtins.list[Item]:
        """The items of one channel among ``ids`` (ids of other channels find nothing)."""
        ...

    async def field_changes_since(
        self, channel: ChannelKey, since: datetime, fields: Sequence[str]
    ) -> builtins.list[tuple[int, Event]]:
        """(item id, event) for the events of one channel after ``since`` that changed any of
        ``fields`` (``status``, ``owner``), oldest first: the trend lines' history without
        the notes and re-datings that make up most of it."""
        ...

    async def events(self, item_ids: Sequence[int]) -> dict[int, builtins.list[Event]]:
        """Each item's events, oldest first; items without events map to an empty list."""
        ...


class ChannelRepository(Protocol):
    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        """The channel's settings; defaults when the channel has none stored yet."""
        ...

    async def save_settings(self, settings: ChannelSettings) -> None: ...

    async def settings_of(self, keys: Iterable[ChannelKey]) -> dict[ChannelKey, ChannelSettings]:
        """Each channel's settings (defaults for channels with none stored), in one query."""
        ...

    async def channels(self) -> list[ChannelKey]:
        """Every channel that has items or settings."""
        ...

    async def with_stakeholders(
        self, platform: str | None = None, workspace: str | None = None
    ) -> list[ChannelSettings]:
        """The settings of every channel with stakeholders (of one platform and workspace when
        given), by channel."""
        ...


class ScheduleRepository(Protocol):
    """Schedules, the run ledger/outbox and standups. Claims are safe across replicas."""

    async def get(
        self, channel: ChannelKey, kind: ScheduleKind, name: str | None = None
    ) -> Schedule | None:
        """The channel's schedule of that kind: the default one, or the one named ``name``."""
        ...

    async def get_by_id(self, schedule_id: int) -> Schedule | None: ...

    async def preload(self, schedule_ids: Iterable[int]) -> None:
        """Read these schedules in one go: ``get_by_id`` answers them without asking the
        database again for the rest of the unit of work (one that saves, reschedules or
        removes a schedule reads it anew)."""
        ...

    async def of_channel(self, channel: ChannelKey) -> builtins.list[Schedule]:
        """Every schedule of the channel (default and named), default ones first."""
        ...

    async def remove(self, schedule_id: int) -> None:
        """Delete a schedule with its standups and their answers."""
        ...

    async def save(self, schedule: Schedule) -> Schedule:
        """Insert or update (one schedule per channel, kind and name); returns it with its id."""
        ...

    async def claim_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        """Enabled schedules with ``next_run_at <= now``, locked for this transaction.

        Other workers skip locked rows (``FOR UPDATE SKIP LOCKED``; SQLite serialises with
        ``BEGIN IMMEDIATE``), so each due schedule is handled by exactly one worker.
        """
        ...

    async def add_run(self, run: Run) -> int | None:
        """Insert a run; None (and nothing written) when a run with its key exists."""
        ...

    async def add_runs(self, runs: Sequence[Run]) -> set[str]:
        """Insert many runs at once; the keys of those inserted (existing keys are left)."""
        ...

    async def reschedule(
        self,
        schedule_id: int,
        next_run_at: datetime | None,
        skip_dates: Sequence[str],
        now: datetime,
    ) -> None:
        """Move a claimed schedule on: its next run, and the skip dates still ahead."""
        ...

    async def reschedule_many(
        self,
        changes: Sequence[tuple[int, datetime | None, Sequence[str]]],
        now: datetime,
    ) -> None:
        """:meth:`reschedule` for many schedules at once: (schedule id, next run, skip dates)."""
        ...

    async def claim_runs(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> builtins.list[Run]:
        """Runs due for delivery: pending with ``due_at <= now``, or sending with an expired
        lease. Marks them sending with the lease and one more attempt; skips rows other
        workers hold."""
        ...

    async def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        result_ref: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        """Record how a run ended (``reason``: why, e.g. the day off it was skipped on)."""
        ...

    async def retry_run(self, run_id: int, due_at: datetime) -> None:
        """Back to pending, to be delivered again at ``due_at``."""
        ...

    async def renew_lease(
        self,
        run_id: int,
        attempt: int,
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> bool:
        """Extend the lease of a run still held by its claim number ``attempt`` (sending, with
        that many attempts), and record ``send_started_at`` if given. False, and nothing
        written, when the run is no longer that attempt's: another worker took it over."""
        ...

    async def renew_leases(
        self,
        held: Sequence[tuple[int, int]],
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> builtins.set[int]:
        """:meth:`renew_lease` for many runs at once, given as (run id, attempt); the ids of
        the runs still held (the others are left alone)."""
        ...

    async def save_messages(
        self, messages: Sequence[tuple[int, Outgoing]], built_at: datetime
    ) -> None:
        """:meth:`save_message` for many runs at once: (run id, message)."""
        ...

    async def finish_runs(self, results: Sequence[tuple[int, RunStatus, str | None]]) -> None:
        """:meth:`finish_run` for many runs at once: (run id, status, result ref or None)."""
        ...

    async def save_message(self, run_id: int, message: Outgoing, built_at: datetime) -> None:
        """Keep the message a run's first attempt built, and when: every retry sends it."""
        ...

    async def stored_message(self, run_id: int) -> Outgoing | None:
        """The message kept by :meth:`save_message`, or None."""
        ...

    async def release_runs(self, run_ids: Sequence[int]) -> int:
        """Hand claimed runs back unsent (shutting down): those still sending go back to
        pending with no lease and the claim's attempt undone. Returns how many."""
        ...

    async def outbox_depth(self) -> int:
        """Runs waiting to be sent: pending (due or not) plus sending."""
        ...

    async def run_by_key(self, key: str) -> Run | None:
        """The run with this key (with its ``result_ref``: where its message went), or None."""
        ...

    async def runs(self, channel: ChannelKey, kind: RunKind, limit: int = 10) -> builtins.list[Run]:
        """The channel's most recent runs of a kind, newest first (for status views)."""
        ...

    async def open_standup(self, standup: Standup) -> tuple[Standup, bool]:
        """Store a standup unless one exists for its schedule and local date.

        Returns the stored standup and whether this call created it."""
        ...

    async def open_standups(self, drafts: Sequence[Standup]) -> builtins.list[tuple[Standup, bool]]:
        """:meth:`open_standup` for many standups at once, answered in their order (of two
        drafts for one schedule and local date, the first creates it)."""
        ...

    async def get_standup(self, standup_id: int) -> Standup | None: ...

    async def latest_standup(
        self, channel: ChannelKey, schedule_id: int | None = None
    ) -> Standup | None:
        """The channel's most recently opened standup (of schedule ``schedule_id`` if given)."""
        ...

    async def standups_since(self, channel: ChannelKey, since: datetime) -> builtins.list[Standup]:
        """The channel's standups opened after ``since``, oldest first."""
        ...

    async def update_standup(self, standup: Standup) -> None: ...

    async def set_standup_message(self, schedule_id: int, local_date: str, ref: str) -> None:
        """Remember where the standup of ``schedule_id`` on ``local_date`` was posted (its
        reminders go to that thread); a standup that has a message keeps it."""
        ...

    async def set_standup_messages(self, posted: Sequence[tuple[int, str, str]]) -> None:
        """:meth:`set_standup_message` for many: (schedule id, local date, message ref)."""
        ...

    async def save_answer(self, answer: StandupAnswer) -> None:
        """Insert or replace one person's answer to one standup."""
        ...

    async def answers(self, standup_id: int) -> builtins.list[StandupAnswer]:
        """Answers in the order people first answered."""
        ...


class CalendarTokenRepository(Protocol):
    """The calendar feed tokens (``/raid calendar``), kept as their SHA-256 only."""

    async def add(self, token: CalendarToken) -> CalendarToken:
        """Store a new token; returns it with its ``id`` set."""
        ...

    async def find(self, token_hash: str) -> CalendarToken | None:
        """The token with this hash, if it is not revoked; None otherwise."""
        ...

    async def active_count(self, channel: ChannelKey, user: str) -> int:
        """How many tokens ``user`` holds for ``channel`` that are not revoked."""
        ...

    async def revoke(self, channel: ChannelKey, user: str, at: datetime) -> int:
        """Revoke every token ``user`` holds for ``channel`` (``revoked_at = at``); how many."""
        ...


class LessonRepository(Protocol):
    """The lessons learned of a channel (``/raid lesson``)."""

    async def add(self, lesson: Lesson) -> Lesson:
        """Store a lesson; returns it with its ``id`` set."""
        ...

    async def of_channel(self, channel: ChannelKey) -> builtins.list[Lesson]:
        """The channel's lessons, oldest first."""
        ...


class UnitOfWork(Protocol):
    items: ItemRepository
    channels: ChannelRepository
    schedules: ScheduleRepository
    calendars: CalendarTokenRepository
    lessons: LessonRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class Timetable(Protocol):
    """Calendar arithmetic and days off: when a schedule's rule runs next, which days are
    public holidays.

    ``adapters.runtime.timetable`` implements it with APScheduler's triggers and the
    ``holidays`` package; the core imports neither.
    """

    def next_run(self, rule: Recurrence, after: datetime) -> datetime:
        """The rule's first run strictly after ``after``, aware UTC. A local time that does
        not exist that day (spring forward) runs at the shifted instant; one that happens
        twice (fall back) runs once, at its first occurrence."""
        ...

    def holiday(self, region: str, day: date) -> str | None:
        """The name of the public holiday on ``day`` in ``region`` (as :meth:`check_region`
        returns it), or None."""
        ...

    def check_region(self, text: str) -> str:
        """A holiday calendar's code (``DE-BY``, ``US``, ``IN-KA``) as stored; raises
        :class:`bot.errors.UsageError` for one that does not exist."""
        ...


class PeopleDirectory(Protocol):
    """How a platform names people, for texts read outside the chat (exports).

    Slack asks users.info, Discord the user's profile; the console has none (its people are
    their names already). Anyone a directory cannot name is shown by their id.
    """

    async def names(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        """Display names of those of ``people`` (ids) the platform can name, by id."""
        ...


class ZoneDirectory(Protocol):
    """Where a platform keeps people's own time zones (Slack: users.info's ``tz``), for
    standups that ask each member at their own local time."""

    async def timezones(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        """The IANA time zones of those of ``people`` the platform knows one for, by id."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, time-zone aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Links(Protocol):
    """The addresses of raidline's web pages, as people open them (``RAIDLINE_PUBLIC_URL``)."""

    def calendar_feed(self, token: str) -> str:
        """The address of the calendar feed of ``token``."""
        ...


class Messenger(Protocol):
    """Delivers messages the bot sends on its own, through the channel's platform adapter."""

    async def send(self, message: Outgoing) -> str | None:
        """Returns the platform's message ref; raises when delivery failed (to retry later).

        A message with ``edit`` set replaces that earlier message in place instead of posting
        a new one (and returns its ref)."""
        ...


class DashboardLinks(Protocol):
    """Hands out the links that open a channel's dashboard (``adapters.web_auth``)."""

    def dashboard_link(self, channel: ChannelKey, user: str, now: datetime) -> str:
        """A signed, single-use link to ``channel``'s dashboard for ``user``, valid a few
        minutes from ``now``."""
        ...


class ChartDrawer(Protocol):
    """Draws the dashboard's charts (``adapters.charts``): the page's SVG and chat's PNG
    come from the same drawing of the same numbers."""

    def draw(self, trends: Trends, heat: HeatMap | None, fmt: Literal["svg", "png"]) -> bytes:
        """The 12-week trend (and the risk heat map when given) as an image."""
        ...
