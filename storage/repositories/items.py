"""Items: ``bot.ports.ItemRepository`` (numbers, the items themselves, the queries on them).

An item's history (its events) is in :mod:`storage.repositories.history`.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

import psycopg
from sqlalchemy import RowMapping, Select, and_, bindparam, case, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

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
from bot.errors import ChangedMeanwhile
from storage.db import translate_errors
from storage.repositories.common import (
    CHANNEL_KEY_COLUMNS,
    IN_CHUNK,
    channel_filter,
    channel_id_of,
    keyed,
)
from storage.repositories.history import ItemHistory, event_values
from storage.repositories.rows import item_from_row, item_values
from storage.sessions import hot
from storage.tables import channels, item_events, items, ref_counters

__all__ = ["SqlItemRepository"]

# The statements every logged item runs, built once: building an INSERT of 30 columns costs
# more than executing it. Values go in as parameters.
_ADD_ITEM = hot(items.insert().returning(items.c.id))
#: PostgreSQL gave up a lock wait: deadlock_detected, serialization_failure.
_LOST_RACE = frozenset({"40P01", "40001"})
# The nudge bookkeeping writes its two columns only: a whole-row write from the copy the
# nudge was built from would undo a change committed meanwhile.
_RECORD_NUDGE = (
    update(items)
    .where(items.c.id == bindparam("nudged_item_id"))
    .values(
        nudge_count=items.c.nudge_count + bindparam("nudge_step"),
        last_nudged_at=bindparam("nudged_at"),
    )
)


@functools.cache
def _bump_counter(dialect: str) -> Any:
    """``allocate_number``'s upsert for one backend (its ON CONFLICT syntax differs)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = insert(ref_counters).values(
        channel_id=bindparam("counter_channel_id"), kind=bindparam("counter_kind"), last_number=1
    )
    return hot(
        inserted.on_conflict_do_update(
            index_elements=[ref_counters.c.channel_id, ref_counters.c.kind],
            set_={"last_number": ref_counters.c.last_number + 1},
        ).returning(ref_counters.c.last_number)
    )


@functools.cache
def _create_at_once(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the counter's upsert, the item and its first event in one statement
    (data-modifying CTEs), for items with these ``item_values`` columns; returns id, number.

    One round trip instead of three; the counter's row lock is taken first, as before.
    """
    channel_id = bindparam("counter_channel_id", type_=ref_counters.c.channel_id.type)
    counter = (
        _bump_counter("postgresql")
        .values(channel_id=channel_id, kind=bindparam("counter_kind"), last_number=1)
        .cte("counter")
    )
    values = {
        name: bindparam(f"item_{name}", type_=items.c[name].type)
        for name in columns
        if name != "number"
    }
    new_item = (
        items.insert()
        .values(
            channel_id=channel_id,
            number=select(counter.c.last_number).scalar_subquery(),
            **values,
        )
        .returning(items.c.id, items.c.number)
        .cte("new_item")
    )
    first_event = (
        item_events.insert()
        .values(
            item_id=select(new_item.c.id).scalar_subquery(),
            channel_id=channel_id,
            **{
                name: bindparam(f"event_{name}", type_=item_events.c[name].type)
                for name in ("at", "actor", "action", "changes", "note")
            },
        )
        .cte("first_event")
    )
    return select(new_item.c.id, new_item.c.number).add_cte(first_event)


def _active_status_values() -> builtins.list[str]:
    return sorted(status.value for status in ACTIVE_STATUSES)


#: Filters whose SQL is kept: the dashboard and the digest ask the same few dozen each time
#: (heat-map cells, weekly series, status groups), and building their expressions took a
#: third of the overview's time. An ItemFilter is frozen, so it is its own key.
FILTER_CACHE = 1024


@functools.lru_cache(maxsize=FILTER_CACHE)
def _filter_clauses(where: ItemFilter) -> tuple[Any, ...]:
    """``where`` as SQL conditions on ``items`` (see ``ItemFilter.matches``); SQLAlchemy's
    expressions are immutable, so one built once serves every statement that uses it."""
    clauses: builtins.list[Any] = []
    if where.kinds is not None:
        clauses.append(items.c.kind.in_([kind.value for kind in where.kinds]))
    if where.statuses is not None:
        clauses.append(items.c.status.in_([status.value for status in where.statuses]))
    if where.due_before is not None:
        clauses.append(items.c.due_at < where.due_before)
    if where.unowned:
        clauses.append(items.c.owner.is_(None))
    if where.undated:
        clauses.append(items.c.due_at.is_(None))
    if where.min_date_moves:
        clauses.append(items.c.date_moves >= where.min_date_moves)
    if where.created_by is not None:
        clauses.append(items.c.created_at <= where.created_by)
    if where.created_after is not None:
        clauses.append(items.c.created_at > where.created_after)
    if where.likelihood is not None:
        clauses.append(items.c.likelihood == where.likelihood)
    if where.impact is not None:
        clauses.append(items.c.impact == where.impact)
    if where.scored is True:
        clauses.append(and_(items.c.likelihood.is_not(None), items.c.impact.is_not(None)))
    elif where.scored is False:
        clauses.append(or_(items.c.likelihood.is_(None), items.c.impact.is_(None)))
    if where.milestones is not None:
        clauses.append(items.c.milestone.in_(list(where.milestones)))
    return tuple(clauses)


@functools.lru_cache(maxsize=FILTER_CACHE)
def _count_column(where: ItemFilter) -> Any:
    """How many of the channel's items match ``where``, as one column of a counting SELECT."""
    return func.coalesce(func.sum(case((and_(true(), *_filter_clauses(where)), 1), else_=0)), 0)


def _mentions(word: str) -> Any:
    """The item's title, details or one of its history's notes holds ``word``: ignoring case
    (ILIKE on PostgreSQL, lower() LIKE lower() on SQLite), ``%`` and ``_`` taken literally."""
    in_a_note = (
        select(item_events.c.id)
        .where(
            item_events.c.item_id == items.c.id,
            item_events.c.note.icontains(word, autoescape=True),
        )
        .exists()
    )
    return or_(
        items.c.title.icontains(word, autoescape=True),
        items.c.details.icontains(word, autoescape=True),
        in_a_note,
    )


class SqlItemRepository(ItemHistory):
    """``bot.ports.ItemRepository`` on the unit of work's session and transaction.

    Events (an item's history) are read and written by :class:`ItemHistory`.
    """

    @translate_errors
    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        session = self._session
        channel_id = await channel_id_of(session, channel, create=True)
        # One upsert: the first number of a kind inserts the counter at 1, every later one
        # adds 1 to it. Either takes the counter's row lock on PostgreSQL (SQLite holds the
        # whole file since BEGIN IMMEDIATE) until the caller commits, so concurrent callers
        # queue up and each gets its own number. max(number)+1 would hand two the same one.
        bumped = _bump_counter(session.get_bind().dialect.name)
        parameters = {"counter_channel_id": channel_id, "counter_kind": kind.value}
        number: int = (await session.execute(bumped, parameters)).scalar_one()
        return number

    @translate_errors
    async def add(self, item: Item) -> Item:
        if item.id is not None:
            raise ValueError(f"{item.ref} already has id {item.id}; use update()")
        channel_id = await channel_id_of(self._session, item.channel, create=True)
        values = {"channel_id": channel_id, **item_values(item)}
        item_id: int = (await self._session.execute(_ADD_ITEM, values)).scalar_one()
        return replace(item, id=item_id)

    @translate_errors
    async def create(self, item: Item, event: Event) -> Item:
        if item.id is not None:
            raise ValueError(f"{item.ref} already has id {item.id}; use update()")
        session = self._session
        channel_id = cast(int, await channel_id_of(session, item.channel, create=True))
        values = item_values(item)
        recorded = event_values(event)
        if session.get_bind().dialect.name != "postgresql":
            # SQLite has no INSERT in WITH: three statements, all in this process anyway.
            parameters = {"counter_channel_id": channel_id, "counter_kind": item.kind.value}
            bumped = (await session.execute(_bump_counter("sqlite"), parameters)).scalar_one()
            values.update(channel_id=channel_id, number=bumped)
            item_id: int = (await session.execute(_ADD_ITEM, values)).scalar_one()
            stored = replace(item, number=bumped, id=item_id)
            await self._add_event(stored.stored_id, channel_id, recorded, event)
            return stored
        parameters = {
            "counter_channel_id": channel_id,
            "counter_kind": item.kind.value,
            **{f"item_{name}": value for name, value in values.items()},
            **{f"event_{name}": value for name, value in recorded.items()},
        }
        statement = _create_at_once(tuple(values))
        row = (await session.execute(statement, parameters)).one()
        stored = replace(item, number=row.number, id=row.id)
        if event.moves_date:
            await self._count_date_move(stored.stored_id)
        return stored

    @translate_errors
    async def get(
        self, channel: ChannelKey, kind: Kind, number: int, *, lock: bool = False
    ) -> Item | None:
        query = (
            select(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(
                *channel_filter(channel),
                items.c.kind == kind.value,
                items.c.number == number,
            )
        )
        if lock:
            query = query.with_for_update(of=items, key_share=True)
        row = await self._one(query, Ref(kind, number))
        return None if row is None else item_from_row(channel, row)

    async def _one(self, query: Select[Any], ref: Ref) -> RowMapping | None:
        """The one row of ``query``; a lock given up on (deadlock) is a lost race."""
        try:
            row: RowMapping | None = (await self._session.execute(query)).mappings().one_or_none()
            return row
        except DBAPIError as error:
            if isinstance(error.orig, psycopg.Error) and error.orig.sqlstate in _LOST_RACE:
                raise ChangedMeanwhile(ref) from error
            raise

    @translate_errors
    async def update(self, item: Item) -> None:
        if item.id is None:
            raise ValueError(f"{item.ref} has no id; add() it first")
        values = item_values(item)
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
    async def save_change(self, old: Item, new: Item) -> None:
        if old.id is None or new.id != old.id or new.ref != old.ref:
            raise ValueError(f"{new.ref} (id {new.id}) is not a change of {old.ref} ({old.id})")
        # Held until commit: already so when the caller loaded the item with lock=True.
        query = select(items).where(items.c.id == old.id).with_for_update(key_share=True)
        row = await self._one(query, old.ref)
        if row is None:
            raise LookupError(f"no stored item {old.ref} with id {old.id}")
        if replace(item_from_row(old.channel, row), date_moves=old.date_moves) != old:
            raise ChangedMeanwhile(old.ref)
        before, after = item_values(old), item_values(new)
        changed = {column: value for column, value in after.items() if before[column] != value}
        if changed:
            await self._session.execute(update(items).where(items.c.id == old.id).values(**changed))

    @translate_errors
    async def record_nudge(self, item_id: int, at: datetime, *, counted: bool = True) -> None:
        await self._session.execute(
            _RECORD_NUDGE,
            {"nudged_item_id": item_id, "nudged_at": at, "nudge_step": 1 if counted else 0},
        )

    @translate_errors
    async def list(
        self,
        channel: ChannelKey,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
    ) -> builtins.list[Item]:
        where = ItemFilter(
            kinds=None if kinds is None else tuple(kinds),
            statuses=None if statuses is None else tuple(statuses),
        )
        return await self.find(channel, where)

    @translate_errors
    async def active_in_workspace(self, platform: str, workspace: str) -> builtins.list[Item]:
        query = (
            select(items, channels.c.external_id.label("channel_external_id"))
            .join(channels, channels.c.id == items.c.channel_id)
            .where(
                channels.c.platform == platform,
                channels.c.workspace == workspace,
                items.c.status.in_(_active_status_values()),
            )
            .order_by(items.c.created_at, items.c.number, items.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            item_from_row(ChannelKey(platform, workspace, row["channel_external_id"]), row)
            for row in rows
        ]

    def _matching(self, channel: ChannelKey, where: ItemFilter) -> Select[Any]:
        query = (
            select(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*channel_filter(channel))
        )
        return query.where(*_filter_clauses(where))

    @translate_errors
    async def by_ids(self, channel: ChannelKey, ids: Sequence[int]) -> builtins.list[Item]:
        found: builtins.list[Item] = []
        wanted = builtins.list(ids)
        for start in range(0, len(wanted), IN_CHUNK):
            query = self._matching(channel, ItemFilter()).where(
                items.c.id.in_(wanted[start : start + IN_CHUNK])
            )
            rows = (await self._session.execute(query)).mappings().all()
            found.extend(item_from_row(channel, row) for row in rows)
        return found

    @translate_errors
    async def find(
        self,
        channel: ChannelKey,
        where: ItemFilter,
        *,
        order: ItemOrder = ItemOrder.CREATED,
        limit: int | None = None,
    ) -> builtins.list[Item]:
        query = self._matching(channel, where)
        oldest_first = (items.c.created_at, items.c.number, items.c.id)
        if order is ItemOrder.SCORE:
            score = items.c.likelihood * items.c.impact
            # Unscored risks last on both backends (PostgreSQL sorts NULL first when DESC).
            query = query.order_by(score.is_(None), score.desc(), *oldest_first)
        elif order is ItemOrder.RECENT:
            query = query.order_by(*(column.desc() for column in oldest_first))
        else:
            query = query.order_by(*oldest_first)
        if limit is not None:
            query = query.limit(limit)
        rows = (await self._session.execute(query)).mappings().all()
        return [item_from_row(channel, row) for row in rows]

    @translate_errors
    async def search(
        self, channel: ChannelKey, words: Sequence[str], *, limit: int | None = None
    ) -> builtins.list[Item]:
        query = self._matching(channel, ItemFilter()).where(*(_mentions(w) for w in words))
        closed = case((items.c.status.in_(_active_status_values()), 0), else_=1)
        query = query.order_by(closed, items.c.created_at.desc(), items.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = (await self._session.execute(query)).mappings().all()
        return [item_from_row(channel, row) for row in rows]

    @translate_errors
    async def counts(self, channel: ChannelKey, wheres: Sequence[ItemFilter]) -> builtins.list[int]:
        # One pass over the channel's items however many counts are asked for; a filter
        # asked twice is counted once.
        unique = builtins.list(dict.fromkeys(wheres))
        query = (
            select(*(_count_column(w) for w in unique))
            .select_from(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*channel_filter(channel))
        )
        row = (await self._session.execute(query)).one()
        counted = {w: int(value) for w, value in zip(unique, row, strict=True)}
        return [counted[w] for w in wheres]

    @translate_errors
    async def owner_counts(
        self, channel: ChannelKey, where: ItemFilter, *, at_least: int = 1
    ) -> builtins.list[tuple[str, int]]:
        owned = func.count().label("owned")
        query = (
            select(items.c.owner, owned)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*channel_filter(channel), *_filter_clauses(where), items.c.owner.is_not(None))
            .group_by(items.c.owner)
            .having(func.count() >= at_least)
            .order_by(owned.desc(), items.c.owner)
        )
        return [(row.owner, row.owned) for row in await self._session.execute(query)]

    @translate_errors
    async def nudge_candidates(
        self,
        now: datetime,
        *,
        unowned_before: datetime,
        waiting_before: datetime,
        nudged_before: datetime,
    ) -> builtins.list[Item]:
        kind, status = items.c.kind, items.c.status
        past_due = and_(items.c.due_at.is_not(None), items.c.due_at < now)
        # One branch per nudge reason, each on (status, due_at) or (status, created_at).
        reasons = or_(
            and_(kind == Kind.BLOCKER.value, items.c.owner.is_not(None), past_due),
            and_(
                kind == Kind.BLOCKER.value,
                items.c.owner.is_(None),
                items.c.created_at <= unowned_before,
            ),
            and_(kind == Kind.DECISION.value, status == Status.PENDING.value, past_due),
            and_(
                kind == Kind.CHANGE.value,
                status == Status.PROPOSED.value,
                items.c.created_at <= waiting_before,
            ),
            and_(kind == Kind.RISK.value, past_due),
        )
        query = (
            select(items, *CHANNEL_KEY_COLUMNS)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(
                channels.c.nudges_enabled.is_(True),
                status.in_(_active_status_values()),
                or_(items.c.snoozed_until.is_(None), items.c.snoozed_until <= now),
                or_(items.c.last_nudged_at.is_(None), items.c.last_nudged_at < nudged_before),
                reasons,
            )
            .order_by(items.c.channel_id, items.c.created_at, items.c.number, items.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [item_from_row(keyed(self._session, row), row) for row in rows]
