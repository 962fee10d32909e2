"""``seen_requests``: the signed chat requests already taken, shared by every replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import is_sqlite, translate_errors
from storage.tables import seen_requests

__all__ = ["remember", "sweep"]


@translate_errors
async def remember(engine: AsyncEngine, key: str, expires_at: datetime) -> bool:
    """Record ``key``; False when it is recorded already (by this process or another)."""
    insert = sqlite_insert if is_sqlite(engine) else pg_insert
    statement = (
        insert(seen_requests)
        .values(key=key, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[seen_requests.c.key])
        .returning(seen_requests.c.key)
    )
    async with engine.begin() as conn:
        inserted = (await conn.execute(statement)).first()
    return inserted is not None


@translate_errors
async def sweep(engine: AsyncEngine, now: datetime) -> int:
    """Forget what expired before ``now``; returns how many rows went."""
    async with engine.begin() as conn:
        result = await conn.execute(seen_requests.delete().where(seen_requests.c.expires_at < now))
    return int(result.rowcount)
