"""What a channel's dashboard shows: the overview, the item list and one item's page.

The numbers come from the use cases the chat commands use: the counts and the warning signs
are the digest's (:func:`bot.services.digests.build`), the lists are ``/raid list``'s filters,
an item's page is ``/raid show`` and ``/raid history``'s data; only the charts' series are
added here, from :mod:`bot.domain.trends`.
"""

from __future__ import annotations

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
from bot.ports import UnitOfWork
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


async def overview(uow: UnitOfWork, channel: ChannelKey, now: datetime) -> Overview:
    """Everything the overview page shows, from a handful of indexed queries."""
    items = uow.items
    digest = await digests.build(uow, channel, None, now)
    risks = await items.find(channel, digests.OPEN_RISKS) if digest.totals.risks else []
    window = trends.week_ends(now)[0]
    recent = await items.events_since(channel, window)
    events: dict[int, list[Event]] = {}
    changed: dict[int, Item] = {}
    for item, event in recent:
        if item.id is not None:
            events.setdefault(item.id, []).append(event)
            changed[item.id] = item
    counted = {k for _, k, _ in trends.SERIES}
    active = await items.find(
        channel, ItemFilter(kinds=tuple(sorted(counted)), statuses=(Status.OPEN, Status.PENDING))
    )
    candidates = {i.id: i for i in active} | {
        i.id: i for i in changed.values() if i.kind in counted
    }
    series = trends.weekly_series(candidates.values(), events, now)
    logged = [i for i in candidates.values() if i.kind is Kind.BLOCKER and i.created_at > window]
    ages = trends.blocker_ages(logged, events)
    oldest = await items.find(channel, digests.OPEN_BLOCKERS, limit=OLDEST_BLOCKERS)
    decisions = await items.list(channel, kinds=[Kind.DECISION])
    changes = await items.list(channel, kinds=[Kind.CHANGE])
    return Overview(
        now=now,
        digest=digest,
        heat=trends.heat_map(risks),
        trends=series,
        ages=ages,
        oldest_blockers=oldest,
        decisions=decisions,
        changes=changes,
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
    "item_list",
    "item_page",
    "overview",
    "participation",
]
