"""Item history: the events of ``bot.ports.ItemRepository``.

Every change of an item is an event written in the same transaction; digests read the events
since their last run, ``/raid history`` and exports read an item's whole list.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, or_, select, text, update

from bot.domain.model import ChannelKey, Event, Item
from storage.db import translate_errors
from storage.repositories.common import IN_CHUNK, SessionRepository, channel_id_of
from storage.repositories.rows import event_from_row, item_from_row
from storage.sessions import hot
from storage.tables import QUIET_CONDITION, item_events, items

__all__ = ["ItemHistory", "event_values"]

# The event's channel is its item's, looked up in the same statement.
_ADD_EVENT = item_events.insert().values(
    channel_id=select(items.c.channel_id)
    .where(items.c.id == bindparam("event_item_id"))
    .scalar_subquery()
)
# The same, for a caller who knows the channel.
_ADD_EVENT_IN = hot(item_events.insert())
_BUMP_DATE_MOVES = (
    update(items)
    .where(items.c.id == bindparam("moved_item_id"))
    .values(date_moves=items.c.date_moves + 1)
)


def event_values(event: Event) -> dict[str, Any]:
    """An event's stored columns, but for its item and channel."""
    return {
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "changes": [
            {"field": change.field, "old": change.old, "new": change.new}
            for change in event.changes
        ],
        "note": event.note,
    }


class ItemHistory(SessionRepository):
    """The event half of ``bot.ports.ItemRepository`` (see ``SqlItemRepository``)."""

    @translate_errors
    async def events_since(
        self, channel: ChannelKey, since: datetime
    ) -> builtins.list[tuple[Item, Event]]:
        channel_id = await channel_id_of(self._session, channel, create=False)
        if channel_id is None:
            return []
        query = (
            select(
                items,
                item_events.c.at.label("event_at"),
                item_events.c.actor.label("event_actor"),
                item_events.c.action.label("event_action"),
                item_events.c.changes.label("event_changes"),
                item_events.c.note.label("event_note"),
            )
            .join(items, items.c.id == item_events.c.item_id)
            # (channel_id, at): the recent events only, however long the history.
            .where(item_events.c.channel_id == channel_id, item_events.c.at > since)
            # Events with the same timestamp stay in the order they were written.
            .order_by(item_events.c.at, item_events.c.id)
        )
        found: builtins.list[tuple[Item, Event]] = []
        by_id: dict[int, Item] = {}
        for row in (await self._session.execute(query)).mappings():
            item = by_id.get(row["id"])
            if item is None:
                item = by_id[row["id"]] = item_from_row(channel, row)
            found.append((item, event_from_row(row, prefix="event_")))
        return found

    @translate_errors
    async def field_changes_since(
        self, channel: ChannelKey, since: datetime, fields: Sequence[str]
    ) -> builtins.list[tuple[int, Event]]:
        channel_id = await channel_id_of(self._session, channel, create=False)
        if channel_id is None or not fields:
            return []
        as_text = cast(item_events.c.changes, Text)
        query = (
            select(item_events)
            .where(
                item_events.c.channel_id == channel_id,
                item_events.c.at > since,
                # the partial index ix_item_events_channel_id_at_changes: no notes, re-datings
                # or snoozes (they change no status or owner)
                text(QUIET_CONDITION),
                # a cheap sieve in the database; the exact test on the decoded changes below
                or_(*(as_text.contains(f'"{name}"', autoescape=True) for name in fields)),
            )
            .order_by(item_events.c.at, item_events.c.id)
        )
        found: builtins.list[tuple[int, Event]] = []
        for row in (await self._session.execute(query)).mappings():
            event = event_from_row(row)
            if any(change.field in fields for change in event.changes):
                found.append((row["item_id"], event))
        return found

    @translate_errors
    async def add_event(self, item_id: int, event: Event) -> None:
        values = {"event_item_id": item_id, "item_id": item_id, **event_values(event)}
        await self._session.execute(_ADD_EVENT, values)
        if event.moves_date:
            await self._count_date_move(item_id)

    async def _add_event(
        self, item_id: int, channel_id: int, values: dict[str, Any], event: Event
    ) -> None:
        """``add_event`` for an item whose channel id is known (no look-up in the insert)."""
        await self._session.execute(
            _ADD_EVENT_IN, {"item_id": item_id, "channel_id": channel_id, **values}
        )
        if event.moves_date:
            await self._count_date_move(item_id)

    async def _count_date_move(self, item_id: int) -> None:
        await self._session.execute(_BUMP_DATE_MOVES, {"moved_item_id": item_id})

    @translate_errors
    async def events(self, item_ids: Sequence[int]) -> dict[int, builtins.list[Event]]:
        result: dict[int, builtins.list[Event]] = {item_id: [] for item_id in item_ids}
        wanted = builtins.list(result)
        for start in range(0, len(wanted), IN_CHUNK):
            query = (
                select(item_events)
                .where(item_events.c.item_id.in_(wanted[start : start + IN_CHUNK]))
                .order_by(item_events.c.item_id, item_events.c.id)
            )
            for row in (await self._session.execute(query)).mappings():
                result[row["item_id"]].append(event_from_row(row))
        return result
