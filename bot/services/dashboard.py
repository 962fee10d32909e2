"""What a channel's dashboard shows: the overview, the item list and one item's page.

The numbers come from the use cases the chat commands use: the counts and the warning signs
are the digest's (:func:`bot.services.digests.build`), the lists are ``/raid list``'s filters,
an item's page is ``/raid show`` and ``/raid history``'s data; only the charts' series are
added here, from :mod:`bot.domain.trends`.
"""

from __future__ import annotations

import asyncio
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
    Kind,
    Ref,
    Status,
)
from bot.domain.trends import BlockerAges, HeatMap, Trends
from bot.ports import ChartDrawer, UnitOfWork
from bot.services import digests

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
    #: every decision: taken, pending (with decider and date), superseded, rejected
    decisions: list[Item]
    #: every change request, by state in the view
    changes: list[Item]
    participation: list[Participation]

    @property
    def decisions_late(self) -> int:
        return sum(1 for d in self.decisions if d.status is Status.PENDING and d.overdue(self.now))


@dataclass(frozen=True)
class _Recent:
    """The items the trend lines may count and their events of the trend's weeks."""

    window: datetime
    items: dict[int, Item]
    events: dict[int, list[Event]]


async def _recent(uow: UnitOfWork, channel: ChannelKey, now: datetime) -> _Recent:
    """Items open or pending now, and those changed since the first week end: any other item
    counts in no week of the trend (nothing of it changed, and it is closed now)."""
    window = trends.week_ends(now)[0]
    events: dict[int, list[Event]] = {}
    changed: dict[int, Item] = {}
    for item, event in await uow.items.events_since(channel, window):
        if item.id is not None:
            events.setdefault(item.id, []).append(event)
            changed[item.id] = item
    counted = tuple(sorted({k for _, k, _ in trends.SERIES}))
    active = await uow.items.find(
        channel, ItemFilter(kinds=counted, statuses=(Status.OPEN, Status.PENDING))
    )
    items = {i.id: i for i in active if i.id is not None}
    items.update({k: i for k, i in changed.items() if i.kind in counted})
    return _Recent(window, items, events)


async def _heat(uow: UnitOfWork, channel: ChannelKey, open_risks: int) -> HeatMap:
    risks = await uow.items.find(channel, digests.OPEN_RISKS) if open_risks else []
    return trends.heat_map(risks)


async def chart(uow: UnitOfWork, channel: ChannelKey, now: datetime) -> tuple[Trends, HeatMap]:
    """What the digest's picture shows: the 12-week trend and the risk heat map, the same
    numbers the dashboard's overview shows."""
    recent = await _recent(uow, channel, now)
    (open_risks,) = await uow.items.counts(channel, [digests.OPEN_RISKS])
    return (
        trends.weekly_series(recent.items.values(), recent.events, now),
        await _heat(uow, channel, open_risks),
    )


async def chart_png(
    uow: UnitOfWork, channel: ChannelKey, now: datetime, charts: ChartDrawer | None
) -> bytes | None:
    """The digest's picture (12-week trend and risk heat map) as PNG; None without a drawer.
    Drawn in a worker thread: the event loop goes on meanwhile."""
    if charts is None:
        return None
    series, heat = await chart(uow, channel, now)
    return await asyncio.to_thread(charts.draw, series, heat, "png")


async def overview(uow: UnitOfWork, channel: ChannelKey, now: datetime) -> Overview:
    """Everything the overview page shows, from a handful of indexed queries."""
    items = uow.items
    digest = await digests.build(uow, channel, None, now)
    recent = await _recent(uow, channel, now)
    logged = [
        i for i in recent.items.values() if i.kind is Kind.BLOCKER and i.created_at > recent.window
    ]
    return Overview(
        now=now,
        digest=digest,
        heat=await _heat(uow, channel, digest.totals.risks),
        trends=trends.weekly_series(recent.items.values(), recent.events, now),
        ages=trends.blocker_ages(logged, recent.events),
        oldest_blockers=await items.find(channel, digests.OPEN_BLOCKERS, limit=OLDEST_BLOCKERS),
        decisions=await items.list(channel, kinds=[Kind.DECISION]),
        changes=await items.list(channel, kinds=[Kind.CHANGE]),
        participation=await participation(uow, channel, now),
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
    matches = [
        i
        for i in found
        if (not where.overdue or i.overdue(now))
        and (not owner or i.owner == owner)
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
    "Overview",
    "Participation",
    "chart",
    "chart_png",
    "item_list",
    "item_page",
    "overview",
    "participation",
]
