"""What a channel's dashboard shows: the overview, the item list and one item's page.

The numbers come from the use cases the chat commands use: the counts and the warning signs
are the digest's (:func:`bot.services.digests.build`), the lists are ``/raid list``'s filters,
an item's page is ``/raid show`` and ``/raid history``'s data; only the charts' series are
added here, from :mod:`bot.domain.trends`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import trends
from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelKey,
    Event,
    Item,
    ItemFilter,
    ItemOrder,
    Kind,
    Ref,
    Status,
)
from bot.domain.plan import HealthReport
from bot.domain.schedules import ZoneTimetable
from bot.domain.trends import BlockerAges, HeatMap, Trends
from bot.ports import ChartDrawer, Timetable, UnitOfWork
from bot.services import digests
from bot.services.items import read_baselines
from bot.services.plan import channel_healths

#: How many of the oldest open blockers the overview lists.
OLDEST_BLOCKERS = 5
#: The weeks standup participation covers.
PARTICIPATION_WEEKS = 4
#: Rows the item list shows at most (the export has everything).
LIST_LIMIT = 500


@dataclass(frozen=True)
class Participation:
    """One member's standups over the period: asked (not away) and answered."""

    member: str
    asked: int
    answered: int


@dataclass(frozen=True)
class Overview:
    now: datetime
    #: the digest's counts and warning signs, as ``/digest now`` shows them
    digest: digests.Digest
    heat: HeatMap
    trends: Trends
    ages: BlockerAges
    oldest_blockers: list[Item]
    #: the decision log by state: pending (with decider and date), decided, superseded...
    decisions: list[StatusGroup]
    #: change requests by state
    changes: list[StatusGroup]
    #: pending decisions past their decide-by date
    decisions_late: int
    participation: list[Participation]
    #: the milestone timeline: open and done milestones by date, with their health and slips
    milestones: list[MilestoneRow] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class MilestoneRow:
    """One milestone on the timeline: its health and, once its date has moved, the first
    date it had (``item.date_moves`` says how often it slipped)."""

    item: Item
    health: HealthReport
    baseline: datetime | None = None


async def milestone_timeline(
    uow: UnitOfWork, channel: ChannelKey, now: datetime, timetable: Timetable, tz: str
) -> list[MilestoneRow]:
    settings = await uow.channels.get_settings(channel)
    found = await channel_healths(uow, settings, timetable, now, tz)
    if not found:
        return []
    milestones = [item for item, _ in found.values()]
    firsts = await read_baselines(uow, milestones)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows = [
        MilestoneRow(item, report, firsts.get(item.stored_id)) for item, report in found.values()
    ]
    return sorted(rows, key=lambda r: (r.item.due_at or far, r.item.number))


#: What the overview shows of each group of decisions and change requests (the rest is one
#: click away, in the item list).
SHOWN = 10


@dataclass(frozen=True)
class StatusGroup:
    """Items of one kind in one status: how many, and the newest :data:`SHOWN` of them."""

    status: Status
    total: int
    items: list[Item]


#: The decision log's groups and the change requests', in this order.
DECISION_STATES = (
    Status.PENDING,
    Status.DECIDED,
    Status.SUPERSEDED,
    Status.REJECTED,
    Status.WITHDRAWN,
)
CHANGE_STATES = (
    Status.PROPOSED,
    Status.APPROVED,
    Status.IMPLEMENTED,
    Status.REJECTED,
    Status.WITHDRAWN,
)
#: The fields whose changes the trend lines and blocker ages replay.
_REPLAYED = ("status", "owner")


async def _trends(
    uow: UnitOfWork, channel: ChannelKey, now: datetime
) -> tuple[Trends, dict[int, list[Event]]]:
    """The weekly series, and the status and owner changes since the first week end (by item
    id): one count query over the channel's items, and the few items whose status changed."""
    ends = trends.week_ends(now)
    events: dict[int, list[Event]] = {}
    for item_id, event in await uow.items.field_changes_since(channel, ends[0], _REPLAYED):
        events.setdefault(item_id, []).append(event)
    wheres = [
        ItemFilter(kinds=(kind,), statuses=(status,), created_by=end)
        for _, kind, status in trends.SERIES
        for end in ends
    ]
    flat = await uow.items.counts(channel, wheres)
    counted = {
        name: flat[n * len(ends) : (n + 1) * len(ends)]
        for n, (name, _, _) in enumerate(trends.SERIES)
    }
    changed = [
        i
        for i in await uow.items.by_ids(channel, sorted(events))
        if any(trends.status_change(e) for e in events.get(i.stored_id, ()))
    ]
    return trends.weekly_series(changed, events, now, counted=counted), events


async def _heat(uow: UnitOfWork, channel: ChannelKey) -> HeatMap:
    """Open risks by likelihood and impact, in one count query."""
    cells = [(lk, im) for lk in trends.LEVELS for im in trends.LEVELS]
    wheres = [dataclasses.replace(digests.OPEN_RISKS, likelihood=lk, impact=im) for lk, im in cells]
    wheres.append(dataclasses.replace(digests.OPEN_RISKS, scored=False))
    *counts, unscored = await uow.items.counts(channel, wheres)
    return HeatMap({cell: n for cell, n in zip(cells, counts, strict=True) if n}, unscored)


async def chart(uow: UnitOfWork, channel: ChannelKey, now: datetime) -> tuple[Trends, HeatMap]:
    """What the digest's picture shows: the 12-week trend and the risk heat map, the same
    numbers the dashboard's overview shows."""
    series, _ = await _trends(uow, channel, now)
    return series, await _heat(uow, channel)


async def chart_png(
    uow: UnitOfWork, channel: ChannelKey, now: datetime, charts: ChartDrawer | None
) -> bytes | None:
    """The digest's picture (12-week trend and risk heat map) as PNG; None without a drawer.
    Drawn in a worker thread: the event loop goes on meanwhile."""
    if charts is None:
        return None
    series, heat = await chart(uow, channel, now)
    return await asyncio.to_thread(charts.draw, series, heat, "png")


async def _groups(
    uow: UnitOfWork, channel: ChannelKey, kind: Kind, states: Sequence[Status]
) -> list[StatusGroup]:
    totals = await uow.items.counts(
        channel, [ItemFilter(kinds=(kind,), statuses=(s,)) for s in states]
    )
    groups = []
    for status, total in zip(states, totals, strict=True):
        if total:
            where = ItemFilter(kinds=(kind,), statuses=(status,))
            order = ItemOrder.CREATED if status in ACTIVE_STATUSES else ItemOrder.RECENT
            shown = await uow.items.find(channel, where, order=order, limit=SHOWN)
            groups.append(StatusGroup(status, total, shown))
    return groups


async def overview(
    uow: UnitOfWork,
    channel: ChannelKey,
    now: datetime,
    *,
    timetable: Timetable | None = None,
    tz: str = "UTC",
) -> Overview:
    """Everything the overview page shows, from a handful of indexed queries: the cost
    follows what is shown and what changed in the trend's weeks, not the history kept."""
    items = uow.items
    timetable = timetable or ZoneTimetable()
    # the counts and warning signs
    digest = await digests.build(uow, channel, now, now, timetable=timetable, tz=tz)
    series, events = await _trends(uow, channel, now)
    window = series.weeks[0]
    logged = await items.find(channel, ItemFilter(kinds=(Kind.BLOCKER,), created_after=window))
    (late,) = await items.counts(
        channel, [dataclasses.replace(digests.PENDING_DECISIONS, due_before=now)]
    )
    return Overview(
        now=now,
        digest=digest,
        heat=await _heat(uow, channel),
        trends=series,
        ages=trends.blocker_ages(logged, events),
        oldest_blockers=await items.find(channel, digests.OPEN_BLOCKERS, limit=OLDEST_BLOCKERS),
        decisions=await _groups(uow, channel, Kind.DECISION, DECISION_STATES),
        changes=await _groups(uow, channel, Kind.CHANGE, CHANGE_STATES),
        decisions_late=late,
        participation=await participation(uow, channel, now),
        milestones=await milestone_timeline(uow, channel, now, timetable, tz),
    )


async def participation(
    uow: UnitOfWork, channel: ChannelKey, now: datetime, weeks: int = PARTICIPATION_WEEKS
) -> list[Participation]:
    """Per member of the standups opened in the last ``weeks``: how many asked them (not
    away) and how many they answered; least answered first."""
    asked: dict[str, int] = {}
    answered: dict[str, int] = {}
    for standup in await uow.schedules.standups_since(channel, now - timedelta(weeks=weeks)):
        if standup.id is None:
            continue
        who = {a.person for a in await uow.schedules.answers(standup.id)}
        for member in standup.members:
            if member in standup.away:
                continue
            asked[member] = asked.get(member, 0) + 1
            answered[member] = answered.get(member, 0) + (member in who)
    rows = [Participation(m, asked[m], answered[m]) for m in asked]
    return sorted(rows, key=lambda p: (p.answered / p.asked, p.member))


@dataclass(frozen=True)
class ListFilter:
    """The item list's filters, as the page's form sends them (all optional)."""

    kind: Kind | None = None
    status: Status | None = None
    #: a person's id, or ``none`` for the items nobody owns
    owner: str | None = None
    overdue: bool = False
    text: str = ""
    #: closed items too (a status filter for a closed status implies it)
    include_closed: bool = False
    #: risks of one heat-map cell
    likelihood: int | None = None
    impact: int | None = None


async def item_list(
    uow: UnitOfWork, channel: ChannelKey, where: ListFilter, now: datetime
) -> tuple[list[Item], int]:
    """The items matching ``where``, as ``/raid list`` orders them (oldest first), at most
    :data:`LIST_LIMIT`; and how many matched in all."""
    statuses: Sequence[Status] | None
    if where.status is not None:
        statuses = (where.status,)
    elif where.include_closed:
        statuses = None
    else:
        statuses = tuple(sorted(ACTIVE_STATUSES))
    found = await uow.items.list(
        channel, kinds=[where.kind] if where.kind else None, statuses=statuses
    )
    text = where.text.strip().casefold()
    owner = (where.owner or "").strip().lstrip("@")
    nobody = owner.casefold() in ("none", "nobody")
    matches = [
        i
        for i in found
        if (not where.overdue or i.overdue(now))
        and (not owner or (i.owner is None if nobody else i.owner == owner))
        and (not text or text in i.title.casefold() or text in str(i.ref).casefold())
        and (where.likelihood is None or i.likelihood == where.likelihood)
        and (where.impact is None or i.impact == where.impact)
    ]
    return matches[:LIST_LIMIT], len(matches)


async def item_page(
    uow: UnitOfWork, channel: ChannelKey, ref: Ref
) -> tuple[Item, list[Event]] | None:
    """One item of this channel and its full history; None when the channel has no such
    item (another channel's item is never found: the lookup is by channel)."""
    item = await uow.items.get(channel, ref.kind, ref.number)
    if item is None:
        return None
    events = (await uow.items.events([item.stored_id]))[item.stored_id]
    return item, events


__all__ = [
    "LIST_LIMIT",
    "ListFilter",
    "MilestoneRow",
    "Overview",
    "Participation",
    "chart",
    "chart_png",
    "item_list",
    "item_page",
    "milestone_timeline",
    "overview",
    "participation",
]
