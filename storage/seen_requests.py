"""``seen_requests``: the signed chat requests already taken, shared by every replica."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import is_sqlite, translate_errors
from storage.tables import seen_requests

__all__ = ["remember", "sweep"]


def _remember_statement(sqlite: bool) -> Any:
    insert = sqlite_insert if sqlite else pg_insert
    return (
        insert(seen_requests)
        .values(key=bindparam("seen_key"), expires_at=bindparam("seen_expires_at"))
        .on_conflict_do_nothing(index_elements=[seen_requests.c.key])
        .returning(seen_requests.c.key)
    )


#: by backend: built once, so SQLAlchemy finds its compiled form without walking it each time
_REMEMBER = {sqlite: _remember_statement(sqlite) for sqlite in (True, False)}


@translate_errors
async def remember(engine: AsyncEngine, key: str, expires_at: datetime) -> bool:
    """Record ``key``; False when it is recorded already (by this process or another)."""
    sqlite = is_sqlite(engine)
    parameters = {"seen_key": key, "seen_expires_at": expires_at}
    if sqlite:
        async with engine.begin() as conn:
            inserted = (await conn.execute(_REMEMBER[True], parameters)).first()
        return inserted is not None
    # One statement, atomic on its own: in autocommit, one round trip instead of three
    # (BEGIN, the insert, COMMIT).
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        inserted = (await conn.execute(_REMEMBER[False], parameters)).first()
    return inserted is not None


@translate_errors
async def sweep(engine: AsyncEngine, now: datetime) -> int:
    """Forget what expired before ``now``; returns how many rows went."""
    async with engine.begin() as conn:
        result = await conn.execute(seen_requests.delete().where(seen_requests.c.expires_at < now))
    return int(result.rowcount)
