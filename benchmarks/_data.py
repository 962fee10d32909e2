"""Bulk test data for the storage-heavy benchmarks, written straight into a migrated database
with executemany (the commands would take hours to log a million events one by one).

Rows look like the ones raidline writes itself: the same tables, columns and JSON shapes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bot.domain.model import WORKDAYS
from storage.db import sync_url
from storage.tables import channels, item_events, items, ref_counters, schedules

CHUNK = 20_000
KINDS = ("blocker", "risk", "decision", "change")
OPEN_STATUS = {"blocker": "open", "risk": "open", "decision": "pending", "change": "proposed"}
DONE_STATUS = {
    "blocker": "resolved",
    "risk": "closed",
    "decision": "decided",
    "change": "implemented",
}
PEOPLE = [f"U{n:04d}" for n in range(40)]


def sync_engine(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url), poolclass=NullPool)


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(engine: sa.Engine, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with engine.begin() as connection:
        for batch in _chunks(rows):
            connection.execute(table.insert(), batch)
            count += len(batch)
    return count


def add_channels(
    engine: sa.Engine,
    count: int,
    *,
    platform: str = "slack",
    workspace: str = "T1",
    created_at: datetime,
) -> list[int]:
    """``count`` channels C000000…; their ids in order."""
    insert_rows(
        engine,
        channels,
        (
            {
                "platform": platform,
                "workspace": workspace,
                "external_id": f"C{n:06d}",
                "timezone": "Europe/Berlin",
                "leads": ["U0000"],
                "nudges_enabled": True,
                "created_at": created_at,
            }
            for n in range(count)
        ),
    )
    with engine.connect() as connection:
        query = sa.select(channels.c.id).where(channels.c.workspace == workspace)
        return list(connection.execute(query.order_by(channels.c.external_id)).scalars())


def add_items(
    engine: sa.Engine,
    channel_id: int,
    *,
    open_count: int,
    done_count: int,
    now: datetime,
    kinds: Sequence[str] = KINDS,
    overdue_share: float = 0.1,
    seed: int = 7,
) -> list[int]:
    """Open and finished items of ``kinds`` in one channel, created over the last year; ids of
    every item, open ones first. ``overdue_share`` of the open ones are past their date."""
    rng = random.Random(seed)
    numbers = dict.fromkeys(kinds, 0)

    def row(n: int, is_open: bool) -> dict[str, Any]:
        kind = kinds[n % len(kinds)]
        numbers[kind] += 1
        created = now - timedelta(days=rng.uniform(2, 365))
        overdue = is_open and rng.random() < overdue_share
        due = (
            now - timedelta(hours=rng.uniform(1, 48))
            if overdue
            else now + timedelta(days=rng.uniform(1, 60))
        )
        return {
            "channel_id": channel_id,
            "kind": kind,
            "number": numbers[kind],
            "status": OPEN_STATUS[kind] if is_open else DONE_STATUS[kind],
            "title": f"{kind} number {numbers[kind]} about the staging database",
            "reporter": rng.choice(PEOPLE),
            "owner": rng.choice(PEOPLE) if kind != "change" else None,
            "due_at": due,
            "likelihood": rng.randint(1, 5) if kind == "risk" else None,
            "impact": rng.randint(1, 5) if kind == "risk" else None,
            "impacts": {"cost": "+2 days"} if kind == "change" else {},
            "approvers": [rng.choice(PEOPLE)] if kind == "change" else [],
            "created_at": created,
            "updated_at": created,
            "nudge_count": 0,
        }

    insert_rows(
        engine,
        items,
        (row(n, n < open_count) for n in range(open_count + done_count)),
    )
    with engine.begin() as connection:
        for kind, last in numbers.items():
            connection.execute(
                ref_counters.insert(), {"channel_id": channel_id, "kind": kind, "last_number": last}
            )
        query = sa.select(items.c.id).where(items.c.channel_id == channel_id).order_by(items.c.id)
        return list(connection.execute(query).scalars())


def add_events(
    engine: sa.Engine,
    channel_id: int,
    item_ids: Sequence[int],
    count: int,
    *,
    start: datetime,
    end: datetime,
    seed: int = 11,
) -> int:
    """``count`` events spread over ``item_ids`` (of ``channel_id``) at times in [start, end);
    every fifth one moves a date, as re-dating does, and is counted in the item's date moves."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()

    def row(n: int) -> dict[str, Any]:
        redate = n % 5 == 0
        return {
            "item_id": item_ids[rng.randrange(len(item_ids))],
            "channel_id": channel_id,
            "at": start + timedelta(seconds=rng.uniform(0, span)),
            "actor": rng.choice(PEOPLE),
            "action": "re-dated" if redate else "note",
            "changes": (
                [
                    {
                        "field": "due_at",
                        "old": "2026-01-01T10:00:00+00:00",
                        "new": "2026-02-01T10:00:00+00:00",
                    }
                ]
                if redate
                else []
            ),
            "note": None if redate else "checked with the vendor again",
        }

    written = insert_rows(engine, item_events, (row(n) for n in range(count)))
    moves = (
        sa.select(sa.func.count())
        .where(item_events.c.item_id == items.c.id, item_events.c.action == "re-dated")
        .scalar_subquery()
    )
    with engine.begin() as connection:
        connection.execute(
            items.update().where(items.c.channel_id == channel_id).values(date_moves=moves)
        )
    return written


def add_schedules(
    engine: sa.Engine,
    channel_ids: Sequence[int],
    *,
    next_run_at: datetime,
    at: str,
    kind: str = "standup",
    now: datetime,
) -> int:
    """A standup (or digest) schedule in each channel, every workday at ``at`` Berlin time."""
    return insert_rows(
        engine,
        schedules,
        (
            {
                "channel_id": channel_id,
                "kind": kind,
                "days": list(WORKDAYS),
                "at": at,
                "timezone": "Europe/Berlin",
                "enabled": True,
                "next_run_at": next_run_at,
                "questions": [
                    "What did you do yesterday?",
                    "What will you do today?",
                    "Anything blocking you?",
                ],
                "members": PEOPLE[:5],
                "window_minutes": 120,
                "mode": "thread",
                "skip_dates": [],
                "away": {},
                "updated_at": now,
            }
            for channel_id in channel_ids
        ),
    )


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Berlin
