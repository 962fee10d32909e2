"""SQL implementations of ``bot.ports.ItemRepository``, ``ChannelRepository`` and
``ScheduleRepository``.

The only place in raidline that speaks SQL. Rows become the core's frozen dataclasses here
and nowhere else. Statements are Core statements executed through the unit of work's
session, so no ORM identity map can hand back stale objects after an update.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    RowMapping,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.model import (
    ACTIVE_STATUSES,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    ItemFilter,
    ItemOrder,
    Kind,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
    Standup,
    StandupAnswer,
    Status,
)
from storage.db import translate_errors
from storage.tables import (
    channels,
    item_events,
    items,
    ref_counters,
    runs,
    schedules,
    standup_answers,
    standups,
)

__all__ = ["SqlChannelRepository", "SqlItemRepository", "SqlScheduleRepository"]

# Well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
_IN_CHUNK = 500
#: Where a session remembers channel ids (see :func:`_channel_id`).
CHANNEL_IDS = "raidline_channel_ids"
#: Runs per multi-row INSERT: 11 columns each stays far below SQLite's parameter limit.
_RUN_CHUNK = 500


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows ``ON CONFLICT DO NOTHING`` for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# The statements every logged item runs, built once: building an INSERT of 30 columns costs
# more than executing it. Values go in as parameters.
_ADD_ITEM = items.insert().returning(items.c.id)
# The event's channel is its item's, looked up in the same statement.
_ADD_EVENT = item_events.insert().values(
    channel_id=select(items.c.channel_id)
    .where(items.c.id == bindparam("event_item_id"))
    .scalar_subquery()
)
_BUMP_DATE_MOVES = (
    update(items)
    .where(items.c.id == bindparam("moved_item_id"))
    .values(date_moves=items.c.date_moves + 1)
)


@functools.cache
def _bump_counter(dialect: str) -> Any:
    """``allocate_number``'s upsert for one backend (its ON CONFLICT syntax differs)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = insert(ref_counters).values(
        channel_id=bindparam("counter_channel_id"), kind=bindparam("counter_kind"), last_number=1
    )
    return inserted.on_conflict_do_update(
        index_elements=[ref_counters.c.channel_id, ref_counters.c.kind],
        set_={"last_number": ref_counters.c.last_number + 1},
    ).returning(ref_counters.c.last_number)


# A channel by its key, with the key as parameters: every command looks its channel up.
_KEY_MATCHES = (
    channels.c.platform == bindparam("key_platform"),
    channels.c.workspace == bindparam("key_workspace"),
    channels.c.external_id == bindparam("key_channel"),
)
_CHANNEL_ID = select(channels.c.id).where(*_KEY_MATCHES)
_SETTINGS = select(
    channels.c.id,
    channels.c.timezone,
    channels.c.leads,
    channels.c.nudges_enabled,
    channels.c.work_days,
    channels.c.work_start,
    channels.c.work_end,
    channels.c.last_digest_at,
).where(*_KEY_MATCHES)


def _key_parameters(key: ChannelKey) -> dict[str, str]:
    return {
        "key_platform": key.platform,
        "key_workspace": key.workspace,
        "key_channel": key.channel,
    }


# The channel's key next to another table's columns, under names no table uses.
_CHANNEL_KEY_COLUMNS = (
    channels.c.platform.label("channel_platform"),
    channels.c.workspace.label("channel_workspace"),
    channels.c.external_id.label("channel_external_id"),
)


def _channel_key(row: RowMapping) -> ChannelKey:
    return ChannelKey(row["channel_platform"], row["channel_workspace"], row["channel_external_id"])


def _active_status_values() -> builtins.list[str]:
    return sorted(status.value for status in ACTIVE_STATUSES)


def _channel_filter(key: ChannelKey) -> tuple[Any, ...]:
    return (
        channels.c.platform == key.platform,
        channels.c.workspace == key.workspace,
        channels.c.external_id == key.channel,
    )


def _known_channels(session: AsyncSession) -> dict[ChannelKey, int]:
    known: dict[ChannelKey, int] = session.info.setdefault(CHANNEL_IDS, {})
    return known


def _keyed(session: AsyncSession, row: RowMapping) -> ChannelKey:
    """The channel key of a row read with its channel (:func:`_with_channel`), its id
    remembered for the rest of the unit of work (see :func:`_channel_id`)."""
    key = _channel_key(row)
    _known_channels(session)[key] = row["channel_id"]
    return key


async def _channel_id(session: AsyncSession, key: ChannelKey, *, create: bool) -> int | None:
    """The channel's row id; with ``create``, the row is made if missing, race-free.

    Remembered for the rest of the session (one unit of work): a channel's id never changes,
    and a row made here goes away only with the transaction, and the session with it.
    """
    known = _known_channels(session)
    if key in known:
        return known[key]
    found = (await session.execute(_CHANNEL_ID, _key_parameters(key))).scalar_one_or_none()
    if found is not None:
        known[key] = found
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
    created: int = (await session.execute(_CHANNEL_ID, _key_parameters(key))).scalar_one()
    known[key] = created
    return created


def _item_values(item: Item) -> dict[str, Any]:
    """Every stored field of an item except its identity (channel, id) and what storage keeps
    itself (``date_moves``, counted by ``add_event``)."""
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
        "nudge_count": item.nudge_count,
        "last_nudged_at": item.last_nudged_at,
        "snoozed_until": item.snoozed_until,
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
        nudge_count=row["nudge_count"],
        last_nudged_at=row["last_nudged_at"],
        snoozed_until=row["snoozed_until"],
        date_moves=row["date_moves"],
    )


def _filter_clauses(where: ItemFilter) -> builtins.list[Any]:
    """``where`` as SQL conditions on ``items`` (see ``ItemFilter.matches``)."""
    clauses: builtins.list[Any] = []
    if where.kinds is not None:
        clauses.append(items.c.kind.in_([kind.value for kind in where.kinds]))
    if where.statuses is not None:
        clauses.append(items.c.status.in_([status.value for status in where.statuses]))
    if where.due_before is not None:
        clauses.append(items.c.due_at < where.due_before)
    if where.unowned:
        clauses.append(items.c.owner.is_(None))
    if where.min_date_moves:
        clauses.append(items.c.date_moves >= where.min_date_moves)
    return clauses


def _to_event(row: RowMapping, prefix: str = "") -> Event:
    """An event from ``item_events`` columns, named ``<prefix><column>`` in ``row``."""
    changes = tuple(
        Change(field=change["field"], old=change.get("old"), new=change.get("new"))
        for change in row[prefix + "changes"] or ()
    )
    return Event(
        at=row[prefix + "at"],
        actor=row[prefix + "actor"],
        action=row[prefix + "action"],
        changes=changes,
        note=row[prefix + "note"],
    )


class SqlItemRepository:
    """``bot.ports.ItemRepository`` on the unit of work's session and transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @translate_errors
    async def allocate_number(self, channel: ChannelKey, kind: Kind) -> int:
        session = self._session
        channel_id = await _channel_id(session, channel, create=True)
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
        channel_id = await _channel_id(self._session, item.channel, create=True)
        values = {"channel_id": channel_id, **_item_values(item)}
        item_id: int = (await self._session.execute(_ADD_ITEM, values)).scalar_one()
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
            _to_item(ChannelKey(platform, workspace, row["channel_external_id"]), row)
            for row in rows
        ]

    def _matching(self, channel: ChannelKey, where: ItemFilter) -> Select[Any]:
        query = (
            select(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*_channel_filter(channel))
        )
        return query.where(*_filter_clauses(where))

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
        else:
            query = query.order_by(*oldest_first)
        if limit is not None:
            query = query.limit(limit)
        rows = (await self._session.execute(query)).mappings().all()
        return [_to_item(channel, row) for row in rows]

    @translate_errors
    async def counts(self, channel: ChannelKey, wheres: Sequence[ItemFilter]) -> builtins.list[int]:
        # One pass over the channel's items however many counts are asked for.
        columns = [
            func.coalesce(func.sum(case((and_(true(), *_filter_clauses(w)), 1), else_=0)), 0)
            for w in wheres
        ]
        query = (
            select(*columns)
            .select_from(items)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*_channel_filter(channel))
        )
        row = (await self._session.execute(query)).one()
        return [int(value) for value in row]

    @translate_errors
    async def owner_counts(
        self, channel: ChannelKey, where: ItemFilter, *, at_least: int = 1
    ) -> builtins.list[tuple[str, int]]:
        owned = func.count().label("owned")
        query = (
            select(items.c.owner, owned)
            .join(channels, channels.c.id == items.c.channel_id)
            .where(*_channel_filter(channel), *_filter_clauses(where), items.c.owner.is_not(None))
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
            select(items, *_CHANNEL_KEY_COLUMNS)
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
        return [_to_item(_keyed(self._session, row), row) for row in rows]

    @translate_errors
    async def events_since(
        self, channel: ChannelKey, since: datetime
    ) -> builtins.list[tuple[Item, Event]]:
        channel_id = await _channel_id(self._session, channel, create=False)
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
                item = by_id[row["id"]] = _to_item(channel, row)
            found.append((item, _to_event(row, prefix="event_")))
        return found

    @translate_errors
    async def add_event(self, item_id: int, event: Event) -> None:
        await self._session.execute(
            _ADD_EVENT,
            {
                "event_item_id": item_id,
                "item_id": item_id,
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "changes": [
                    {"field": change.field, "old": change.old, "new": change.new}
                    for change in event.changes
                ],
                "note": event.note,
            },
        )
        if event.moves_date:
            await self._session.execute(_BUMP_DATE_MOVES, {"moved_item_id": item_id})

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


def _to_settings(channel: ChannelKey, row: RowMapping) -> ChannelSettings:
    return ChannelSettings(
        channel=channel,
        timezone=row["timezone"],
        leads=tuple(row["leads"] or ()),
        nudges_enabled=bool(row["nudges_enabled"]),
        work_days=tuple(row["work_days"]),
        work_start=row["work_start"],
        work_end=row["work_end"],
        last_digest_at=row["last_digest_at"],
    )


class SqlChannelRepository:
    """``bot.ports.ChannelRepository`` on the unit of work's session and transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @translate_errors
    async def get_settings(self, channel: ChannelKey) -> ChannelSettings:
        found = await self._session.execute(_SETTINGS, _key_parameters(channel))
        row = found.mappings().one_or_none()
        if row is None:
            return ChannelSettings(channel=channel)
        _known_channels(self._session)[channel] = row["id"]  # the command's writes need it
        return _to_settings(channel, row)

    @translate_errors
    async def settings_of(self, keys: Iterable[ChannelKey]) -> dict[ChannelKey, ChannelSettings]:
        wanted = builtins.list(dict.fromkeys(keys))
        found = {key: ChannelSettings(channel=key) for key in wanted}
        key_columns = tuple_(channels.c.platform, channels.c.workspace, channels.c.external_id)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = [
                (k.platform, k.workspace, k.channel) for k in wanted[start : start + _IN_CHUNK]
            ]
            query = select(channels, *_CHANNEL_KEY_COLUMNS).where(key_columns.in_(chunk))
            for row in (await self._session.execute(query)).mappings():
                found[_channel_key(row)] = _to_settings(_channel_key(row), row)
        return found

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
                work_days=list(settings.work_days),
                work_start=settings.work_start,
                work_end=settings.work_end,
                last_digest_at=settings.last_digest_at,
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


def _schedule_values(schedule: Schedule) -> dict[str, Any]:
    """Every stored field of a schedule except its identity (id, channel, kind)."""
    return {
        "days": list(schedule.days),
        "at": schedule.at,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "next_run_at": schedule.next_run_at,
        "questions": list(schedule.questions),
        "members": list(schedule.members),
        "window_minutes": schedule.window_minutes,
        "mode": schedule.mode,
        "skip_dates": list(schedule.skip_dates),
        "away": dict(schedule.away),
    }


def _to_schedule(channel: ChannelKey, row: RowMapping) -> Schedule:
    return Schedule(
        id=row["id"],
        channel=channel,
        kind=ScheduleKind(row["kind"]),
        days=tuple(row["days"] or ()),
        at=row["at"],
        timezone=row["timezone"],
        enabled=bool(row["enabled"]),
        next_run_at=row["next_run_at"],
        questions=tuple(row["questions"] or ()),
        members=tuple(row["members"] or ()),
        window_minutes=row["window_minutes"],
        mode=row["mode"],
        skip_dates=tuple(row["skip_dates"] or ()),
        away=dict(row["away"] or {}),
        updated_at=row["updated_at"],
    )


def _to_run(channel: ChannelKey, row: RowMapping) -> Run:
    return Run(
        id=row["id"],
        key=row["key"],
        kind=RunKind(row["kind"]),
        channel=channel,
        due_at=row["due_at"],
        status=RunStatus(row["status"]),
        payload=dict(row["payload"] or {}),
        attempts=row["attempts"],
        lease_until=row["lease_until"],
        result_ref=row["result_ref"],
        created_at=row["created_at"],
    )


def _standup_values(standup: Standup) -> dict[str, Any]:
    """Every stored field of a standup except its identity (id, schedule, local date, channel)."""
    return {
        "opened_at": standup.opened_at,
        "closes_at": standup.closes_at,
        "questions": list(standup.questions),
        "members": list(standup.members),
        "away": list(standup.away),
        "mode": standup.mode,
        "late_by_minutes": standup.late_by_minutes,
        "closed": standup.closed,
        "message_ref": standup.message_ref,
    }


def _to_standup(row: RowMapping) -> Standup:
    return Standup(
        id=row["id"],
        schedule_id=row["schedule_id"],
        channel=_channel_key(row),
        local_date=row["local_date"],
        opened_at=row["opened_at"],
        closes_at=row["closes_at"],
        questions=tuple(row["questions"] or ()),
        members=tuple(row["members"] or ()),
        away=tuple(row["away"] or ()),
        mode=row["mode"],
        late_by_minutes=row["late_by_minutes"],
        closed=bool(row["closed"]),
        message_ref=row["message_ref"],
    )


def _with_channel(table: Table) -> Select[Any]:
    """``table``'s columns and its channel's key (see :func:`_channel_key`)."""
    return select(table, *_CHANNEL_KEY_COLUMNS).join(channels, channels.c.id == table.c.channel_id)


class SqlScheduleRepository:
    """``bot.ports.ScheduleRepository`` on the unit of work's session and transaction.

    Claims lock rows ``FOR NO KEY UPDATE … SKIP LOCKED`` on PostgreSQL, so replicas ticking
    at the same time each get different rows and nobody waits; on SQLite the clause renders
    as nothing and the unit of work's ``BEGIN IMMEDIATE`` serialises the ticks instead.
    Locks (and the claims that rely on them) last until the caller commits or rolls back.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- schedules ------------------------------------------------------------------

    @translate_errors
    async def get(self, channel: ChannelKey, kind: ScheduleKind) -> Schedule | None:
        query = (
            select(schedules)
            .join(channels, channels.c.id == schedules.c.channel_id)
            .where(*_channel_filter(channel), schedules.c.kind == kind.value)
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        if row is None:
            return None
        _known_channels(self._session)[channel] = row["channel_id"]
        return _to_schedule(channel, row)

    @translate_errors
    async def save(self, schedule: Schedule) -> Schedule:
        session = self._session
        channel_id = await _channel_id(session, schedule.channel, create=True)
        updated_at = schedule.updated_at or datetime.now(UTC)
        values = {**_schedule_values(schedule), "updated_at": updated_at}
        # One schedule per channel and kind: an upsert on that key is race-free on both
        # backends (a concurrent saver's insert turns into an update of the winner's row).
        inserted = _insert(session, schedules).values(
            channel_id=channel_id, kind=schedule.kind.value, **values
        )
        statement = inserted.on_conflict_do_update(
            index_elements=[schedules.c.channel_id, schedules.c.kind],
            set_={name: inserted.excluded[name] for name in values},
        ).returning(schedules.c.id)
        schedule_id: int = (await session.execute(statement)).scalar_one()
        return replace(schedule, id=schedule_id, updated_at=updated_at)

    @translate_errors
    async def reschedule(
        self,
        schedule_id: int,
        next_run_at: datetime | None,
        skip_dates: Sequence[str],
        now: datetime,
    ) -> None:
        await self._session.execute(
            update(schedules)
            .where(schedules.c.id == schedule_id)
            .values(next_run_at=next_run_at, skip_dates=builtins.list(skip_dates), updated_at=now)
        )

    @translate_errors
    async def claim_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        query = (
            _with_channel(schedules)
            .where(schedules.c.enabled.is_(True), schedules.c.next_run_at <= now)
            .order_by(schedules.c.next_run_at, schedules.c.id)
            .limit(limit)
            # OF schedules: the joined channel rows stay unlocked. NO KEY UPDATE (what an
            # UPDATE of next_run_at takes anyway) still lets other transactions insert rows
            # that reference the schedule, such as its standups.
            .with_for_update(skip_locked=True, key_share=True, of=schedules)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_to_schedule(_keyed(self._session, row), row) for row in rows]

    # --- runs -----------------------------------------------------------------------

    @translate_errors
    async def add_run(self, run: Run) -> int | None:
        session = self._session
        channel_id = await _channel_id(session, run.channel, create=True)
        now = datetime.now(UTC)
        # Never rowcount (psycopg reports -1): RETURNING gives the id, or no row when the
        # key existed. A plain INSERT's IntegrityError would abort a PostgreSQL transaction.
        statement = (
            _insert(session, runs)
            .values(
                key=run.key,
                kind=run.kind.value,
                channel_id=channel_id,
                due_at=run.due_at,
                status=run.status.value,
                payload=dict(run.payload),
                attempts=run.attempts,
                lease_until=run.lease_until,
                result_ref=run.result_ref,
                created_at=run.created_at or now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[runs.c.key])
            .returning(runs.c.id)
        )
        run_id: int | None = (await session.execute(statement)).scalar_one_or_none()
        return run_id

    @translate_errors
    async def add_runs(self, new_runs: Sequence[Run]) -> set[str]:
        session = self._session
        now = datetime.now(UTC)
        rows = []
        for run in new_runs:
            rows.append(
                {
                    "key": run.key,
                    "kind": run.kind.value,
                    "channel_id": await _channel_id(session, run.channel, create=True),
                    "due_at": run.due_at,
                    "status": run.status.value,
                    "payload": dict(run.payload),
                    "attempts": run.attempts,
                    "lease_until": run.lease_until,
                    "result_ref": run.result_ref,
                    "created_at": run.created_at or now,
                    "updated_at": now,
                }
            )
        added: set[str] = set()
        # One multi-row INSERT per chunk (SQLite allows 32,766 parameters per statement).
        for start in range(0, len(rows), _RUN_CHUNK):
            statement = (
                _insert(session, runs)
                .values(rows[start : start + _RUN_CHUNK])
                .on_conflict_do_nothing(index_elements=[runs.c.key])
                .returning(runs.c.key)
            )
            added.update((await session.execute(statement)).scalars())
        return added

    @translate_errors
    async def claim_runs(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> builtins.list[Run]:
        session = self._session
        claimable = or_(
            and_(runs.c.status == RunStatus.PENDING.value, runs.c.due_at <= now),
            and_(runs.c.status == RunStatus.SENDING.value, runs.c.lease_until < now),
        )
        locked = (
            select(runs.c.id)
            .where(claimable)
            .order_by(runs.c.due_at, runs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        run_ids = builtins.list((await session.execute(locked)).scalars())
        if not run_ids:
            return []
        # Same transaction as the lock: no other worker can claim these rows in between,
        # and the caller commits the claim before it delivers anything.
        await session.execute(
            update(runs)
            .where(runs.c.id.in_(run_ids))
            .values(
                status=RunStatus.SENDING.value,
                lease_until=lease_until,
                attempts=runs.c.attempts + 1,
                updated_at=now,
            )
        )
        query = _with_channel(runs).where(runs.c.id.in_(run_ids)).order_by(runs.c.due_at, runs.c.id)
        rows = (await session.execute(query)).mappings().all()
        return [_to_run(_keyed(self._session, row), row) for row in rows]

    async def _update_run(self, run_id: int, **values: Any) -> None:
        statement = (
            update(runs)
            .where(runs.c.id == run_id)
            .values(updated_at=datetime.now(UTC), **values)
            .returning(runs.c.id)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            raise LookupError(f"no stored run with id {run_id}")

    @translate_errors
    async def finish_run(
        self, run_id: int, status: RunStatus, result_ref: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "lease_until": None}
        if result_ref is not None:
            values["result_ref"] = result_ref
        await self._update_run(run_id, **values)

    @translate_errors
    async def retry_run(self, run_id: int, due_at: datetime) -> None:
        await self._update_run(
            run_id, status=RunStatus.PENDING.value, due_at=due_at, lease_until=None
        )

    @translate_errors
    async def release_runs(self, run_ids: Sequence[int]) -> int:
        if not run_ids:
            return 0
        statement = (
            update(runs)
            .where(runs.c.id.in_(builtins.list(run_ids)), runs.c.status == RunStatus.SENDING.value)
            .values(
                status=RunStatus.PENDING.value,
                lease_until=None,
                attempts=case((runs.c.attempts > 0, runs.c.attempts - 1), else_=0),
                updated_at=datetime.now(UTC),
            )
            .returning(runs.c.id)
        )
        return len((await self._session.execute(statement)).all())

    @translate_errors
    async def outbox_depth(self) -> int:
        waiting = (RunStatus.PENDING.value, RunStatus.SENDING.value)
        query = select(func.count()).select_from(runs).where(runs.c.status.in_(waiting))
        depth: int = (await self._session.execute(query)).scalar_one()
        return depth

    @translate_errors
    async def runs(self, channel: ChannelKey, kind: RunKind, limit: int = 10) -> builtins.list[Run]:
        query = (
            _with_channel(runs)
            .where(*_channel_filter(channel), runs.c.kind == kind.value)
            .order_by(runs.c.due_at.desc(), runs.c.id.desc())
            .limit(limit)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_to_run(channel, row) for row in rows]

    # --- standups -------------------------------------------------------------------

    @translate_errors
    async def open_standup(self, standup: Standup) -> tuple[Standup, bool]:
        session = self._session
        channel_id = await _channel_id(session, standup.channel, create=True)
        # Get-or-create like add_run: a concurrent opener's insert does nothing (on
        # PostgreSQL it first waits for the winner to commit) and then finds the winner's row.
        statement = (
            _insert(session, standups)
            .values(
                schedule_id=standup.schedule_id,
                channel_id=channel_id,
                local_date=standup.local_date,
                **_standup_values(standup),
            )
            .on_conflict_do_nothing(index_elements=[standups.c.schedule_id, standups.c.local_date])
            .returning(standups.c.id)
        )
        standup_id: int | None = (await session.execute(statement)).scalar_one_or_none()
        if standup_id is not None:
            return replace(standup, id=standup_id), True
        query = _with_channel(standups).where(
            standups.c.schedule_id == standup.schedule_id,
            standups.c.local_date == standup.local_date,
        )
        row = (await session.execute(query)).mappings().one()
        return _to_standup(row), False

    @translate_errors
    async def get_standup(self, standup_id: int) -> Standup | None:
        query = _with_channel(standups).where(standups.c.id == standup_id)
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else _to_standup(row)

    @translate_errors
    async def latest_standup(self, channel: ChannelKey) -> Standup | None:
        query = (
            _with_channel(standups)
            .where(*_channel_filter(channel))
            .order_by(standups.c.opened_at.desc(), standups.c.id.desc())
            .limit(1)
        )
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else _to_standup(row)

    @translate_errors
    async def update_standup(self, standup: Standup) -> None:
        if standup.id is None:
            raise ValueError("the standup has no id; open_standup() it first")
        # Schedule and local date are the standup's identity; like an item's ref, they are
        # never rewritten, so a stale or mistaken Standup cannot take another's place.
        statement = (
            update(standups)
            .where(
                standups.c.id == standup.id,
                standups.c.schedule_id == standup.schedule_id,
                standups.c.local_date == standup.local_date,
            )
            .values(**_standup_values(standup))
            .returning(standups.c.id)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            raise LookupError(
                f"no stored standup {standup.id} of schedule {standup.schedule_id} "
                f"on {standup.local_date}"
            )

    @translate_errors
    async def set_standup_message(self, schedule_id: int, local_date: str, ref: str) -> None:
        await self._session.execute(
            update(standups)
            .where(
                standups.c.schedule_id == schedule_id,
                standups.c.local_date == local_date,
                standups.c.message_ref.is_(None),
            )
            .values(message_ref=ref)
        )

    @translate_errors
    async def save_answer(self, answer: StandupAnswer) -> None:
        session = self._session
        inserted = _insert(session, standup_answers).values(
            standup_id=answer.standup_id,
            person=answer.person,
            answers=list(answer.answers),
            answered_at=answer.answered_at,
            first_answered_at=answer.answered_at,
        )
        # A second answer replaces the first but keeps its place in the order.
        await session.execute(
            inserted.on_conflict_do_update(
                index_elements=[standup_answers.c.standup_id, standup_answers.c.person],
                set_={
                    "answers": inserted.excluded.answers,
                    "answered_at": inserted.excluded.answered_at,
                },
            )
        )

    @translate_errors
    async def answers(self, standup_id: int) -> builtins.list[StandupAnswer]:
        query = (
            select(standup_answers)
            .where(standup_answers.c.standup_id == standup_id)
            .order_by(standup_answers.c.first_answered_at, standup_answers.c.id)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [
            StandupAnswer(
                standup_id=row["standup_id"],
                person=row["person"],
                answers=tuple(row["answers"] or ()),
                answered_at=row["answered_at"],
            )
            for row in rows
        ]
