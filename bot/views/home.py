"""App Home: what waits on one person across channels, with each item's buttons."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.model import ChannelKey, Item, Kind, Status
from bot.messages import Reply, Section
from bot.text.parsing import mention
from bot.views import stakeholders as stakeholder_views
from bot.views.items import card


def home(
    items: list[Item],
    user: str,
    tz: str,
    now: datetime,
    followed: Sequence[tuple[ChannelKey, tuple[str, ...]]] = (),
) -> Reply:
    """What waits on one person across channels, with each item's buttons; and the
    channels whose stakeholder updates they get (``followed``: channel, levels)."""
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
    ]
    sections = tuple(
        Section(
            f"{heading} ({len(group)})",
            cards=tuple(dataclasses.replace(card(i, tz, now), channel=i.channel) for i in group),
        )
        for heading, group in groups
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
