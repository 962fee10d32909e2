"""The calendar feed: personal links (``/raid calendar``) and what a feed holds.

A link carries a random token (``secrets.token_urlsafe``); only its SHA-256 is stored, so the
database never holds a working link. Each ``/raid calendar`` makes a new token beside the
person's earlier ones (a stored hash cannot be shown again); ``reset`` revokes them all first.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from bot.domain.model import (
    CalendarToken,
    ChannelKey,
    Item,
    Kind,
    Schedule,
    Status,
)
from bot.errors import UsageError
from bot.ports import UnitOfWork
from bot.services.items import Context

#: Random bytes in a token: ``token_urlsafe(32)`` is 43 characters, 256 bits.
TOKEN_BYTES = 32
#: Working links one person may hold for one channel at a time (``reset`` starts again).
MAX_ACTIVE_LINKS = 10
#: What a token looks like; anything else is refused before the database is asked.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,64}")

#: The dated items a feed shows, by kind: the states in which their date still matters.
FEED_STATUSES: dict[Kind, Status] = {
    Kind.BLOCKER: Status.OPEN,  # due date
    Kind.RISK: Status.OPEN,  # next review
    Kind.DECISION: Status.PENDING,  # decide by
}


def token_hash(token: str) -> str:
    """The SHA-256 of a token, hex: what is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    """A new token (shown once) and how many earlier ones ``reset`` revoked."""

    token: str
    revoked: int = 0


async def issue_link(ctx: Context, *, reset: bool) -> IssuedLink:
    """A new calendar token for the requester in this channel; with ``reset`` their earlier
    tokens stop working first. Refused past :data:`MAX_ACTIVE_LINKS` working links."""
    revoked = 0
    if reset:
        revoked = await ctx.uow.calendars.revoke(ctx.channel, ctx.user, ctx.now)
    elif await ctx.uow.calendars.active_count(ctx.channel, ctx.user) >= MAX_ACTIVE_LINKS:
        raise UsageError(
            f"You already have {MAX_ACTIVE_LINKS} working calendar links for this channel. "
            "`/raid calendar reset` turns them all off and gives you a new one."
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await ctx.uow.calendars.add(
        CalendarToken(
            channel=ctx.channel,
            user=ctx.user,
            token_hash=token_hash(token),
            created_at=ctx.now,
            channel_name=ctx.channel_name,
        )
    )
    return IssuedLink(token, revoked)


@dataclass(frozen=True)
class Feed:
    """What one calendar feed shows: one channel's dated items and its schedules."""

    channel: ChannelKey
    #: the channel's name when the link was made, else None (its id is shown)
    channel_name: str | None
    #: the channel's time zone (or raidline's default)
    timezone: str
    #: open blockers, open risks and pending decisions that have a date, oldest first
    items: tuple[Item, ...]
    #: the standup and digest schedules that are on
    schedules: tuple[Schedule, ...]


async def feed(uow: UnitOfWork, token: str, default_timezone: str) -> Feed | None:
    """The feed of ``token``; None for a token that is malformed, unknown or revoked (the
    caller answers all three alike)."""
    if not _TOKEN_RE.fullmatch(token):
        return None
    found = await uow.calendars.find(token_hash(token))
    if found is None:
        return None
    channel = found.channel
    settings = await uow.channels.get_settings(channel)
    listed = await uow.items.list(
        channel, kinds=tuple(FEED_STATUSES), statuses=set(FEED_STATUSES.values())
    )
    items = tuple(
        i for i in listed if i.due_at is not None and FEED_STATUSES.get(i.kind) is i.status
    )
    schedules: list[Schedule] = [
        s
        for s in await uow.schedules.of_channel(channel)  # named standups too
        if s.enabled and s.at and s.days
    ]
    return Feed(
        channel=channel,
        channel_name=found.channel_name,
        timezone=settings.timezone or default_timezone,
        items=items,
        schedules=tuple(schedules),
    )


__all__ = [
    "FEED_STATUSES",
    "MAX_ACTIVE_LINKS",
    "TOKEN_BYTES",
    "Feed",
    "IssuedLink",
    "feed",
    "issue_link",
    "token_hash",
]
