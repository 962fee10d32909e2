"""Channel digests: what changed, what is blocked, what needs a decision, risks, warnings.

The use case reads what a digest shows; ``bot.views.digests`` words it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    ItemFilter,
    ItemOrder,
    Kind,
    RunKind,
    RunStatus,
    Status,
)
from bot.domain.plan import Health, HealthReport
from bot.domain.schedules import ZoneTimetable
from bot.ports import Timetable, UnitOfWork
from bot.services.items import read_baselines
from bot.services.plan import channel_healths

#: How far back a channel's first digest looks.
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
#: One person owning this many open blockers is a warning sign.
MANY_BLOCKERS = 3
TOP_RISKS = 5
#: Lines a list section shows before "…and N more" (the rest is one /raid list away).
SHOWN = 10
#: Refs a "what changed" or warning line names before "and N more".
SHOWN_REFS = 15
#: An item whose date was moved this often is a warning sign.
DATE_MOVES = 2

ACTIVE = ItemFilter(statuses=tuple(sorted(ACTIVE_STATUSES)))
OPEN_BLOCKERS = ItemFilter(kinds=(Kind.BLOCKER,), statuses=(Status.OPEN,))
OPEN_RISKS = ItemFilter(kinds=(Kind.RISK,), statuses=(Status.OPEN,))
PENDING_DECISIONS = ItemFilter(kinds=(Kind.DECISION,), statuses=(Status.PENDING,))
PROPOSED_CHANGES = ItemFilter(kinds=(Kind.CHANGE,), statuses=(Status.PROPOSED,))
OPEN_MILESTONES = ItemFilter(kinds=(Kind.MILESTONE,), statuses=(Status.OPEN,))
DEFERRED = ItemFilter(statuses=(Status.DEFERRED,))
#: Deferred items read to find those due for revisit (a channel defers a few)
DEFERRED_READ = 200
UNOWNED_BLOCKERS = dataclasses.replace(OPEN_BLOCKERS, unowned=True)
UNOWNED_RISKS = dataclasses.replace(OPEN_RISKS, unowned=True)
UNDATED_BLOCKERS = dataclasses.replace(OPEN_BLOCKERS, undated=True)
UNDECIDED_DECISIONS = dataclasses.replace(PENDING_DECISIONS, unowned=True)
UNDATED_DECISIONS = dataclasses.replace(PENDING_DECISIONS, undated=True)
#: Active items whose date can pass (``Item.overdue``: change requests have no due date).
DATED = dataclasses.replace(ACTIVE, kinds=(Kind.BLOCKER, Kind.RISK, Kind.DECISION, Kind.MILESTONE))


@dataclass(frozen=True)
class Totals:
    """Every count a digest shows, from one query."""

    blockers: int
    decisions: int
    changes: int
    risks: int
    late_reviews: int
    unowned: int
    overdue: int
    active: int
    #: open blockers past their date
    overdue_blockers: int = 0
    #: pending decisions past their decide-by date
    late_decisions: int = 0
    #: open risks nobody watches
    unowned_risks: int = 0
    #: open blockers without a date
    undated_blockers: int = 0
    #: pending decisions without a decider
    undecided_decisions: int = 0
    #: pending decisions without a decide-by date
    undated_decisions: int = 0
    #: open milestones
    milestones: int = 0
    #: deferred items (close-out)
    deferred: int = 0


def _filters(now: datetime) -> dict[str, ItemFilter]:
    return {
        "blockers": OPEN_BLOCKERS,
        "decisions": PENDING_DECISIONS,
        "changes": PROPOSED_CHANGES,
        "risks": OPEN_RISKS,
        "late_reviews": dataclasses.replace(OPEN_RISKS, due_before=now),
        "unowned": UNOWNED_BLOCKERS,
        "overdue": dataclasses.replace(DATED, due_before=now),
        "active": ACTIVE,
        "overdue_blockers": dataclasses.replace(OPEN_BLOCKERS, due_before=now),
        "late_decisions": dataclasses.replace(PENDING_DECISIONS, due_before=now),
        "unowned_risks": UNOWNED_RISKS,
        "undated_blockers": UNDATED_BLOCKERS,
        "undecided_decisions": UNDECIDED_DECISIONS,
        "undated_decisions": UNDATED_DECISIONS,
        "milestones": OPEN_MILESTONES,
        "deferred": DEFERRED,
    }


@dataclass(frozen=True)
class Warnings:
    """Warning signs: items re-dated often, blockers nobody owns, people owning many; risks
    nobody watches, blockers without a date, decisions without a decider or a date."""

    date_moved: list[Item]
    #: at most SHOWN_REFS of the ``Totals.unowned`` blockers without an owner
    unowned: list[Item]
    #: (person, open blockers) for those owning at least MANY_BLOCKERS
    busy_owners: list[tuple[str, int]]
    #: at most SHOWN_REFS of each: open risks without an owner, open blockers without a
    #: date, pending decisions without a decider, pending decisions without a date
    unowned_risks: list[Item] = dataclasses.field(default_factory=list)
    undated_blockers: list[Item] = dataclasses.field(default_factory=list)
    undecided_decisions: list[Item] = dataclasses.field(default_factory=list)
    undated_decisions: list[Item] = dataclasses.field(default_factory=list)
    #: item id -> the first date of a ``date_moved`` item (its baseline)
    baselines: dict[int, datetime] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    """What a digest shows: each list holds at most the lines shown; ``totals`` the counts."""

    since: datetime
    changed: list[tuple[Item, Event]]
    totals: Totals
    #: at most SHOWN open blockers, oldest first
    blockers: list[Item]
    #: at most SHOWN pending decisions and proposed changes, oldest first
    needs: list[Item]
    #: at most TOP_RISKS open risks, highest score first
    top_risks: list[Item]
    #: at most SHOWN open risks whose review date has passed
    late_reviews: list[Item]
    #: None when the channel has no active items
    warnings: Warnings | None
    #: open milestones at risk or missed, soonest first, each with its health
    milestones: list[tuple[Item, HealthReport]] = dataclasses.field(default_factory=list)
    #: deferred items whose revisit date has come, soonest first
    revisit: list[Item] = dataclasses.field(default_factory=list)

    @property
    def needs_total(self) -> int:
        return self.totals.decisions + self.totals.changes

    @property
    def worth_sending(self) -> bool:
        """Something changed, or something is open (or deferred and due for revisit)."""
        return bool(self.changed or self.totals.active or self.revisit)


async def _warnings(uow: UnitOfWork, channel: ChannelKey, totals: Totals) -> Warnings:
    moved = dataclasses.replace(ACTIVE, min_date_moves=DATE_MOVES)
    date_moved = await uow.items.find(channel, moved, limit=SHOWN)
    unowned = (
        await uow.items.find(channel, UNOWNED_BLOCKERS, limit=SHOWN_REFS) if totals.unowned else []
    )
    busy = (
        await uow.items.owner_counts(channel, OPEN_BLOCKERS, at_least=MANY_BLOCKERS)
        if totals.blockers >= MANY_BLOCKERS
        else []
    )

    async def some(where: ItemFilter, total: int) -> list[Item]:
        """At most SHOWN_REFS of them; no query when the count says there are none."""
        return await uow.items.find(channel, where, limit=SHOWN_REFS) if total else []

    return Warnings(
        date_moved,
        unowned,
        busy,
        unowned_risks=await some(UNOWNED_RISKS, totals.unowned_risks),
        undated_blockers=await some(UNDATED_BLOCKERS, totals.undated_blockers),
        undecided_decisions=await some(UNDECIDED_DECISIONS, totals.undecided_decisions),
        undated_decisions=await some(UNDATED_DECISIONS, totals.undated_decisions),
        baselines=await read_baselines(uow, date_moved),
    )


async def _milestones_at_risk(
    uow: UnitOfWork, settings: ChannelSettings, timetable: Timetable, now: datetime, tz: str
) -> list[tuple[Item, HealthReport]]:
    found = await channel_healths(uow, settings, timetable, now, tz)
    at_risk = [
        (item, report)
        for item, report in found.values()
        if report.health in (Health.AT_RISK, Health.MISSED)
    ]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(at_risk, key=lambda pair: (pair[0].due_at or far, pair[0].number))


async def build(
    uow: UnitOfWork,
    channel: ChannelKey,
    since: datetime | None,
    now: datetime,
    *,
    settings: ChannelSettings | None = None,
    timetable: Timetable | None = None,
    tz: str = "UTC",
) -> Digest:
    """What the digest of ``channel`` shows.

    One query counts everything; each section then reads at most the lines it shows, on
    indexes, so the cost follows the changes since ``since`` and what is shown, not the
    history kept or the size of the backlog.
    """
    since = since or now - FIRST_DIGEST_LOOKBACK
    items = uow.items
    changed = await items.events_since(channel, since)
    filters = _filters(now)
    totals = Totals(
        **dict(zip(filters, await items.counts(channel, list(filters.values())), strict=True))
    )
    blockers = await items.find(channel, OPEN_BLOCKERS, limit=SHOWN) if totals.blockers else []
    needs = sorted(
        (await items.find(channel, PENDING_DECISIONS, limit=SHOWN) if totals.decisions else [])
        + (await items.find(channel, PROPOSED_CHANGES, limit=SHOWN) if totals.changes else []),
        key=lambda i: (i.created_at, i.number),
    )[:SHOWN]
    top_risks: list[Item] = []
    late_reviews: list[Item] = []
    if totals.risks:
        top_risks = await items.find(channel, OPEN_RISKS, order=ItemOrder.SCORE, limit=TOP_RISKS)
        if totals.late_reviews:
            late = dataclasses.replace(OPEN_RISKS, due_before=now)
            late_reviews = await items.find(channel, late, limit=SHOWN)
    warnings = await _warnings(uow, channel, totals) if totals.active else None
    milestones: list[tuple[Item, HealthReport]] = []
    if totals.milestones:
        milestones = await _milestones_at_risk(
            uow,
            settings or await uow.channels.get_settings(channel),
            timetable or ZoneTimetable(),
            now,
            tz,
        )
    revisit: list[Item] = []
    if totals.deferred:
        deferred = await items.find(channel, DEFERRED, limit=DEFERRED_READ)
        revisit = sorted(
            (i for i in deferred if i.revisit_at is not None and i.revisit_at <= now),
            key=lambda i: (i.revisit_at, i.number),
        )[:SHOWN]
    return Digest(
        since,
        changed,
        totals,
        blockers,
        needs,
        top_risks,
        late_reviews,
        warnings,
        milestones,
        revisit,
    )


async def due(
    uow: UnitOfWork,
    channel: ChannelKey,
    now: datetime,
    zone: Callable[[str | None], str],
    *,
    since: datetime | None = None,
    timetable: Timetable | None = None,
) -> tuple[Digest, str]:
    """A scheduled digest: everything since ``since``, else since the channel's last one; with
    the time zone to show it in (``zone`` of the channel's setting). Moves nothing:
    :func:`delivered` does, once the digest is out, so a digest that failed to send is not
    lost."""
    settings: ChannelSettings = await uow.channels.get_settings(channel)
    tz = zone(settings.timezone)
    digest = await build(
        uow,
        channel,
        since or settings.last_digest_at,
        now,
        settings=settings,
        timetable=timetable,
        tz=tz,
    )
    return digest, tz


async def last_sent(uow: UnitOfWork, channel: ChannelKey, schedule_id: int) -> datetime | None:
    """When the last digest of one schedule that was posted was built (None: none yet, and
    the digest looks back ``FIRST_DIGEST_LOOKBACK``)."""
    for run in await uow.schedules.runs(channel, RunKind.DIGEST, limit=50):
        if run.payload.get("schedule_id") == schedule_id and run.status is RunStatus.DONE:
            return run.built_at
    return None


async def delivered(uow: UnitOfWork, channel: ChannelKey, built_at: datetime) -> None:
    """A scheduled digest built at ``built_at`` was sent: the next one starts there (never
    earlier than a digest sent meanwhile)."""
    settings = await uow.channels.get_settings(channel)
    if settings.last_digest_at is None or settings.last_digest_at < built_at:
        await uow.channels.save_settings(dataclasses.replace(settings, last_digest_at=built_at))
