"""Scheduled work on real SQLite and PostgreSQL: schedules, the run ledger/outbox, standups,
the items' nudge state and the channels' working hours; claims across concurrent workers;
migration 0002 up, down and up again."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from bot.domain.model import (
    WORKDAYS,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
    Standup,
    StandupAnswer,
)
from bot.messages import Outgoing, Reply
from storage.db import create_engine, is_sqlite, sync_url
from storage.migrate import MIGRATIONS_DIR, current, downgrade, pending_diff, upgrade
from storage.tables import channels, runs, schedules, standup_answers, standups
from storage.types import UTCDateTime
from storage.uow import make_uow_factory
from tests.integration.conftest import BERLIN, CHANNEL, T0, UowFactory, make_item
from tests.integration.test_migrations import HEAD

OTHER = ChannelKey("slack", "T0001", "C0002")
DISCORD = ChannelKey("discord", "G1", "100")


#: Fields kept as JSON in ``schedules.options`` and ``standups.options``.
SCHEDULE_OPTIONS = {
    "late_minutes",
    "reminder",
    "optional",
    "observers",
    "mentions",
    "local_times",
    "zones",
    # the rule beyond weekly days (every other week, monthly)
    "every_weeks",
    "week_anchor",
    "nth",
    "month_day",
}
STANDUP_OPTIONS = {"optional", "observers", "mentions", "late_until"}


def full_schedule(channel: ChannelKey = CHANNEL) -> Schedule:
    """A standup schedule with every field set to a distinctive, non-default value."""
    return Schedule(
        channel=channel,
        kind=ScheduleKind.STANDUP,
        days=("mon", "wed", "fri"),
        at="09:30",
        timezone="Europe/Berlin",
        enabled=True,
        next_run_at=datetime(2026, 12, 2, 9, 30, tzinfo=BERLIN),
        questions=("Was hat sich geändert? ✓", "What is blocked?"),
        members=("U_ANA", "U_RAJ", "U_LI"),
        window_minutes=90,
        mode="dm",
        skip_dates=("2026-12-24", "2026-12-31"),
        away={"U_RAJ": "2026-12-04"},
        updated_at=T0,
        late_minutes=240,
        reminder="twice",
        optional=("U_LI",),
        observers=("U_CIO",),
        mentions=False,
        local_times=True,
        zones={"U_LI": "Asia/Kolkata"},
    )


def make_run(key: str, *, channel: ChannelKey = CHANNEL, **changes: object) -> Run:
    run = Run(key=key, kind=RunKind.NUDGE, channel=channel, due_at=T0, created_at=T0)
    return replace(run, **changes)  # type: ignore[arg-type]


def make_standup(schedule_id: int, local_date: str = "2026-12-02", **changes: object) -> Standup:
    opened = datetime.fromisoformat(f"{local_date}T09:30:00+01:00")
    standup = Standup(
        schedule_id=schedule_id,
        channel=CHANNEL,
        local_date=local_date,
        opened_at=opened,
        closes_at=opened + timedelta(hours=2),
        questions=("Yesterday?", "Blocked?"),
        members=("U_ANA", "U_RAJ"),
    )
    return replace(standup, **changes)  # type: ignore[arg-type]


async def store_schedule(uow_factory: UowFactory, schedule: Schedule) -> Schedule:
    async with uow_factory() as uow:
        saved = await uow.schedules.save(schedule)
        await uow.commit()
    return saved


# --- the schema holds the model -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "table", "mapped_elsewhere"),
    [
        # a schedule's name is kept in its kind column: standup:retro (rows.stored_kind)
        (Schedule, schedules, {"channel", "name", *SCHEDULE_OPTIONS}),
        (Run, runs, {"channel"}),
        (Standup, standups, {"channel", *STANDUP_OPTIONS}),
        (StandupAnswer, standup_answers, set()),
        (ChannelSettings, channels, {"channel"}),
    ],
    ids=["schedule", "run", "standup", "answer", "channel-settings"],
)
def test_tables_hold_every_model_field(
    model: type, table: sa.Table, mapped_elsewhere: set[str]
) -> None:
    # A field added to a dataclass without a column would be silently dropped on the way in.
    fields = {f.name for f in dataclasses.fields(model)} - mapped_elsewhere
    assert fields <= set(table.c.keys())


def test_0002_follows_0001() -> None:
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    revision = scripts.get_revision("0002")
    assert revision is not None
    assert revision.down_revision == "0001"


# --- items and channels: the new fields ---------------------------------------------------


async def test_item_nudge_fields_round_trip(uow_factory: UowFactory) -> None:
    nudged = make_item(
        Kind.DECISION,
        1,
        nudge_count=3,
        last_nudged_at=datetime(2026, 12, 1, 10, 0, 0, 1, tzinfo=BERLIN),
        snoozed_until=datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN),
    )
    async with uow_factory() as uow:
        added = await uow.items.add(nudged)
        plain = await uow.items.add(make_item(Kind.BLOCKER, 1))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.items.get(CHANNEL, Kind.DECISION, 1)
        loaded_plain = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)
    assert loaded == added
    assert loaded is not None and loaded.last_nudged_at is not None
    assert loaded.last_nudged_at.utcoffset() == timedelta(0)
    assert loaded_plain == plain
    assert loaded_plain is not None
    assert (loaded_plain.nudge_count, loaded_plain.last_nudged_at) == (0, None)
    assert loaded_plain.snoozed_until is None

    # The item changed: its nudge state starts over.
    reset = replace(added, nudge_count=0, snoozed_until=None, updated_at=T0 + timedelta(days=1))
    async with uow_factory() as uow:
        await uow.items.update(reset)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.items.get(CHANNEL, Kind.DECISION, 1) == reset


async def test_channel_work_hours_and_last_digest_round_trip(uow_factory: UowFactory) -> None:
    # Channels made on the way (by an item, by a schedule) start with the default hours.
    async with uow_factory() as uow:
        await uow.items.add(make_item())
        await uow.schedules.save(Schedule(OTHER, ScheduleKind.DIGEST))
        await uow.commit()
    async with uow_factory() as uow:
        for channel in (CHANNEL, OTHER):
            settings = await uow.channels.get_settings(channel)
            assert settings == ChannelSettings(channel)
            assert settings.work_days == WORKDAYS
            assert (settings.work_start, settings.work_end) == ("09:00", "18:00")

    custom = ChannelSettings(
        CHANNEL,
        timezone="Asia/Kolkata",
        leads=("U_ANA",),
        nudges_enabled=False,
        work_days=("sun", "mon", "tue", "wed", "thu"),
        work_start="08:30",
        work_end="17:15",
        last_digest_at=datetime(2026, 12, 1, 17, 0, 0, 42, tzinfo=BERLIN),
    )
    async with uow_factory() as uow:
        await uow.channels.save_settings(custom)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.channels.get_settings(CHANNEL)
        assert loaded == custom
        assert loaded.last_digest_at is not None
        assert loaded.last_digest_at.utcoffset() == timedelta(0)
        await uow.channels.save_settings(replace(custom, work_days=(), last_digest_at=None))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.channels.get_settings(CHANNEL) == replace(
            custom, work_days=(), last_digest_at=None
        )


async def test_events_since_filters_by_channel_and_time_oldest_first(
    uow_factory: UowFactory,
) -> None:
    def event(minutes: int, action: str) -> Event:
        return Event(at=T0 + timedelta(minutes=minutes), actor="U_A", action=action)

    async with uow_factory() as uow:
        first = await uow.items.add(make_item(Kind.BLOCKER, 1))
        second = await uow.items.add(make_item(Kind.RISK, 1))
        theirs = await uow.items.add(make_item(Kind.BLOCKER, 1, channel=OTHER))
        for item_id, written in [
            (first.stored_id, event(0, "created")),  # at `since`: excluded
            (second.stored_id, event(2, "updated")),
            (first.stored_id, event(1, "assigned")),
            (theirs.stored_id, event(1, "created")),  # another channel
            (first.stored_id, event(2, "resolved")),  # same time as R-1's: written later
            (second.stored_id, event(-5, "created")),  # before `since`
        ]:
            await uow.items.add_event(item_id, written)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.items.events_since(CHANNEL, T0)
        later = await uow.items.events_since(CHANNEL, T0 + timedelta(minutes=2))
        elsewhere = await uow.items.events_since(DISCORD, T0 - timedelta(days=1))
    assert [(str(item.ref), e.action, e.at) for item, e in found] == [
        ("B-1", "assigned", T0 + timedelta(minutes=1)),
        ("R-1", "updated", T0 + timedelta(minutes=2)),
        ("B-1", "resolved", T0 + timedelta(minutes=2)),
    ]
    assert found[0][0] == first
    assert found[1][0] == second
    assert later == []
    assert elsewhere == []


# --- schedules ----------------------------------------------------------------------------


async def test_schedule_round_trip_with_every_field(uow_factory: UowFactory) -> None:
    schedule = full_schedule()
    async with uow_factory() as uow:
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP) is None
        saved = await uow.schedules.save(schedule)
        await uow.commit()
    assert saved == replace(schedule, id=saved.id)
    assert saved.id is not None

    async with uow_factory() as uow:
        loaded = await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP)
        assert await uow.schedules.get(CHANNEL, ScheduleKind.DIGEST) is None
        assert await uow.schedules.get(OTHER, ScheduleKind.STANDUP) is None
    assert loaded == saved
    assert loaded is not None and loaded.next_run_at is not None
    assert loaded.next_run_at.utcoffset() == timedelta(0)
    assert loaded.away == {"U_RAJ": "2026-12-04"}

    # Saving again updates the one schedule of that channel and kind, whatever the id says.
    changed = replace(
        loaded,
        days=("tue",),
        at=None,
        enabled=False,
        next_run_at=None,
        questions=(),
        members=(),
        window_minutes=30,
        mode="thread",
        skip_dates=(),
        away={},
        updated_at=T0 + timedelta(hours=1),
    )
    async with uow_factory() as uow:
        resaved = await uow.schedules.save(replace(changed, id=None))
        digest = await uow.schedules.save(Schedule(CHANNEL, ScheduleKind.DIGEST))
        await uow.commit()
    assert resaved == changed
    assert digest.id not in (None, saved.id)
    assert digest.updated_at is not None  # stamped when not given
    async with uow_factory() as uow:
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP) == changed
        assert await uow.schedules.get(CHANNEL, ScheduleKind.DIGEST) == digest


async def test_claim_due_returns_only_enabled_due_schedules(uow_factory: UowFactory) -> None:
    now = T0

    def schedule(channel: str, kind: ScheduleKind, **changes: object) -> Schedule:
        key = ChannelKey("slack", "T0001", channel)
        return replace(Schedule(key, kind, enabled=True), **changes)  # type: ignore[arg-type]

    async with uow_factory() as uow:
        for stored in [
            schedule("C1", ScheduleKind.STANDUP, next_run_at=now - timedelta(minutes=5)),
            schedule("C1", ScheduleKind.DIGEST, next_run_at=now + timedelta(microseconds=1)),
            schedule("C2", ScheduleKind.STANDUP, next_run_at=now),  # due exactly now
            schedule("C2", ScheduleKind.DIGEST, next_run_at=now - timedelta(days=1)),
            schedule(
                "C3", ScheduleKind.STANDUP, next_run_at=now - timedelta(hours=1), enabled=False
            ),
            schedule("C3", ScheduleKind.DIGEST, next_run_at=None),
            # 09:20 in Berlin is 08:20 UTC: due, although the wall clock reads later.
            schedule(
                "C4", ScheduleKind.STANDUP, next_run_at=datetime(2026, 12, 1, 9, 20, tzinfo=BERLIN)
            ),
        ]:
            await uow.schedules.save(stored)
        await uow.commit()

    async with uow_factory() as uow:
        due = await uow.schedules.claim_due(now)
        first_two = await uow.schedules.claim_due(now, limit=2)
    assert [(s.channel.channel, s.kind.value) for s in due] == [
        ("C2", "digest"),
        ("C4", "standup"),
        ("C1", "standup"),
        ("C2", "standup"),
    ]
    assert all(s.enabled and s.id is not None for s in due)
    assert first_two == due[:2]


async def test_a_claimed_schedule_is_skipped_or_waited_for_never_claimed_twice(
    migrated_url: str, uow_factory: UowFactory
) -> None:
    async with uow_factory() as uow:
        for n in range(5):
            channel = ChannelKey("slack", "T0001", f"C{n}")
            due = T0 - timedelta(minutes=10 - n)
            await uow.schedules.save(
                Schedule(channel, ScheduleKind.STANDUP, enabled=True, next_run_at=due)
            )
        await uow.commit()

    other_engine = create_engine(migrated_url)  # another replica
    try:
        other = make_uow_factory(other_engine)

        async def claim_and_move(factory: UowFactory) -> list[str]:
            async with factory() as uow:
                claimed = await uow.schedules.claim_due(T0)
                for s in claimed:
                    await uow.schedules.save(replace(s, next_run_at=T0 + timedelta(days=1)))
                await uow.commit()
            return [s.channel.channel for s in claimed]

        async with uow_factory() as uow:
            held = await uow.schedules.claim_due(T0, limit=3)
            assert [s.channel.channel for s in held] == ["C0", "C1", "C2"]
            second = asyncio.create_task(claim_and_move(other))
            await asyncio.sleep(0.3)
            if is_sqlite(other_engine):
                # BEGIN IMMEDIATE: the other replica waits for this transaction to end...
                assert not second.done()
            else:
                # ...SKIP LOCKED: it takes the rows nobody holds, at once.
                assert second.done()
            for s in held:
                await uow.schedules.save(replace(s, next_run_at=T0 + timedelta(days=1)))
            await uow.commit()
        assert await asyncio.wait_for(second, timeout=30) == ["C3", "C4"]
    finally:
        await other_engine.dispose()


async def test_two_workers_claim_each_due_schedule_exactly_once(migrated_url: str) -> None:
    """Two replicas (two engines) tick at the same time over 60 due schedules."""
    count = 60
    engines = [create_engine(migrated_url), create_engine(migrated_url)]
    try:
        factories = [make_uow_factory(engine) for engine in engines]
        async with factories[0]() as uow:
            for n in range(count):
                channel = ChannelKey("slack", "T0001", f"C{n // 2:03d}")
                kind = ScheduleKind.STANDUP if n % 2 else ScheduleKind.DIGEST
                due = T0 - timedelta(seconds=n)
                await uow.schedules.save(Schedule(channel, kind, enabled=True, next_run_at=due))
            await uow.commit()

        claims: list[tuple[int, int]] = []  # (worker, schedule id)
        ledger: list[tuple[str, int | None]] = []  # every add_run: (key, id or None)
        deliveries: list[tuple[int, int]] = []  # (worker, run id)

        async def tick(worker: int, factory: UowFactory) -> None:
            while True:
                async with factory() as uow:
                    due = await uow.schedules.claim_due(T0, limit=7)
                    if not due:
                        return
                    for s in due:
                        assert s.next_run_at is not None
                        key = f"{s.kind.value}:{s.stored_id}:{s.next_run_at.date().isoformat()}"
                        run = Run(key, RunKind.DIGEST, s.channel, due_at=s.next_run_at)
                        ledger.append((key, await uow.schedules.add_run(run)))
                        claims.append((worker, s.stored_id))
                        await uow.schedules.save(
                            replace(s, next_run_at=s.next_run_at + timedelta(days=1))
                        )
                    await asyncio.sleep(0.01)  # hold the claim while the other worker ticks
                    await uow.commit()

        async def deliver(worker: int, factory: UowFactory) -> None:
            while True:
                async with factory() as uow:
                    claimed = await uow.schedules.claim_runs(
                        T0, lease_until=T0 + timedelta(minutes=2), limit=5
                    )
                    if not claimed:
                        return
                    deliveries.extend((worker, run.stored_id) for run in claimed)
                    assert all(run.attempts == 1 for run in claimed)
                    await asyncio.sleep(0.01)
                    await uow.commit()

        await asyncio.gather(*(tick(w, f) for w, f in enumerate(factories)))
        await asyncio.gather(*(deliver(w, f) for w, f in enumerate(factories)))

        claimed_ids = Counter(schedule_id for _, schedule_id in claims)
        assert len(claimed_ids) == count
        assert set(claimed_ids.values()) == {1}, "a schedule was claimed twice"
        keys = Counter(key for key, _ in ledger)
        assert len(keys) == count
        assert set(keys.values()) == {1}, "two workers tried to insert the same run"
        assert all(run_id is not None for _, run_id in ledger)
        delivered = Counter(run_id for _, run_id in deliveries)
        assert sorted(delivered) == sorted(run_id for _, run_id in ledger if run_id)
        assert set(delivered.values()) == {1}, "a run was claimed for delivery twice"
        if not is_sqlite(engines[0]):
            # SKIP LOCKED lets both work at once (on SQLite one may take every turn).
            assert {worker for worker, _ in claims} == {0, 1}
            assert {worker for worker, _ in deliveries} == {0, 1}

        async with factories[1]() as uow:
            assert await uow.schedules.claim_due(T0) == []
            assert await uow.schedules.claim_runs(T0, T0 + timedelta(minutes=2)) == []
    finally:
        for engine in engines:
            await engine.dispose()


# --- runs ---------------------------------------------------------------------------------


async def test_run_round_trip_and_add_run_is_idempotent(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    run = make_run(
        "nudge:42:2026-12-01",
        channel=DISCORD,  # a channel nobody has written to yet
        due_at=datetime(2026, 12, 1, 10, 0, 0, 7, tzinfo=BERLIN),
        payload={"item_ids": [42, 43], "note": "überfällig ✓", "nested": {"n": 1, "ok": True}},
    )
    async with uow_factory() as uow:
        run_id = await uow.schedules.add_run(run)
        again = await uow.schedules.add_run(replace(run, payload={"other": 1}))
        await uow.commit()
    assert isinstance(run_id, int)
    assert again is None
    async with uow_factory() as uow:
        assert await uow.schedules.add_run(replace(run, kind=RunKind.DIGEST)) is None
        stored = await uow.schedules.runs(DISCORD, RunKind.NUDGE)
    assert stored == [replace(run, id=run_id)]
    assert stored[0].due_at.utcoffset() == timedelta(0)
    async with engine.connect() as connection:
        count = await connection.scalar(sa.select(sa.func.count()).select_from(runs))
    assert count == 1


async def test_runs_are_newest_first_per_channel_and_kind(uow_factory: UowFactory) -> None:
    days = [0, 3, 1, 2]
    async with uow_factory() as uow:
        for day in days:
            due = T0 + timedelta(days=day)
            await uow.schedules.add_run(make_run(f"digest:{day}", kind=RunKind.DIGEST, due_at=due))
        await uow.schedules.add_run(make_run("nudge:1", due_at=T0 + timedelta(days=9)))
        await uow.schedules.add_run(
            make_run(
                "digest:other", kind=RunKind.DIGEST, channel=OTHER, due_at=T0 + timedelta(days=9)
            )
        )
        await uow.commit()
    async with uow_factory() as uow:
        newest = await uow.schedules.runs(CHANNEL, RunKind.DIGEST)
        two = await uow.schedules.runs(CHANNEL, RunKind.DIGEST, limit=2)
        none = await uow.schedules.runs(DISCORD, RunKind.DIGEST)
    assert [r.key for r in newest] == ["digest:3", "digest:2", "digest:1", "digest:0"]
    assert two == newest[:2]
    assert none == []


async def test_claim_runs_leases_retries_and_finishes(uow_factory: UowFactory) -> None:
    lease = timedelta(minutes=2)
    ids: dict[str, int] = {}
    async with uow_factory() as uow:
        for key, changes in {
            "due": {"due_at": T0 - timedelta(minutes=1)},
            "now": {"due_at": T0},
            "future": {"due_at": T0 + timedelta(hours=1)},
            "done": {"due_at": T0 - timedelta(hours=1), "status": RunStatus.DONE},
            "missed": {"due_at": T0 - timedelta(hours=1), "status": RunStatus.MISSED},
            "held": {
                "due_at": T0 - timedelta(hours=2),
                "status": RunStatus.SENDING,
                "lease_until": T0 + timedelta(seconds=1),
                "attempts": 1,
            },
            "abandoned": {
                "due_at": T0 - timedelta(minutes=30),
                "status": RunStatus.SENDING,
                "lease_until": T0 - timedelta(seconds=1),
                "attempts": 1,
            },
        }.items():
            run_id = await uow.schedules.add_run(make_run(key, **changes))
            assert run_id is not None
            ids[key] = run_id
        await uow.commit()

    async def claim(now: datetime, limit: int = 50) -> list[Run]:
        async with uow_factory() as uow:
            claimed = await uow.schedules.claim_runs(now, now + lease, limit=limit)
            await uow.commit()
        return claimed

    first = await claim(T0)
    assert [(r.key, r.attempts) for r in first] == [("abandoned", 2), ("due", 1), ("now", 1)]
    assert all(r.status is RunStatus.SENDING and r.lease_until == T0 + lease for r in first)
    assert [r.stored_id for r in first] == [ids["abandoned"], ids["due"], ids["now"]]

    # Leased: nobody claims them again until the lease runs out...
    assert [r.key for r in await claim(T0 + timedelta(minutes=1))] == ["held"]
    assert await claim(T0 + lease) == []
    # ...then they are claimed again, with one more attempt (oldest first, up to the limit).
    again = await claim(T0 + lease + timedelta(seconds=1), limit=2)
    assert [(r.key, r.attempts) for r in again] == [("abandoned", 3), ("due", 2)]

    async with uow_factory() as uow:
        await uow.schedules.finish_run(ids["due"], RunStatus.DONE, result_ref="1733045400.000100")
        await uow.schedules.finish_run(ids["abandoned"], RunStatus.FAILED)
        await uow.schedules.finish_run(ids["held"], RunStatus.SKIPPED)
        await uow.schedules.retry_run(ids["now"], T0 + timedelta(minutes=30))
        with pytest.raises(LookupError):
            await uow.schedules.finish_run(10_000, RunStatus.DONE)
        with pytest.raises(LookupError):
            await uow.schedules.retry_run(10_000, T0)
        await uow.commit()

    assert await claim(T0 + timedelta(minutes=29)) == []
    later = await claim(T0 + timedelta(minutes=30))
    assert [(r.key, r.attempts, r.due_at) for r in later] == [
        ("now", 2, T0 + timedelta(minutes=30))
    ]
    async with uow_factory() as uow:
        by_key = {r.key: r for r in await uow.schedules.runs(CHANNEL, RunKind.NUDGE)}
    assert by_key["due"].status is RunStatus.DONE
    assert by_key["due"].result_ref == "1733045400.000100"
    assert by_key["due"].lease_until is None
    assert by_key["abandoned"].status is RunStatus.FAILED
    assert by_key["abandoned"].result_ref is None
    assert by_key["future"].status is RunStatus.PENDING
    assert by_key["future"].attempts == 0
    assert by_key["held"].status is RunStatus.SKIPPED
    assert (by_key["done"].status, by_key["missed"].status) == (RunStatus.DONE, RunStatus.MISSED)
    # Finishing again without a result keeps the one stored.
    async with uow_factory() as uow:
        await uow.schedules.finish_run(ids["due"], RunStatus.DONE)
        by_key = {r.key: r for r in await uow.schedules.runs(CHANNEL, RunKind.NUDGE)}
    assert by_key["due"].result_ref == "1733045400.000100"


# --- standups -----------------------------------------------------------------------------


async def test_named_standups_are_schedules_of_their_own(uow_factory: UowFactory) -> None:
    default = await store_schedule(uow_factory, full_schedule())
    retro = await store_schedule(
        uow_factory,
        replace(full_schedule(), name="retro", days=("fri",), at="15:00", members=("U_LI",)),
    )
    assert retro.id != default.id
    # Saving it again updates it: one schedule per channel, kind and name.
    again = await store_schedule(uow_factory, replace(retro, id=None, window_minutes=30))
    assert again.id == retro.id
    async with uow_factory() as uow:
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP) == replace(
            default, updated_at=default.updated_at
        )
        loaded = await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP, "retro")
        assert loaded is not None and loaded.name == "retro" and loaded.window_minutes == 30
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP, "demo") is None
        assert await uow.schedules.get_by_id(retro.stored_id) == loaded
        assert [(s.kind, s.name) for s in await uow.schedules.of_channel(CHANNEL)] == [
            (ScheduleKind.STANDUP, None),
            (ScheduleKind.STANDUP, "retro"),
        ]
        assert await uow.schedules.of_channel(OTHER) == []
        due = await uow.schedules.claim_due(datetime(2027, 1, 1, tzinfo=BERLIN))
        assert {s.name for s in due} == {None, "retro"}
        opened, _ = await uow.schedules.open_standup(make_standup(retro.stored_id))
        await uow.schedules.save_answer(StandupAnswer(opened.stored_id, "U_LI", ("pairing",), T0))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.schedules.remove(retro.stored_id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP, "retro") is None
        assert await uow.schedules.get_standup(opened.stored_id) is None
        assert await uow.schedules.answers(opened.stored_id) == []
        assert await uow.schedules.get(CHANNEL, ScheduleKind.STANDUP) is not None


async def test_run_by_key_finds_where_a_run_was_sent(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        run_id = await uow.schedules.add_run(make_run("standup_close:7"))
        assert run_id is not None
        await uow.schedules.finish_run(run_id, RunStatus.DONE, "1733041815.000100")
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.schedules.run_by_key("standup_close:7")
        assert found is not None and found.result_ref == "1733041815.000100"
        assert found.channel == CHANNEL and found.status is RunStatus.DONE
        assert await uow.schedules.run_by_key("standup_close:8") is None


async def test_open_standup_is_get_or_create(uow_factory: UowFactory) -> None:
    schedule = await store_schedule(uow_factory, full_schedule())
    standup = make_standup(
        schedule.stored_id,
        away=("U_LI",),
        mode="dm",
        late_by_minutes=90,
        optional=("U_RAJ",),
        observers=("U_CIO",),
        mentions=False,
        late_until=datetime(2026, 12, 2, 15, 30, tzinfo=BERLIN),
    )
    async with uow_factory() as uow:
        opened, created = await uow.schedules.open_standup(standup)
        await uow.commit()
    assert created is True
    assert opened == replace(standup, id=opened.id)

    async with uow_factory() as uow:
        # A second opener (a retry, another replica) gets the stored one, not its own.
        again, created_again = await uow.schedules.open_standup(
            replace(standup, members=("U_SOMEONE",), late_by_minutes=0)
        )
        assert (again, created_again) == (opened, False)
        assert await uow.schedules.get_standup(opened.stored_id) == opened
        assert await uow.schedules.get_standup(10_000) is None

        closed = replace(opened, closed=True, message_ref="1733041815.000100", members=("U_ANA",))
        await uow.schedules.update_standup(closed)
        tomorrow, _ = await uow.schedules.open_standup(
            make_standup(schedule.stored_id, "2026-12-03")
        )
        with pytest.raises(ValueError, match="no id"):
            await uow.schedules.update_standup(standup)
        with pytest.raises(LookupError):
            await uow.schedules.update_standup(replace(closed, local_date="2026-12-09"))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.schedules.get_standup(opened.stored_id) == closed
        assert await uow.schedules.latest_standup(CHANNEL) == tomorrow
        assert await uow.schedules.latest_standup(OTHER) is None


async def test_many_standups_open_at_once_each_once(uow_factory: UowFactory) -> None:
    """The fan-out's batch: standups opened in one statement, get-or-create like one."""
    schedule = await store_schedule(uow_factory, full_schedule())
    async with uow_factory() as uow:
        existing, _ = await uow.schedules.open_standup(make_standup(schedule.stored_id))
        await uow.commit()
    drafts = [
        make_standup(schedule.stored_id, "2026-12-03"),
        replace(make_standup(schedule.stored_id), members=("U_SOMEONE",)),  # opened already
        replace(make_standup(schedule.stored_id, "2026-12-03"), members=("U_TWICE",)),
    ]
    async with uow_factory() as uow:
        opened = await uow.schedules.open_standups(drafts)
        await uow.schedules.set_standup_messages(
            [(schedule.stored_id, "2026-12-03", "1.1"), (schedule.stored_id, "2026-12-03", "1.2")]
        )
        await uow.commit()
    new = opened[0][0]
    assert opened == [(new, True), (existing, False), (new, False)]
    assert new == replace(drafts[0], id=new.id)
    async with uow_factory() as uow:
        # The first message ref sticks (a standup that has a message keeps it).
        assert await uow.schedules.get_standup(new.stored_id) == replace(new, message_ref="1.1")
        assert await uow.schedules.open_standups([]) == []


async def test_runs_renewed_started_and_finished_many_at_once(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.schedules.add_runs([make_run(f"batch:{n}") for n in range(3)]) == {
            "batch:0",
            "batch:1",
            "batch:2",
        }
        claimed = await uow.schedules.claim_runs(T0, T0 + timedelta(minutes=2))
        await uow.commit()
    first, second, third = sorted(claimed, key=lambda run: run.key)
    message = Outgoing(CHANNEL, Reply("Standup time"))
    async with uow_factory() as uow:
        # The third's claim is not this attempt's any more: left alone.
        held = await uow.schedules.renew_leases(
            [(first.stored_id, 1), (second.stored_id, 1), (third.stored_id, 2)],
            T0 + timedelta(minutes=4),
            send_started_at=T0,
        )
        assert held == {first.stored_id, second.stored_id}
        await uow.schedules.save_messages([(first.stored_id, message)], T0)
        await uow.schedules.finish_runs(
            [(first.stored_id, RunStatus.DONE, "9.9"), (second.stored_id, RunStatus.SKIPPED, None)]
        )
        await uow.commit()
    async with uow_factory() as uow:
        done = await uow.schedules.run_by_key("batch:0")
        skipped = await uow.schedules.run_by_key("batch:1")
        untouched = await uow.schedules.run_by_key("batch:2")
        assert await uow.schedules.stored_message(first.stored_id) == message
    assert done is not None and (done.status, done.result_ref, done.lease_until) == (
        RunStatus.DONE,
        "9.9",
        None,
    )
    assert done.built_at == T0 and done.send_started_at == T0
    assert skipped is not None and (skipped.status, skipped.result_ref) == (RunStatus.SKIPPED, None)
    assert untouched is not None and untouched.status is RunStatus.SENDING
    assert untouched.send_started_at is None


async def test_concurrent_openers_make_one_schedule_standup_and_run(
    uow_factory: UowFactory,
) -> None:
    # Eight workers race on a channel that does not exist yet: one channel row, one
    # schedule, one standup, one run; everyone sees the same ids.
    channel = ChannelKey("slack", "T0009", "C_NEW")

    async def open_it(n: int) -> tuple[int, bool, int | None]:
        async with uow_factory() as uow:
            schedule = await uow.schedules.save(
                Schedule(channel, ScheduleKind.STANDUP, members=(f"U{n}",), updated_at=T0)
            )
            standup, created = await uow.schedules.open_standup(
                replace(make_standup(schedule.stored_id), channel=channel)
            )
            run_id = await uow.schedules.add_run(
                Run(
                    f"standup_open:{schedule.stored_id}:2026-12-02",
                    RunKind.STANDUP_OPEN,
                    channel,
                    T0,
                )
            )
            await uow.commit()
        return standup.stored_id, created, run_id

    results = await asyncio.gather(*(open_it(n) for n in range(8)))
    assert len({standup_id for standup_id, _, _ in results}) == 1
    assert [created for _, created, _ in results].count(True) == 1
    assert len([run_id for _, _, run_id in results if run_id is not None]) == 1
    async with uow_factory() as uow:
        assert await uow.channels.channels() == [channel]
        stored = await uow.schedules.get(channel, ScheduleKind.STANDUP)
        assert stored is not None and len(stored.members) == 1
        assert len(await uow.schedules.runs(channel, RunKind.STANDUP_OPEN)) == 1


async def test_answers_upsert_keeps_the_order_of_first_answers(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    schedule = await store_schedule(uow_factory, full_schedule())
    async with uow_factory() as uow:
        standup, _ = await uow.schedules.open_standup(make_standup(schedule.stored_id))
        other, _ = await uow.schedules.open_standup(make_standup(schedule.stored_id, "2026-12-03"))
        await uow.commit()

    def answer(person: str, minutes: int, *texts: str) -> StandupAnswer:
        return StandupAnswer(
            standup.stored_id, person, texts, T0 + timedelta(minutes=minutes, microseconds=1)
        )

    ana_first = answer("U_ANA", 1, "wrote the spec", "nothing")
    raj = answer("U_RAJ", 2, "deployed ✓", "VPN", "none")
    ana_edit = answer("U_ANA", 5, "wrote and reviewed the spec", "", "D-3")
    async with uow_factory() as uow:
        await uow.schedules.save_answer(ana_first)
        await uow.schedules.save_answer(raj)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.schedules.answers(standup.stored_id) == [ana_first, raj]
        await uow.schedules.save_answer(ana_edit)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.schedules.answers(standup.stored_id) == [ana_edit, raj]
        assert await uow.schedules.answers(other.stored_id) == []

    # Answers go with their standup.
    async with engine.begin() as connection:
        await connection.execute(sa.delete(standups).where(standups.c.id == standup.stored_id))
    async with engine.connect() as connection:
        left = await connection.scalar(sa.select(sa.func.count()).select_from(standup_answers))
    assert left == 0


# --- migration 0002 -----------------------------------------------------------------------

NEW_TABLES = {"schedules", "runs", "standups", "standup_answers"}

# The 0001 schema, for writing rows the way a 0001 raidline did.
CHANNELS_0001 = sa.table(
    "channels",
    sa.column("id"),
    sa.column("platform"),
    sa.column("workspace"),
    sa.column("external_id"),
    sa.column("timezone"),
    sa.column("leads", sa.JSON()),
    sa.column("nudges_enabled", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
)
ITEMS_0001 = sa.table(
    "items",
    sa.column("id"),
    sa.column("channel_id"),
    sa.column("kind"),
    sa.column("number"),
    sa.column("status"),
    sa.column("title"),
    sa.column("reporter"),
    sa.column("owner"),
    sa.column("due_at", UTCDateTime()),
    sa.column("impacts", sa.JSON()),
    sa.column("approvers", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
EVENTS_0001 = sa.table(
    "item_events",
    sa.column("item_id"),
    sa.column("at", UTCDateTime()),
    sa.column("actor"),
    sa.column("action"),
    sa.column("changes", sa.JSON()),
)


def _sync_engine(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url), poolclass=NullPool)


def _table_names(url: str) -> set[str]:
    engine = _sync_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


async def test_0002_upgrade_downgrade_upgrade_keeps_data(db_url: str) -> None:
    due = datetime(2026, 12, 5, 17, 0, tzinfo=BERLIN)
    upgrade(db_url, "0001")
    engine = _sync_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                CHANNELS_0001.insert().values(
                    id=1,
                    platform=CHANNEL.platform,
                    workspace=CHANNEL.workspace,
                    external_id=CHANNEL.channel,
                    timezone="Europe/Berlin",
                    leads=["U_LEAD"],
                    nudges_enabled=False,
                    created_at=T0,
                )
            )
            connection.execute(
                ITEMS_0001.insert().values(
                    id=1,
                    channel_id=1,
                    kind="blocker",
                    number=7,
                    status="open",
                    title="VPN for the vendor — ✓",
                    reporter="U_REPORTER",
                    owner="U_OWNER",
                    due_at=due,
                    impacts={},
                    approvers=[],
                    created_at=T0,
                    updated_at=T0,
                )
            )
            connection.execute(
                EVENTS_0001.insert().values(
                    item_id=1, at=T0, actor="U_REPORTER", action="created", changes=[]
                )
            )
    finally:
        engine.dispose()

    async def load() -> tuple[Item | None, ChannelSettings, list[Event]]:
        bot_engine = create_engine(db_url)
        try:
            async with make_uow_factory(bot_engine)() as uow:
                item = await uow.items.get(CHANNEL, Kind.BLOCKER, 7)
                settings = await uow.channels.get_settings(CHANNEL)
                events = (await uow.items.events([1]))[1]
            return item, settings, events
        finally:
            await bot_engine.dispose()

    expected_item = replace(
        make_item(Kind.BLOCKER, 7, title="VPN for the vendor — ✓", owner="U_OWNER", due_at=due),
        id=1,
    )
    expected_settings = ChannelSettings(
        CHANNEL, timezone="Europe/Berlin", leads=("U_LEAD",), nudges_enabled=False
    )
    expected_events = [Event(at=T0, actor="U_REPORTER", action="created")]

    upgrade(db_url)  # to the head, through 0002
    assert current(db_url) == HEAD
    assert pending_diff(db_url) == []
    item, settings, events = await load()
    assert item == expected_item
    assert item is not None and item.nudge_count == 0 and item.last_nudged_at is None
    assert settings == expected_settings
    assert settings.work_days == WORKDAYS
    assert events == expected_events

    # Something in the new tables and columns, then back to 0001.
    bot_engine = create_engine(db_url)
    try:
        async with make_uow_factory(bot_engine)() as uow:
            await uow.items.update(replace(expected_item, nudge_count=2))
            schedule = await uow.schedules.save(full_schedule())
            standup, _ = await uow.schedules.open_standup(make_standup(schedule.stored_id))
            await uow.schedules.save_answer(StandupAnswer(standup.stored_id, "U_A", ("x",), T0))
            await uow.schedules.add_run(make_run("nudge:1:2026-12-01"))
            await uow.commit()
    finally:
        await bot_engine.dispose()

    downgrade(db_url, "0001")
    assert current(db_url) == "0001"
    assert _table_names(db_url) & NEW_TABLES == set()
    engine = _sync_engine(db_url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("items")}
            assert "nudge_count" not in columns
            title = connection.execute(sa.select(ITEMS_0001.c.title)).scalar_one()
            assert title == "VPN for the vendor — ✓"
            # Re-creating items on SQLite must not have cascaded to its events.
            assert (
                connection.execute(sa.select(sa.func.count()).select_from(EVENTS_0001)).scalar()
                == 1
            )
    finally:
        engine.dispose()

    upgrade(db_url)  # to the head, through 0002
    assert current(db_url) == HEAD
    assert pending_diff(db_url) == []
    assert _table_names(db_url) >= NEW_TABLES
    item, settings, events = await load()
    assert item == expected_item  # nudge_count back to 0: the column was dropped
    assert settings == expected_settings
    assert events == expected_events
