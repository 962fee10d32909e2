"""Storage behind digests and the nudge sweep: indexed queries that read what they show, on
SQLite and PostgreSQL, and migration 0003 (events know their channel, items count date moves).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

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
    Status,
)
from bot.services import digests
from bot.views import digests as digest_views
from storage.db import sync_url
from storage.migrate import current, downgrade, upgrade
from storage.types import UTCDateTime
from tests.integration.conftest import CHANNEL, T0, UowFactory, make_item

OTHER = ChannelKey("slack", "T0001", "C0002")
NOW = T0 + timedelta(days=10)
ACTIVE = ItemFilter(statuses=tuple(sorted(ACTIVE_STATUSES)))


def moved(minutes: int, old: str | None = "Fri 5 Dec") -> Event:
    return Event(
        at=T0 + timedelta(minutes=minutes),
        actor="U_A",
        action="re-dated",
        changes=(Change("due_at", old, "Mon 8 Dec"),),
    )


async def test_add_event_counts_date_moves_and_update_keeps_the_count(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        item = await uow.items.add(make_item(Kind.BLOCKER, 1))
        await uow.items.add_event(item.stored_id, moved(1, old=None))  # a first date: no move
        await uow.items.add_event(item.stored_id, moved(2))
        await uow.items.add_event(item.stored_id, moved(3))
        # An update from a copy read before the moves does not reset the count.
        await uow.items.update(replace(item, title="renamed"))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)
    assert stored is not None
    assert (stored.title, stored.date_moves) == ("renamed", 2)


async def test_find_count_and_owner_counts(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        for item in (
            make_item(Kind.BLOCKER, 1, owner="U_A", due_at=NOW - timedelta(hours=1)),
            make_item(Kind.BLOCKER, 2, owner="U_A", created_at=T0 + timedelta(minutes=1)),
            make_item(Kind.BLOCKER, 3, owner="U_B", created_at=T0 + timedelta(minutes=2)),
            make_item(Kind.BLOCKER, 4, created_at=T0 + timedelta(minutes=3)),
            make_item(Kind.BLOCKER, 5, owner="U_A", status=Status.RESOLVED),
            make_item(Kind.RISK, 1, likelihood=2, impact=2),
            make_item(Kind.RISK, 2, likelihood=5, impact=4, created_at=T0 + timedelta(minutes=1)),
            make_item(Kind.RISK, 3, created_at=T0 + timedelta(minutes=2)),
            make_item(Kind.BLOCKER, 1, channel=OTHER, owner="U_A"),
        ):
            await uow.items.add(item)
        await uow.commit()
    open_blockers = ItemFilter(kinds=(Kind.BLOCKER,), statuses=(Status.OPEN,))
    async with uow_factory() as uow:
        items = uow.items
        refs = [str(i.ref) for i in await items.find(CHANNEL, open_blockers, limit=3)]
        assert refs == ["B-1", "B-2", "B-3"]
        wheres = [open_blockers, replace(open_blockers, unowned=True)]
        wheres += [replace(ACTIVE, due_before=NOW), ItemFilter(kinds=(Kind.CHANGE,))]
        assert await items.counts(CHANNEL, wheres) == [4, 1, 1, 0]
        assert await items.counts(ChannelKey("slack", "T0001", "C_NONE"), wheres) == [0] * 4
        # the same filter twice, and again in another query (its SQL is built once and kept)
        again = [open_blockers, ItemFilter(kinds=(Kind.BLOCKER,), statuses=(Status.OPEN,))]
        assert await items.counts(CHANNEL, [*again, wheres[1]]) == [4, 4, 1]
        assert await items.counts(OTHER, again) == [1, 1]
        assert await items.owner_counts(CHANNEL, open_blockers) == [("U_A", 2), ("U_B", 1)]
        assert await items.owner_counts(CHANNEL, open_blockers, at_least=2) == [("U_A", 2)]
        risks = ItemFilter(kinds=(Kind.RISK,))
        by_score = await items.find(CHANNEL, risks, order=ItemOrder.SCORE)
        assert [str(r.ref) for r in by_score] == ["R-2", "R-1", "R-3"]


async def test_nudge_candidates_are_the_items_a_rule_may_apply_to(
    uow_factory: UowFactory,
) -> None:
    late = NOW - timedelta(hours=1)
    old = NOW - timedelta(days=3)
    soon, lately = NOW + timedelta(hours=5), NOW - timedelta(hours=2)

    def blocker(n: int, **kw: object) -> Item:
        return make_item(Kind.BLOCKER, n, **kw)

    cases = {
        # ref: (item, whether it is a candidate)
        "B-1": (blocker(1, owner="U_A", due_at=late), True),
        "B-2": (blocker(2, owner="U_A", due_at=NOW + timedelta(hours=1)), False),
        "B-3": (blocker(3, created_at=old), True),  # unowned for days
        "B-4": (blocker(4, created_at=NOW - timedelta(hours=2)), False),
        "B-5": (blocker(5, owner="U_A", due_at=late, status=Status.RESOLVED), False),
        "B-6": (blocker(6, owner="U_A", due_at=late, snoozed_until=soon), False),
        "B-7": (blocker(7, owner="U_A", due_at=late, last_nudged_at=lately), False),
        "B-8": (blocker(8, owner="U_A", due_at=late, last_nudged_at=NOW - timedelta(days=1)), True),
        "D-1": (make_item(Kind.DECISION, 1, due_at=late), True),
        "D-2": (make_item(Kind.DECISION, 2, due_at=late, status=Status.DECIDED), False),
        "C-1": (make_item(Kind.CHANGE, 1, created_at=old), True),
        "C-2": (make_item(Kind.CHANGE, 2, created_at=NOW - timedelta(hours=3)), False),
        "R-1": (make_item(Kind.RISK, 1, due_at=late), True),
        "R-2": (make_item(Kind.RISK, 2), False),
    }  # fmt: skip
    async with uow_factory() as uow:
        for item, _ in cases.values():
            await uow.items.add(item)
        await uow.items.add(make_item(Kind.BLOCKER, 1, channel=OTHER, owner="U_A", due_at=late))
        await uow.channels.save_settings(ChannelSettings(OTHER, nudges_enabled=False))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.items.nudge_candidates(
            NOW,
            unowned_before=NOW - timedelta(days=1),
            waiting_before=NOW - timedelta(days=2),
            nudged_before=NOW - timedelta(hours=12),
        )
    assert {str(i.ref) for i in found} == {ref for ref, (_, wanted) in cases.items() if wanted}
    assert {i.channel for i in found} == {CHANNEL}  # nudges off in OTHER


async def test_a_big_backlog_digest_shows_ten_lines_and_counts_the_rest(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        for n in range(1, 26):
            item = await uow.items.add(
                make_item(Kind.BLOCKER, n, created_at=T0 + timedelta(minutes=n))
            )
            await uow.items.add_event(item.stored_id, Event(item.created_at, "U_A", "created"))
        await uow.items.add_event(item.stored_id, moved(30))
        await uow.items.add_event(item.stored_id, moved(31))
        await uow.commit()
    async with uow_factory() as uow:
        found = await digests.build(uow, CHANNEL, T0, NOW)
    reply = digest_views.digest(found, "Europe/Berlin", NOW)
    assert found.worth_sending
    blocked = reply.sections[1]
    assert blocked.heading == "What is blocked (25)"
    assert len(blocked.lines) == digests.SHOWN + 1
    assert blocked.lines[-1] == "…and 15 more: /raid list blockers"
    changed = reply.sections[0].lines
    assert changed == (
        "Blockers: new B-1, B-2, B-3, B-4, B-5, B-6, B-7, B-8, B-9, B-10, B-11, B-12, B-13, "
        "B-14, B-15 and 10 more; updated B-25",
    )
    warnings = reply.sections[-1].lines
    assert "B-25 has had its date moved 2 times" in warnings
    assert any(line.endswith("B-15 and 10 more") for line in warnings)  # unowned blockers
    assert reply.text == "Digest: 27 changes, 25 open blockers, 0 waiting for a decision"


# --- migration 0003 ------------------------------------------------------------------------


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url), poolclass=NullPool)


@pytest.mark.parametrize("round_trip", [False, True], ids=["up", "down-up"])
def test_0003_gives_events_their_channel_and_counts_date_moves(
    db_url: str, round_trip: bool
) -> None:
    upgrade(db_url, "0002")
    channels = sa.table("channels", sa.column("id"), sa.column("platform"),
                        sa.column("workspace"), sa.column("external_id"),
                        sa.column("leads", sa.JSON()), sa.column("nudges_enabled", sa.Boolean()),
                        sa.column("created_at", UTCDateTime()))  # fmt: skip
    items = sa.table("items", sa.column("id"), sa.column("channel_id"), sa.column("kind"),
                     sa.column("number"), sa.column("status"), sa.column("title"),
                     sa.column("reporter"), sa.column("impacts", sa.JSON()),
                     sa.column("approvers", sa.JSON()), sa.column("created_at", UTCDateTime()),
                     sa.column("updated_at", UTCDateTime()))  # fmt: skip
    events = sa.table("item_events", sa.column("item_id"), sa.column("at", UTCDateTime()),
                      sa.column("actor"), sa.column("action"),
                      sa.column("changes", sa.JSON()))  # fmt: skip
    engine = _engine(db_url)
    try:
        with engine.begin() as connection:
            for n, channel in ((1, "C1"), (2, "C2")):
                connection.execute(channels.insert().values(
                    id=n, platform="slack", workspace="T1", external_id=channel, leads=[],
                    nudges_enabled=True, created_at=T0))  # fmt: skip
                connection.execute(items.insert().values(
                    id=n, channel_id=n, kind="blocker", number=1, status="open", title="t",
                    reporter="U", impacts={}, approvers=[], created_at=T0,
                    updated_at=T0))  # fmt: skip
            due = [{"field": "due_at", "old": "Fri 5 Dec", "new": "Mon 8 Dec"}]
            first = [{"field": "due_at", "old": None, "new": "Fri 5 Dec"}]
            connection.execute(events.insert(), [
                {"item_id": 1, "at": T0, "actor": "U", "action": "created", "changes": []},
                {"item_id": 1, "at": T0, "actor": "U", "action": "re-dated", "changes": first},
                {"item_id": 1, "at": T0, "actor": "U", "action": "re-dated", "changes": due},
                {"item_id": 1, "at": T0, "actor": "U", "action": "re-dated", "changes": due},
                {"item_id": 2, "at": T0, "actor": "U", "action": "re-dated", "changes": due},
            ])  # fmt: skip
        upgrade(db_url)
        if round_trip:
            downgrade(db_url, "0002")
            assert current(db_url) == "0002"
            upgrade(db_url)
        with engine.connect() as connection:
            moves = dict(connection.execute(sa.text("SELECT id, date_moves FROM items")).all())
            owners = connection.execute(
                sa.text("SELECT item_id, channel_id FROM item_events ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert moves == {1: 2, 2: 1}
    assert [tuple(row) for row in owners] == [(1, 1)] * 4 + [(2, 2)]
