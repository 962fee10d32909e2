"""The storage layer against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import Change, ChannelKey, ChannelSettings, Event, Item, Kind, Status
from bot.errors import Unavailable
from storage import seen_requests
from storage.db import DEFAULT_PG_POOL_SIZE, create_engine, is_sqlite, normalize_url, sync_url
from storage.migrate import upgrade
from storage.tables import items
from storage.types import UTCDateTime
from storage.uow import check_database, make_uow_factory
from tests.integration.conftest import (
    BERLIN,
    CHANNEL,
    T0,
    UowFactory,
    aiosqlite_threads,
    closed_port,
    full_item,
    join_aiosqlite_threads,
    make_item,
    sqlite_url,
)

# --- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected", "expected_sync"),
    [
        ("sqlite:///raidline.db", "sqlite+aiosqlite:///raidline.db", "sqlite:///raidline.db"),
        ("sqlite:////var/lib/r.db", "sqlite+aiosqlite:////var/lib/r.db", "sqlite:////var/lib/r.db"),
        ("sqlite+aiosqlite:///r.db", "sqlite+aiosqlite:///r.db", "sqlite:///r.db"),
        (
            "postgres://u:p%40ss@db:5432/raid",
            "postgresql+psycopg://u:p%40ss@db:5432/raid",
            "postgresql+psycopg://u:p%40ss@db:5432/raid",
        ),
        (
            "postgresql://db/raid?sslmode=require",
            "postgresql+psycopg://db/raid?sslmode=require",
            "postgresql+psycopg://db/raid?sslmode=require",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1/raid",
            "postgresql+psycopg://postgres@127.0.0.1/raid",
            "postgresql+psycopg://postgres@127.0.0.1/raid",
        ),
    ],
)
def test_normalize_url(url: str, expected: str, expected_sync: str) -> None:
    assert normalize_url(url) == expected
    assert sync_url(url) == expected_sync


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("raidline.db", "could not be parsed"),
        ("sqlite://", "In-memory"),
        ("sqlite:///:memory:", "In-memory"),
        ("mysql://db/raid", "Unsupported database 'mysql'"),
        ("postgresql+asyncpg://db/raid", "not supported"),
    ],
)
def test_normalize_url_refuses_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_url(url)
    with pytest.raises(ValueError, match=message):
        create_engine(url)


# --- SQLite connection setup ------------------------------------------------------------


async def test_sqlite_pragmas_and_begin_immediate(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    engine = create_engine(url)
    try:
        assert is_sqlite(engine)
        async with engine.connect() as connection:

            async def pragma(name: str) -> object:
                return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("foreign_keys") == 1
            assert (
                await pragma("synchronous") == 2
            )  # FULL, the default (RAIDLINE_SQLITE_SYNCHRONOUS)
            busy_timeout = await pragma("busy_timeout")
            assert isinstance(busy_timeout, int)
            assert busy_timeout > 0

            # The transaction holds the write lock from its first statement, even a read:
            # another writer cannot get in until it ends.
            other = sqlite3.connect(tmp_path / "raidline.db", timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                await connection.rollback()
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
    finally:
        await engine.dispose()


# --- UTCDateTime ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://"])
def test_utc_datetime_refuses_naive_values(url: str) -> None:
    dialect = sa.create_engine(url).dialect  # never connects
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 12, 1, 9, 30), dialect)
    with pytest.raises(TypeError):
        UTCDateTime().process_bind_param("2026-12-01T09:30:00Z", dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "zone",
    [
        UTC,
        BERLIN,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-5)),
    ],
    ids=["utc", "berlin", "kolkata", "new-york"],
)
async def test_utc_datetime_round_trips_the_instant_as_utc(
    uow_factory: UowFactory, zone: timezone
) -> None:
    due = datetime(2026, 12, 1, 9, 30, 0, 654321, tzinfo=zone)
    async with uow_factory() as uow:
        await uow.items.add(make_item(due_at=due, decided_at=due))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)
    assert loaded is not None
    for value in (loaded.due_at, loaded.decided_at, loaded.created_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
    assert loaded.due_at == due
    assert loaded.due_at.replace(tzinfo=None) == due.astimezone(UTC).replace(tzinfo=None)


async def test_utc_datetime_refuses_naive_values_on_the_way_in(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(sa_exc.StatementError) as raised:
            await uow.items.add(make_item(due_at=datetime(2026, 12, 1, 9, 30)))
    assert isinstance(raised.value.orig, ValueError)
    assert not isinstance(raised.value, Unavailable)


async def test_berlin_due_time_compares_as_an_instant(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    # 09:30 in Berlin is 08:30 UTC; a naive store would keep "09:30" and get both wrong.
    async with uow_factory() as uow:
        await uow.items.add(make_item(due_at=datetime(2026, 12, 1, 9, 30, tzinfo=BERLIN)))
        await uow.commit()

    async def overdue_at(now: datetime) -> list[int]:
        async with engine.connect() as connection:
            query = sa.select(items.c.number).where(items.c.due_at < now)
            return list((await connection.execute(query)).scalars())

    assert await overdue_at(datetime(2026, 12, 1, 8, 45, tzinfo=UTC)) == [1]
    assert await overdue_at(datetime(2026, 12, 1, 8, 15, tzinfo=UTC)) == []
    assert await overdue_at(datetime(2026, 12, 1, 9, 35, tzinfo=BERLIN)) == [1]
    assert await overdue_at(datetime(2026, 12, 1, 9, 25, tzinfo=BERLIN)) == []


# --- items ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind), ids=[kind.value for kind in Kind])
async def test_item_round_trip_with_every_field(uow_factory: UowFactory, kind: Kind) -> None:
    item = full_item(kind)
    async with uow_factory() as uow:
        added = await uow.items.add(item)
        await uow.commit()
    assert added.id is not None
    assert added == replace(item, id=added.id)

    async with uow_factory() as uow:
        loaded = await uow.items.get(CHANNEL, kind, 1)
        missing = await uow.items.get(CHANNEL, kind, 2)
    assert loaded == added
    assert missing is None
    assert loaded is not None
    assert loaded.due_at is not None
    assert loaded.due_at.tzinfo is not None
    assert loaded.due_at.utcoffset() == timedelta(0)
    assert loaded.approvers == ("U_SPONSOR", "U_CFO")
    assert dict(loaded.impacts) == {"schedule": "+2 weeks", "cost": "+8k"}


async def test_item_with_only_required_fields_keeps_defaults(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.items.add(make_item(Kind.CHANGE))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.items.get(CHANNEL, Kind.CHANGE, 1)
    assert loaded == added
    assert loaded is not None
    assert loaded.impacts == {}
    assert loaded.approvers == ()
    assert loaded.owner is None
    assert loaded.due_at is None


async def test_update_stores_every_field(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.items.add(full_item(Kind.RISK))
        await uow.commit()
    changed = replace(
        added,
        status=Status.CLOSED,
        title="new title",
        details=None,
        owner=None,
        due_at=datetime(2027, 1, 4, 9, 0, tzinfo=BERLIN),
        likelihood=1,
        impact=2,
        impacts={"quality": "none"},
        approvers=("U_OTHER",),
        resolution="vendor delivered",
        updated_at=T0 + timedelta(days=2),
    )
    async with uow_factory() as uow:
        await uow.items.update(changed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.items.get(CHANNEL, Kind.RISK, 1) == changed


async def test_update_refuses_unknown_or_unsaved_items(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.items.add(make_item())
        with pytest.raises(ValueError, match="no id"):
            await uow.items.update(make_item())
        with pytest.raises(LookupError):
            await uow.items.update(replace(added, id=added.id + 1000))  # type: ignore[operator]
        with pytest.raises(LookupError):
            await uow.items.update(replace(added, number=2))  # the ref is not rewritable
        with pytest.raises(ValueError, match="already has id"):
            await uow.items.add(added)


async def test_list_filters_and_orders_oldest_first(uow_factory: UowFactory) -> None:
    t = T0
    stored = [
        make_item(Kind.BLOCKER, 1, created_at=t + timedelta(minutes=3)),
        make_item(Kind.BLOCKER, 2, created_at=t, status=Status.RESOLVED),
        make_item(Kind.RISK, 1, created_at=t + timedelta(minutes=1)),
        make_item(Kind.DECISION, 1, created_at=t + timedelta(minutes=2)),
        make_item(Kind.DECISION, 2, created_at=t + timedelta(minutes=2), status=Status.DECIDED),
        make_item(Kind.CHANGE, 1, created_at=t + timedelta(minutes=4)),
        make_item(Kind.BLOCKER, 3, created_at=t + timedelta(minutes=1)),
    ]
    async with uow_factory() as uow:
        # Inserted newest-number-first so that id order differs from the expected order.
        for item in reversed(stored):
            await uow.items.add(item)
        await uow.commit()

    async with uow_factory() as uow:

        async def refs(**filters: object) -> list[str]:
            return [str(item.ref) for item in await uow.items.list(CHANNEL, **filters)]  # type: ignore[arg-type]

        # Same created_at: ordered by number (R-1 before B-3, D-1 before D-2).
        assert await refs() == ["B-2", "R-1", "B-3", "D-1", "D-2", "B-1", "C-1"]
        assert await refs(kinds=[Kind.BLOCKER]) == ["B-2", "B-3", "B-1"]
        assert await refs(kinds=iter([Kind.RISK, Kind.CHANGE])) == ["R-1", "C-1"]
        assert await refs(statuses=[Status.OPEN]) == ["R-1", "B-3", "B-1"]
        assert await refs(kinds=[Kind.DECISION], statuses=[Status.PENDING]) == ["D-1"]
        assert await refs(kinds=[Kind.BLOCKER], statuses=[Status.RESOLVED, Status.OPEN]) == [
            "B-2",
            "B-3",
            "B-1",
        ]
        assert await refs(kinds=[]) == []
        assert await refs(statuses=[Status.WITHDRAWN]) == []


async def test_active_in_workspace_spans_its_channels_only(uow_factory: UowFactory) -> None:
    second = ChannelKey(CHANNEL.platform, CHANNEL.workspace, "C0002")
    other_workspace = ChannelKey(CHANNEL.platform, "T0002", CHANNEL.channel)
    other_platform = ChannelKey("discord", CHANNEL.workspace, CHANNEL.channel)
    minute = timedelta(minutes=1)
    async with uow_factory() as uow:
        for item in (
            make_item(Kind.BLOCKER, 1, created_at=T0 + 3 * minute),
            make_item(Kind.BLOCKER, 2, status=Status.RESOLVED),
            make_item(Kind.DECISION, 1, channel=second, created_at=T0 + minute),
            make_item(Kind.DECISION, 2, channel=second, status=Status.DECIDED),
            make_item(Kind.CHANGE, 1, channel=second, status=Status.APPROVED),
            make_item(Kind.CHANGE, 2, channel=second, status=Status.IMPLEMENTED),
            make_item(Kind.RISK, 1, created_at=T0 + 2 * minute),
            make_item(Kind.RISK, 2, status=Status.WITHDRAWN),
            make_item(Kind.BLOCKER, 1, channel=other_workspace),
            make_item(Kind.BLOCKER, 1, channel=other_platform),
        ):
            await uow.items.add(item)
        await uow.commit()

    async with uow_factory() as uow:
        active = await uow.items.active_in_workspace(CHANNEL.platform, CHANNEL.workspace)
        assert [(i.channel, str(i.ref)) for i in active] == [
            (second, "C-1"),
            (second, "D-1"),
            (CHANNEL, "R-1"),
            (CHANNEL, "B-1"),
        ]
        assert await uow.items.active_in_workspace("slack", "T_NONE") == []


async def test_events_round_trip_in_order(uow_factory: UowFactory) -> None:
    created = Event(at=T0, actor="U_A", action="created")
    assigned = Event(
        at=T0 + timedelta(minutes=1),
        actor="U_B",
        action="assigned",
        changes=(
            Change("owner", None, "U_C"),
            Change("due", "Fri 5 Dec", "Tue 9 Dec"),
        ),
        note="handing over — ✓",
    )
    # Same timestamp as the previous one: order must follow insertion, not time.
    resolved = Event(
        at=T0 + timedelta(minutes=1),
        actor="U_C",
        action="resolved",
        changes=(Change("status", "open", "resolved"),),
    )
    async with uow_factory() as uow:
        first = await uow.items.add(make_item(Kind.BLOCKER, 1))
        second = await uow.items.add(make_item(Kind.BLOCKER, 2))
        assert first.id is not None and second.id is not None
        for event in (created, assigned, resolved):
            await uow.items.add_event(first.id, event)
        await uow.commit()

    async with uow_factory() as uow:
        events = await uow.items.events([first.id, second.id, 10_000])
        assert events == {first.id: [created, assigned, resolved], second.id: [], 10_000: []}
        assert all(e.at.utcoffset() == timedelta(0) for e in events[first.id])
        assert await uow.items.events([]) == {}
        many = await uow.items.events([first.id, *range(20_000, 21_000)])
        assert len(many) == 1001
        assert many[first.id] == [created, assigned, resolved]


async def test_event_needs_an_existing_item(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(sa_exc.IntegrityError):
            await uow.items.add_event(12345, Event(at=T0, actor="U_A", action="note"))


# --- numbering --------------------------------------------------------------------------


async def test_numbers_are_per_channel_and_kind(uow_factory: UowFactory) -> None:
    other = ChannelKey("slack", "T0001", "C0002")
    async with uow_factory() as uow:
        got = [
            await uow.items.allocate_number(CHANNEL, Kind.BLOCKER),
            await uow.items.allocate_number(CHANNEL, Kind.BLOCKER),
            await uow.items.allocate_number(CHANNEL, Kind.RISK),
            await uow.items.allocate_number(other, Kind.BLOCKER),
            await uow.items.allocate_number(CHANNEL, Kind.BLOCKER),
        ]
        await uow.commit()
    assert got == [1, 2, 1, 1, 3]
    async with uow_factory() as uow:
        assert await uow.items.allocate_number(CHANNEL, Kind.BLOCKER) == 4


async def test_200_concurrent_allocations_give_1_to_200(uow_factory: UowFactory) -> None:
    async def log_blocker(i: int) -> int:
        async with uow_factory() as uow:
            number = await uow.items.allocate_number(CHANNEL, Kind.BLOCKER)
            item = await uow.items.add(make_item(Kind.BLOCKER, number, title=f"task {i}"))
            assert item.id is not None
            await uow.items.add_event(item.id, Event(at=T0, actor="U_A", action="created"))
            await uow.commit()
            return number

    numbers = await asyncio.gather(*(log_blocker(i) for i in range(200)))

    assert sorted(numbers) == list(range(1, 201))
    async with uow_factory() as uow:
        stored = await uow.items.list(CHANNEL)
        assert sorted(item.number for item in stored) == list(range(1, 201))
        assert len({item.title for item in stored}) == 200
        assert await uow.channels.channels() == [CHANNEL]
        assert await uow.items.allocate_number(CHANNEL, Kind.BLOCKER) == 201


# --- units of work ----------------------------------------------------------------------


async def _log_one(uow_factory: UowFactory) -> tuple[int, int]:
    async with uow_factory() as uow:
        number = await uow.items.allocate_number(CHANNEL, Kind.BLOCKER)
        item = await uow.items.add(make_item(Kind.BLOCKER, number))
        assert item.id is not None
        await uow.items.add_event(item.id, Event(at=T0, actor="U_A", action="created"))
        await uow.commit()
    return number, item.id


async def _assert_nothing_stored(uow_factory: UowFactory, item_id: int) -> None:
    async with uow_factory() as uow:
        assert await uow.items.list(CHANNEL) == []
        assert await uow.items.get(CHANNEL, Kind.BLOCKER, 1) is None
        assert await uow.items.events([item_id]) == {item_id: []}
        assert await uow.channels.channels() == []
        # The allocation was rolled back with everything else.
        assert await uow.items.allocate_number(CHANNEL, Kind.BLOCKER) == 1


async def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        number = await uow.items.allocate_number(CHANNEL, Kind.BLOCKER)
        item = await uow.items.add(make_item(Kind.BLOCKER, number))
        assert item.id is not None
        await uow.items.add_event(item.id, Event(at=T0, actor="U_A", action="created"))
        await uow.channels.save_settings(ChannelSettings(CHANNEL, timezone="Europe/Berlin"))
    await _assert_nothing_stored(uow_factory, item.id)


async def test_explicit_rollback_discards_and_the_unit_stays_usable(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        item = await uow.items.add(make_item())
        assert item.id is not None
        await uow.items.add_event(item.id, Event(at=T0, actor="U_A", action="created"))
        await uow.rollback()
        assert await uow.items.get(CHANNEL, Kind.BLOCKER, 1) is None
        await uow.items.add(make_item(Kind.RISK))
        await uow.commit()
    async with uow_factory() as uow:
        assert [str(i.ref) for i in await uow.items.list(CHANNEL)] == ["R-1"]
        assert await uow.items.events([item.id]) == {item.id: []}


async def test_an_error_in_the_body_rolls_back_and_propagates(uow_factory: UowFactory) -> None:
    class Boom(Exception):
        pass

    item_id = -1
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            item = await uow.items.add(make_item())
            assert item.id is not None
            item_id = item.id
            await uow.items.add_event(item_id, Event(at=T0, actor="U_A", action="created"))
            raise Boom
    await _assert_nothing_stored(uow_factory, item_id)


async def test_commits_are_visible_to_the_next_unit(uow_factory: UowFactory) -> None:
    number, item_id = await _log_one(uow_factory)
    assert number == 1
    async with uow_factory() as uow:
        assert (await uow.items.events([item_id]))[item_id][0].action == "created"


async def test_duplicate_ref_is_an_integrity_error_not_unavailable(
    uow_factory: UowFactory,
) -> None:
    await _log_one(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(sa_exc.IntegrityError):
            await uow.items.add(make_item(Kind.BLOCKER, 1))


async def test_unit_of_work_cannot_be_entered_twice(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    async with uow:
        pass
    with pytest.raises(RuntimeError):
        async with uow:
            pass


# --- channels ---------------------------------------------------------------------------


async def test_channel_settings_defaults_and_round_trip(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == ChannelSettings(CHANNEL)
        # Reading settings does not make a channel exist.
        assert await uow.channels.channels() == []

    settings = ChannelSettings(
        CHANNEL, timezone="Europe/Berlin", leads=("U_ANA", "U_RAJ"), nudges_enabled=False
    )
    async with uow_factory() as uow:
        await uow.channels.save_settings(settings)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == settings
        await uow.channels.save_settings(ChannelSettings(CHANNEL, leads=("U_ANA",)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == ChannelSettings(
            CHANNEL, timezone=None, leads=("U_ANA",), nudges_enabled=True
        )


async def test_settings_of_a_channel_with_items_start_as_defaults(
    uow_factory: UowFactory,
) -> None:
    await _log_one(uow_factory)
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == ChannelSettings(CHANNEL)


async def test_channels_lists_every_channel_with_items_or_settings(
    uow_factory: UowFactory,
) -> None:
    discord = ChannelKey("discord", "G1", "100")
    with_settings = ChannelKey("slack", "T0002", "C0009")
    async with uow_factory() as uow:
        await uow.items.add(make_item(channel=discord))
        await uow.items.add(make_item(channel=CHANNEL))
        await uow.channels.save_settings(ChannelSettings(with_settings, timezone="UTC"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.channels.channels() == [discord, CHANNEL, with_settings]


async def test_stakeholders_are_kept_and_found_by_workspace(uow_factory: UowFactory) -> None:
    other = ChannelKey("slack", "T0002", "C0009")
    discord = ChannelKey("discord", "G1", "100")
    followed = ChannelSettings(
        CHANNEL, stakeholders={"U_CFO": ("weekly", "escalations")}, escalate_after_days=5
    )
    async with uow_factory() as uow:
        await uow.channels.save_settings(followed)
        await uow.channels.save_settings(
            ChannelSettings(other, stakeholders={"U_CFO": ("weekly",)})
        )
        await uow.channels.save_settings(ChannelSettings(discord, timezone="UTC"))  # nobody
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == followed
        assert [s.channel for s in await uow.channels.with_stakeholders()] == [CHANNEL, other]
        assert await uow.channels.with_stakeholders(CHANNEL.platform, CHANNEL.workspace) == [
            followed
        ]
        # the last one removed: the channel is no longer listed
        await uow.channels.save_settings(ChannelSettings(other))
        await uow.commit()
    async with uow_factory() as uow:
        assert [s.channel for s in await uow.channels.with_stakeholders()] == [CHANNEL]
        assert (await uow.channels.get_settings(other)).escalate_after_days == 3


async def test_workspaces_and_platforms_are_isolated(uow_factory: UowFactory) -> None:
    await _log_one(uow_factory)
    async with uow_factory() as uow:
        await uow.channels.save_settings(ChannelSettings(CHANNEL, leads=("U_LEAD",)))
        await uow.commit()

    for stranger in (
        ChannelKey(CHANNEL.platform, "T_OTHER", CHANNEL.channel),
        ChannelKey("discord", CHANNEL.workspace, CHANNEL.channel),
        ChannelKey(CHANNEL.platform, CHANNEL.workspace, "C_OTHER"),
    ):
        async with uow_factory() as uow:
            assert await uow.items.get(stranger, Kind.BLOCKER, 1) is None
            assert await uow.items.list(stranger) == []
            assert await uow.channels.get_settings(stranger) == ChannelSettings(stranger)
            assert await uow.items.allocate_number(stranger, Kind.BLOCKER) == 1
            await uow.items.add(make_item(channel=stranger, title="theirs"))
            await uow.commit()

    async with uow_factory() as uow:
        mine = await uow.items.list(CHANNEL)
        assert [(str(i.ref), i.title) for i in mine] == [("B-1", "blocker 1")]
        assert all(i.channel == CHANNEL for i in mine)
        theirs = await uow.items.get(ChannelKey("discord", "T0001", "C0001"), Kind.BLOCKER, 1)
        assert theirs is not None
        assert theirs.title == "theirs"
        assert theirs.channel == ChannelKey("discord", "T0001", "C0001")


# --- outages ----------------------------------------------------------------------------


async def test_unreachable_postgres_raises_unavailable() -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/raidline")
    try:
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            with pytest.raises(Unavailable) as raised:
                await uow.channels.get_settings(CHANNEL)
            with pytest.raises(Unavailable):
                await uow.items.allocate_number(CHANNEL, Kind.BLOCKER)
        assert "can't reach its database" in raised.value.message
        assert await check_database(engine) is False
    finally:
        await engine.dispose()


async def test_unopenable_sqlite_raises_unavailable(tmp_path: Path) -> None:
    threads = aiosqlite_threads()
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'raidline.db'}")
    try:
        async with make_uow_factory(engine)() as uow:
            with pytest.raises(Unavailable) as raised:
                await uow.items.list(CHANNEL)
        assert isinstance(raised.value.__cause__, sa_exc.OperationalError)
        assert await check_database(engine) is False
    finally:
        await engine.dispose()
        join_aiosqlite_threads(threads)


async def test_missing_schema_is_a_bug_not_an_outage(db_url: str) -> None:
    engine = create_engine(db_url)  # not migrated
    try:
        assert await check_database(engine) is True
        async with make_uow_factory(engine)() as uow:
            with pytest.raises(sa_exc.DBAPIError) as raised:
                await uow.items.list(CHANNEL)
        assert not isinstance(raised.value, Unavailable)
        assert "items" in str(raised.value)
    finally:
        await engine.dispose()


async def test_check_database_on_a_migrated_database(engine: AsyncEngine) -> None:
    assert await check_database(engine) is True


@pytest.mark.postgres
async def test_postgres_outage_is_unavailable_and_the_pool_recovers(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = create_engine(postgres_url)
    admin = sa.create_engine(sync_url(postgres_url), poolclass=sa.pool.NullPool)
    database = sa.make_url(postgres_url).database

    def kill_connections() -> int:
        with admin.connect() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).scalar_one()
        return int(killed)

    try:
        uow_factory = make_uow_factory(engine)
        await _log_one(uow_factory)  # leaves a pooled connection behind

        # Pooled connections that died while idle are replaced (pool_pre_ping).
        assert kill_connections() >= 1
        async with uow_factory() as uow:
            assert len(await uow.items.list(CHANNEL)) == 1

        # A connection that dies mid-transaction: the command fails as Unavailable...
        async with uow_factory() as uow:
            await uow.items.add(make_item(Kind.RISK))
            assert kill_connections() >= 1
            with pytest.raises(Unavailable):
                await uow.commit()
        # ...nothing was saved, and the next unit of work just works.
        async with uow_factory() as uow:
            assert [str(i.ref) for i in await uow.items.list(CHANNEL)] == ["B-1"]
        assert await check_database(engine) is True
    finally:
        await engine.dispose()
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("asked", [None, 16], ids=["default", "16"])
async def test_postgres_keeps_its_connections_through_bursts(
    postgres_url: str, asked: int | None
) -> None:
    """24 connections in use at once (16 Slack requests' replay checks and 8 commands): after
    the first burst every connection comes from the pool; none is opened (and closed) again."""
    upgrade(postgres_url)
    if asked is None:
        engine, pool_size = create_engine(postgres_url), DEFAULT_PG_POOL_SIZE
    else:
        engine, pool_size = create_engine(postgres_url, pg_pool_size=asked), asked
    opened: list[object] = []
    sa.event.listen(engine.sync_engine, "connect", lambda connection, _: opened.append(connection))
    at_once = 24
    all_in = asyncio.Barrier(at_once)

    async def one() -> None:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
            await all_in.wait()  # every one holds its connection at the same time

    try:
        await asyncio.gather(*(one() for _ in range(at_once)))
        first = len(opened)
        for _ in range(3):
            await asyncio.gather(*(one() for _ in range(at_once)))
        assert first == at_once
        reopened = len(opened) - first
        # beyond the pool, each burst opens its connections anew and closes them after
        assert reopened == max(0, at_once - pool_size) * 3
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_replay_check_leaves_its_connection_transactional(
    postgres_url: str,
) -> None:
    """The replay check runs its one insert in autocommit; the connection it gives back to
    the pool (the only one here) is transactional again: a unit of work left without commit
    keeps nothing."""
    upgrade(postgres_url)
    engine = create_engine(postgres_url, pg_pool_size=1)
    try:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        assert await seen_requests.remember(engine, "req-1", expires) is True
        assert await seen_requests.remember(engine, "req-1", expires) is False
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            await uow.items.add(make_item(Kind.RISK))
            # left without commit
        async with uow_factory() as uow:
            assert await uow.items.list(CHANNEL) == []
    finally:
        await engine.dispose()


def test_items_hold_every_model_field() -> None:
    # A field added to Item without a column would be silently dropped on the way in.
    model_fields = set(Item.__dataclass_fields__) - {"channel"}
    assert model_fields <= set(items.c.keys())
