"""``/raid stakeholders``: who gets which updates of a channel by direct message.

What they get and when is :mod:`bot.services.stakeholder_updates`; here a lead adds and
removes them (anyone may remove themselves), and sets when an overdue blocker escalates.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.model import (
    MAX_ESCALATE_AFTER_DAYS,
    STAKEHOLDER_LEVELS,
    ChannelSettings,
)
from bot.errors import UsageError
from bot.services.items import Context, require_lead, update_settings
from bot.services.stakeholder_updates import is_weekly

#: Stakeholders one channel keeps at most.
MAX_STAKEHOLDERS = 50


def _ordered(levels: Sequence[str]) -> tuple[str, ...]:
    return tuple(level for level in STAKEHOLDER_LEVELS if level in levels)


async def add(ctx: Context, people: Sequence[str], levels: Sequence[str]) -> ChannelSettings:
    """``people`` get ``levels`` (besides the levels they had)."""
    require_lead(ctx, "add stakeholders")
    found = dict(ctx.settings.stakeholders)
    for person in people:
        found[person] = _ordered([*found.get(person, ()), *levels])
    if len(found) > MAX_STAKEHOLDERS:
        raise UsageError(
            f"A channel keeps at most {MAX_STAKEHOLDERS} stakeholders; remove some first "
            "(`/raid stakeholders remove @who`)."
        )
    return await update_settings(ctx, stakeholders=found)


async def remove(
    ctx: Context, people: Sequence[str], levels: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """``people`` no longer get ``levels`` (none named: any); person -> the levels removed.
    A lead removes anyone; anyone removes themselves."""
    if any(person != ctx.user for person in people):
        require_lead(ctx, "remove other stakeholders")
    found = dict(ctx.settings.stakeholders)
    removed: dict[str, tuple[str, ...]] = {}
    for person in people:
        had = found.get(person, ())
        gone = _ordered([level for level in had if not levels or level in levels])
        if not gone:
            continue
        removed[person] = gone
        kept = tuple(level for level in had if level not in gone)
        if kept:
            found[person] = kept
        else:
            del found[person]
    if removed:
        await update_settings(ctx, stakeholders=found)
    return removed


async def has_weekly_digest(ctx: Context) -> bool:
    """Whether the channel has a weekly digest on (what ``weekly`` stakeholders get)."""
    schedules = await ctx.uow.schedules.of_channel(ctx.channel)
    return any(s.enabled and is_weekly(s.days, s.kind) for s in schedules)


async def set_escalation_days(ctx: Context, days: int) -> ChannelSettings:
    require_lead(ctx, "change when blockers are escalated")
    if not 1 <= days <= MAX_ESCALATE_AFTER_DAYS:
        raise UsageError(
            f"Escalate after 1 to {MAX_ESCALATE_AFTER_DAYS} working days, e.g. "
            "`/raid settings escalations 3`."
        )
    return await update_settings(ctx, escalate_after_days=days)
