"""App Home: what waits on one person across channels, with each item's buttons."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.domain.model import ChannelKey, Item, Kind, Status
from bot.domain.plan import HealthReport
from bot.messages import Card, Reply, Section
from bot.services.plan import ItemPlan
from bot.text.parsing import mention
from bot.views import stakeholders as stakeholder_views
from bot.views.items import card, defer_action


def home(
    items: list[Item],
    user: str,
    tz: str,
    now: datetime,
    closing: frozenset[ChannelKey] = frozenset(),
    healths: Mapping[tuple[ChannelKey, str], HealthReport] | None = None,
    followed: Sequence[tuple[ChannelKey, tuple[str, ...]]] = (),
) -> Reply:
    """What waits on one person across channels, with each item's buttons. In a channel
    whose project is closing (``closing``), each item also offers Defer and is counted under
    "Blocking a close-out". The milestones they own show their health (``healths``: by
    channel and ref). Last, the channels whose stakeholder updates they get (``followed``:
    channel, levels)."""
    healths = healths or {}
    soon = now + timedelta(days=7)
    groups: list[tuple[str, list[Item]]] = [
        ("Blockers you own", [i for i in items if i.kind is Kind.BLOCKER and i.owner == user]),
        (
            "Decisions you must take",
            [i for i in items if i.kind is Kind.DECISION and i.owner == user],
        ),
        (
            "Change requests you must approve",
            [
                i
                for i in items
                if i.kind is Kind.CHANGE and i.status is Status.PROPOSED and user in i.approvers
            ],
        ),
        (
            "Risks due for review",
            [
                i
                for i in items
                if i.kind is Kind.RISK and i.owner == user and i.due_at and i.due_at <= soon
            ],
        ),
        (
            "Milestones you own",
            [i for i in items if i.kind is Kind.MILESTONE and i.owner == user],
        ),
    ]

    def place(i: Item) -> ItemPlan | None:
        report = healths.get((i.channel, str(i.ref)))
        return ItemPlan(health=report) if report is not None else None

    def shown(item: Item) -> Card:
        c = dataclasses.replace(card(item, tz, now, plan=place(item)), channel=item.channel)
        if item.channel in closing:
            c = dataclasses.replace(c, actions=(*c.actions, defer_action(item)))
        return c

    sections = tuple(
        Section(f"{heading} ({len(group)})", cards=tuple(shown(i) for i in group))
        for heading, group in groups
    )
    mine = {id(i) for _, group in groups for i in group}
    blocking = [i for i in items if i.channel in closing and id(i) in mine]
    if blocking:
        lines = tuple(f"{i.ref} {i.title} (in <#{i.channel.channel}>)" for i in blocking)
        sections = (
            Section(
                f"Blocking a close-out ({len(blocking)}): resolve, withdraw or defer each",
                lines,
            ),
            *sections,
        )
    if followed:
        sections += (
            Section(
                f"Stakeholder updates you get ({len(followed)})",
                stakeholder_views.home_lines(followed),
            ),
        )
    total = sum(len(group) for _, group in groups)
    text = (
        f"{total} item{'s' if total != 1 else ''} wait on {mention(user)}."
        if total
        else f"Nothing waits on {mention(user)}. Nice."
    )
    return Reply(text=text, sections=sections)
