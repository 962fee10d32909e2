"""SQL implementations of ``bot.ports.ItemRepository`` and ``ChannelRepository``.

The only place in raidline that speaks SQL. Rows become the core's frozen dataclasses here
and nowhere else. Statements are Core statements executed through the unit of work's
session, so no ORM identity map can hand back stale objects after an update.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.model import (
    ACTIVE_STATUSES,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Status,
)
from storage.db import translate_errors
from storage.tables import channels, item_events, items, ref_counters

__all__ = ["SqlChannelRepository", "SqlItemRepository"]

# Well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
_IN_CHUNK = 500


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows ``ON CONFLICT DO NOTHING`` for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _channel_filter(key: ChannelKey) -> tuple[Any, ...]:
    return (
        channels.c.platform == key.platform,
        channels.c.workspace == key.workspace,
        channels.c.external_id == key.channel,
    )


async def _channel_id(session: AsyncSession, key: ChannelKey, *, create: bool) -> int | None:
    """The channel's row id; with ``create``, the row is made if missing, race-free."""
    lookup = select(channels.c.id).where(*_channel_filter(key))
    found = (await session.execute(lookup)).scalar_one_or_none()
    if found is not None or not create:
        return found
    # A concurrent creator wins or loses the unique constraint without an error; either way
    # the row exists afterwards (on PostgreSQL the loser waits for the winner's commit).
    await session.execute(
        _insert(session, channels)
        .values(
            platform=key.platform,
            workspace=key.workspace,
            external_id=key.channel,
            leads=[],
            nudges_enabled=True,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(
            index_elements=[channels.c.platform, channels.c.workspace, channels.c.external_id]
        )
    )
    created: int = (await session.execute(lookup)).scalar_one()
    return created


def _item_values(item: Item) -> dict[str, Any]:
    """Every stored field of an item except its identity (channel, id)."""
    return {
        "kind": item.kind.value,
        "number": item.number,
        "status": item.status.value,
        "title": item.title,
        "details": item.details,
        "reporter": item.reporter,
        "owner": item.owner,
        "due_at": item.due_at,
        "waiting_on": item.waiting_on,
        "resolution": item.resolution,
        "likelihood": item.likelihood,
        "impact": item.impact,
        "response": item.response,
        "mitigation": item.mitigation,
        "outcome": item.outcome,
        "rationale": item.rationale,
        "impacts": dict(item.impacts),
        "approvers": list(item.approvers),
        "decision_note": item.decision_note,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "linked_ref": item.linked_ref,
        "source_url": item.source_url,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _to_item(channel: ChannelKey, row: RowMapping) -> Item:
    impacts: Mapping[str, str] = dict(row["impacts"] or {})
    return Item(
        id=row["id"],
        channel=channel,
        kind=Kind(row["kind"]),
        number=row["number"],
        status=Status(row["status"]),
        title=row["title"],
        details=row["details"],
        reporter=row["reporter"],
        owner=row["owner"],
        due_at=row["due_at"],
        waiting_on=row["waiting_on"],
        resolution=row["resolution"],
        likelihood=row["likelihood"],
        impact=row["impact"],
        response=row["response"],
        mitigation=row["mitigation"],
        outcome=row["outcome"],
        rationale=row["rationale"],
        impacts=impacts,
        approvers=tuple(row["approvers"] or ()),
        decision_note=row["decision_note"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        linked_ref=row["linked_ref"],
        source_url=row["source_url"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _to_event(row: RowMapping) -> Event:
    changes = tuple(
        Change(field=change["field"], old=change.get("old"), new=change.get("new"))
        for change in row["changes"] or ()
    )
    return Event(
        at=row["at"], actor=row["actor"], action=row["action"], changes=changes, note=row["note"]
    )


class SqlItemRepository:
    """``bot.ports.ItemRepository`` on the unit of work's session and transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @translate_errors
    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        session = self._session
        channel_id = await _channel_id(session, channel, create=True)
        await session.execute(
            _insert(session, ref_counters)
            .values(channel_id=channel_id, kind=kind.value, last_number=0)
            .on_conflict_do_nothing(index_elements=[ref_counters.c.channel_id, ref_counters.c.kind])
        )
        # The UPDATE takes the counter's row lock on PostgreSQL (SQLite holds the whole file
        # since BEGIN IMMEDIATE) until the caller commits, so concurrent callers queue up and
        # each gets its own number. max(number)+1 would hand two of them the same one.
        bumped = (
            update(ref_counters)
            .where(ref_counters.c.channel_id == channel_id, ref_counters.c.kind == kind.value)
            .values(last_number=ref_counters.c.last_number + 1)
            .returning(ref_counters.c.last_number)
        )
        number: int = (await session.execute(bumped)).scalar_one()
        return number

    @translate_errors
    async def add(self, item: Item) -> Item:
        if item.id is not None:
            raise ValueError(f"{item.ref} already has id {item.id}; use update()")
        channel_id = await _channel_id(self._session, item.channel, create=True)
        inserted = (
            _insert(self._session, items)
            .values(channel_id=channel_id, **_item_values(item))
            .returning(items.c.id)
        )
        item_id: int = (await self._session.execute(inserted)).scalar_one()
        return replace(item, id=item_id)

    @translate_errors
    async def get(self, channel: ChannelKey, kind: Kind, number: int) -> Item | None:
        query = (
            select(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(
                *_channel_filter(channel),
                items.c.kind == kind.value,
                items.c.number == number,
            )
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else _to_item(channel, row)

    @translate_errors
    async def update(self, item: Item) -> None:
        if item.id is None:
            raise ValueError(f"{item.ref} has no id; add() it first")
        values = _item_values(item)
        # Kind and number make the ref, which never changes; refusing to rewrite them keeps
        # a stale or mistaken Item from taking another item's place.
        del values["kind"], values["number"]
        statement = (
            update(items)
            .where(
                items.c.id == item.id,
                items.c.kind == item.kind.value,
                items.c.number == item.number,
            )
            .values(**values)
            .returning(items.c.id)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            raise LookupError(f"no stored item {item.ref} with id {item.id}")

    @translate_errors
    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> builtins.list[Item]:
        query = (
            select(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*_channel_filter(channel))
            .order_by(items.c.created_at, items.c.number, items.c.id)
        )
        if kinds is not None:
            query = query.where(items.c.kind.in_([kind.value for kind in kinds]))
        if statuses is not None:
            query = query.where(items.c.status.in_([status.value for status in statuses]))
        rows = (await self._session.execute(query)).mappings().all()
        return [_to_item(channel, row) for row in rows]

    @translate_errors
    async def active_in_workspace(self, platform: str, workspace: str) -> builtins.list[Item]:
        query = (
            select(items, channels.c.external_id.label("channel_external_id"))
            .join(channels, channels.c.id == items.c.channel_id)
            .where(
                channels.c.platform == platform,
                channels.c.workspace == workspace,
                items.c.status.in_(sorted(status.value for status in ACTIVE_STATUSES)),
            )
            .order_by(items.c.created_at, items.c.number, items.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            _to_item(ChannelKey(platform, workspace, row["channel_external_id"]), row)
            for row in rows
        ]

    @translate_errors
    async def add_event(self, item_id: int, event: Event) -> None:
        await self._session.execute(
            item_events.insert().values(
                item_id=item_id,
                at=event.at,
                actor=event.actor,
                action=event.action,
                changes=[
                    {"field": change.field, "old": change.old, "new": change.new}
                    for change in event.changes
                ],
                note=event.note,
            )
        )

    @translate_errors
    async def events(self, item_ids: Sequence[int]) -> dict[int, builtins.list[Event]]:
        result: dict[int, builtins.list[Event]] = {item_id: [] for item_id in item_ids}
        wanted = builtins.list(result)
        for start in range(0, len(wanted), _IN_CHUNK):
            query = (
                select(item_events)
                .where(item_events.c.item_id.in_(wanted[start : start + _IN_CHUNK]))
                .order_by(item_events.c.item_id, item_events.c.id)
            )
            for row in (await self._session.execute(query)).mappings():
                result[row["item_id"]].append(_to_event(row))
        return result


class SqlChannelRepository:
    """``bot.ports.ChannelRepository`` on the unit of work's session and transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @translate_errors
    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        query = select(channels.c.timezone, channels.c.leads, channels.c.nudges_enabled).where(
            *_channel_filter(channel)
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        if row is None:
            return ChannelSettings(channel=channel)
        return ChannelSettings(
            channel=channel,
            timezone=row["timezone"],
            leads=tuple(row["leads"] or ()),
            nudges_enabled=bool(row["nudges_enabled"]),
        )

    @translate_errors
    async def save_settings(self, settings: ChannelSettings) -> None:
        channel_id = await _channel_id(self._session, settings.channel, create=True)
        await self._session.execute(
            update(channels)
            .where(channels.c.id == channel_id)
            .values(
                timezone=settings.timezone,
                leads=list(settings.leads),
                nudges_enabled=settings.nudges_enabled,
            )
        )

    @translate_errors
    async def channels(self) -> list[ChannelKey]:
        query = select(channels.c.platform, channels.c.workspace, channels.c.external_id)
        rows = (await self._session.execute(query)).all()
        # Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order disagree.
        return sorted(
            ChannelKey(platform, workspace, external_id)
            for platform, workspace, external_id in rows
        )
