"""The plan use cases: joining milestones, dependencies, tracker links and tracker patterns,
and what a card, a list or a digest shows about an item's place in the plan.

Milestone health is derived, never stored: :func:`channel_healths` is the one place that reads
a channel's items and asks :func:`bot.domain.plan.milestone_health` about each milestone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain import plan, rules
from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelKey,
    ChannelSettings,
    Item,
    ItemFilter,
    Kind,
    Ref,
    Status,
)
from bot.domain.plan import Health, HealthReport
from bot.errors import Conflict, UsageError
from bot.ports import Timetable, UnitOfWork
from bot.services import days_off
from bot.services.items import Context, change, load, require_lead, update_settings


@dataclass(frozen=True)
class TrackerLink:
    """One tracker link as shown: its label (the key, or the URL itself) and where it goes
    (None: a key whose prefix has no pattern in the channel)."""

    label: str
    url: str | None


@dataclass(frozen=True)
class ItemPlan:
    """An item's place in the plan, as its card shows it."""

    #: a milestone's health
    health: HealthReport | None = None
    #: a milestone's open items (refs); None: not read
    members: tuple[str, ...] | None = None
    #: open items that depend on this one: "needed by"
    waiting: tuple[Item, ...] = ()
    links: tuple[TrackerLink, ...] = ()

    @property
    def needed_by(self) -> tuple[str, ...]:
        return tuple(str(i.ref) for i in self.waiting)


def tracker_links(item: Item, patterns: Mapping[str, str]) -> tuple[TrackerLink, ...]:
    return tuple(TrackerLink(link, plan.tracker_url(link, patterns)) for link in item.links)


def day_off_of(settings: ChannelSettings, timetable: Timetable) -> Callable[[date], str | None]:
    return lambda day: days_off.reason(settings, day, timetable)


async def channel_healths(
    uow: UnitOfWork,
    settings: ChannelSettings,
    timetable: Timetable,
    now: datetime,
    tz: str,
    *,
    active: Sequence[Item] | None = None,
) -> dict[str, tuple[Item, HealthReport]]:
    """Every milestone of the channel that is not withdrawn, by ref, with its health.

    ``active``: the channel's active items when the caller has read them already. The
    stakeholder escalations ("a milestone turns at risk") and close-out ("milestones not
    done") ask this too."""
    channel = settings.channel
    milestones = await uow.items.list(
        channel, kinds=[Kind.MILESTONE], statuses=[Status.OPEN, Status.DONE]
    )
    if not milestones:
        return {}
    if active is None:
        active = await _linked_items(uow, channel, milestones)
    day_off = day_off_of(settings, timetable)
    return {
        str(m.ref): (m, plan.milestone_health(m, plan.linked_to(m, active), now, tz, day_off))
        for m in milestones
    }


async def _linked_items(
    uow: UnitOfWork, channel: ChannelKey, milestones: Sequence[Item]
) -> list[Item]:
    """The active items linked to any of ``milestones``: those that are part of one (one
    query) and those one depends on (read by ref; a milestone depends on a few). What a
    health needs, without reading the channel's whole backlog."""
    refs = tuple(str(m.ref) for m in milestones)
    found = await uow.items.find(
        channel, ItemFilter(statuses=tuple(ACTIVE_STATUSES), milestones=refs)
    )
    have = {str(i.ref) for i in found} | set(refs)
    for text in dict.fromkeys(ref for m in milestones for ref in m.depends_on):
        ref = Ref.parse(text)
        if ref is None or text in have:
            continue
        item = await uow.items.get(channel, ref.kind, ref.number)
        if item is not None and item.status in ACTIVE_STATUSES:
            found.append(item)
    return found


async def workspace_healths(
    uow: UnitOfWork, items: Sequence[Item], timetable: Timetable, now: datetime, tz: str
) -> dict[tuple[ChannelKey, str], HealthReport]:
    """(channel, ref) -> health for the milestones among ``items``, the active items of a
    workspace (App Home), each with its own channel's time zone and days off."""
    milestones = [i for i in items if i.kind is Kind.MILESTONE]
    if not milestones:
        return {}
    settings = await uow.channels.settings_of({m.channel for m in milestones})
    found = {}
    for m in milestones:
        own = settings[m.channel]
        linked = plan.linked_to(m, [i for i in items if i.channel == m.channel])
        zone = own.timezone or tz
        found[m.channel, str(m.ref)] = plan.milestone_health(
            m, linked, now, zone, day_off_of(own, timetable)
        )
    return found


async def milestones_not_done(uow: UnitOfWork, channel: ChannelKey) -> list[Item]:
    """The channel's open milestones (close-out lists them as what blocks closing)."""
    return await uow.items.list(channel, kinds=[Kind.MILESTONE], statuses=[Status.OPEN])


async def plans(ctx: Context, items: Sequence[Item], *, fresh: bool = False) -> dict[int, ItemPlan]:
    """Item id -> its place in the plan, for cards: one read of the channel's open items
    (a milestone's health and items, and who depends on each). ``fresh``: who depends on
    the items is not asked (they were just logged, or the change does not concern it): the
    read is left out unless one is a milestone."""
    return await read_plans(
        ctx.uow, ctx.settings, ctx.timetable, ctx.now, ctx.timezone, items, fresh=fresh
    )


async def read_plans(
    uow: UnitOfWork,
    settings: ChannelSettings,
    timetable: Timetable,
    now: datetime,
    tz: str,
    items: Sequence[Item],
    *,
    fresh: bool = False,
) -> dict[int, ItemPlan]:
    """:func:`plans` outside a chat request (the dashboard's item page)."""
    if not items:
        return {}
    active: list[Item] = []
    if not fresh or any(i.kind is Kind.MILESTONE for i in items):
        active = await uow.items.list(settings.channel, statuses=ACTIVE_STATUSES)
    day_off = day_off_of(settings, timetable)
    found: dict[int, ItemPlan] = {}
    for item in items:
        if item.id is None:
            continue
        ref = str(item.ref)
        health = None
        members: tuple[str, ...] | None = None
        if item.kind is Kind.MILESTONE:
            linked = plan.linked_to(item, [i for i in active if i.id != item.id])
            health = plan.milestone_health(item, linked, now, tz, day_off)
            members = tuple(str(i.ref) for i in active if i.milestone == ref)
        waiting = tuple(i for i in plan.dependents(ref, active) if i.id != item.id)
        patterns = settings.link_patterns
        found[item.id] = ItemPlan(health, members, waiting, tracker_links(item, patterns))
    return found


# --- linking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Linked:
    """What ``/raid link`` did: the item as changed, and what it was linked to."""

    item: Item
    #: ``milestone``, ``depends-on`` or ``tracker``
    relation: str
    target: str
    removed: bool = False
    #: the milestone or item ``target`` names
    other: Item | None = None


def _check_may_link(ctx: Context, item: Item) -> None:
    if not item.active:
        raise Conflict(
            f"{item.ref} is {item.status.label}: only open items join milestones, depend on "
            "others or get tracker links."
        )
    rules.require_manager(ctx.user, item, ctx.settings, "link")


async def join_milestone(ctx: Context, item: Item, milestone_ref: Ref) -> Linked:
    """``item`` becomes part of the milestone (an item is part of one milestone at most)."""
    _check_may_link(ctx, item)
    if item.kind is Kind.MILESTONE:
        raise UsageError(
            f"{item.ref} is a milestone itself; to make it wait for {milestone_ref}: "
            f"`/raid link {item.ref} depends-on {milestone_ref}`."
        )
    milestone = await load(ctx, milestone_ref, lock=False)
    if milestone.kind is not Kind.MILESTONE:
        raise UsageError(
            f"{milestone.ref} is not a milestone. To make {item.ref} wait for it: "
            f"`/raid link {item.ref} depends-on {milestone.ref}`."
        )
    if milestone.status is Status.WITHDRAWN:
        raise Conflict(f"{milestone.ref} was withdrawn; items no longer join it.")
    new = await change(ctx, item, "linked", milestone=str(milestone.ref))
    return Linked(new, "milestone", str(milestone.ref), other=milestone)


async def depend_on(ctx: Context, item: Item, target_ref: Ref) -> Linked:
    """``item`` depends on ``target_ref``; a dependency that closes a loop is refused."""
    _check_may_link(ctx, item)
    target = await load(ctx, target_ref, lock=False)
    ref, wanted = str(item.ref), str(target.ref)
    if wanted in item.depends_on:
        return Linked(item, "depends-on", wanted, other=target)
    if len(item.depends_on) >= plan.MAX_LINKS:
        raise UsageError(f"{item.ref} depends on {plan.MAX_LINKS} items already.")
    everything = await ctx.uow.items.list(ctx.channel)
    loop = plan.dependency_cycle(ref, wanted, everything)
    if loop is not None:
        if len(loop) == 2:
            raise Conflict(f"{item.ref} can't depend on itself.")
        raise Conflict(
            f"Sorry, {item.ref} can't depend on {wanted}: {wanted} already waits for "
            f"{item.ref} ({' → '.join(loop[1:])}), so neither could ever finish first. "
            f"Remove one of those links first (`/raid link {loop[1]} remove {loop[2]}`)."
        )
    new = await change(ctx, item, "linked", depends_on=(*item.depends_on, wanted))
    return Linked(new, "depends-on", wanted, other=target)


async def add_tracker_link(ctx: Context, item: Item, link: str) -> Linked:
    _check_may_link(ctx, item)
    if link in item.links:
        return Linked(item, "tracker", link)
    if len(item.links) >= plan.MAX_LINKS:
        raise UsageError(f"{item.ref} keeps {plan.MAX_LINKS} tracker links already.")
    new = await change(ctx, item, "linked", links=(*item.links, link))
    return Linked(new, "tracker", link)


async def unlink(ctx: Context, item: Item, target: str) -> Linked:
    """Take a milestone, dependency or tracker link off ``item`` (``remove`` in the
    command)."""
    _check_may_link(ctx, item)
    if item.milestone == target:
        return Linked(
            await change(ctx, item, "unlinked", milestone=None), "milestone", target, True
        )
    if target in item.depends_on:
        rest = tuple(r for r in item.depends_on if r != target)
        return Linked(
            await change(ctx, item, "unlinked", depends_on=rest), "depends-on", target, True
        )
    if target in item.links:
        rest = tuple(x for x in item.links if x != target)
        return Linked(await change(ctx, item, "unlinked", links=rest), "tracker", target, True)
    raise UsageError(f"{item.ref} has no link to {target}.")


async def check_milestone(ctx: Context, ref: Ref) -> str:
    """A new item's ``for M-1``: the milestone exists and takes items."""
    milestone = await load(ctx, ref, lock=False)
    if milestone.kind is not Kind.MILESTONE:
        raise UsageError(f"{ref} is not a milestone; `for` names one, e.g. `for M-1`.")
    if milestone.status is Status.WITHDRAWN:
        raise Conflict(f"{milestone.ref} was withdrawn; items no longer join it.")
    return str(milestone.ref)


# --- patterns --------------------------------------------------------------------------------


async def set_pattern(ctx: Context, prefix: str, pattern: str | None) -> ChannelSettings:
    """``/raid settings links JIRA=https://…/{}`` (a lead); ``JIRA=off`` removes it."""
    require_lead(ctx, "change the tracker links")
    patterns = dict(ctx.settings.link_patterns)
    if pattern is None:
        key = prefix.strip().upper()
        if key not in patterns:
            raise UsageError(f"There is no pattern for {key} links.")
        del patterns[key]
    else:
        key, value = plan.parse_pattern(prefix, pattern)
        patterns[key] = value
    return await update_settings(ctx, link_patterns=patterns)


__all__ = [
    "Health",
    "HealthReport",
    "ItemPlan",
    "Linked",
    "TrackerLink",
    "add_tracker_link",
    "channel_healths",
    "check_milestone",
    "day_off_of",
    "depend_on",
    "join_milestone",
    "milestones_not_done",
    "plans",
    "read_plans",
    "set_pattern",
    "tracker_links",
    "unlink",
    "workspace_healths",
]
