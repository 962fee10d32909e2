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


def _remember(insert: Any) -> Any:
    """The insert that records a key once, built once per backend (SQLAlchemy then finds its
    compiled form without walking the statement at every request)."""
    return (
        insert(seen_requests)
        .values(key=bindparam("seen_key"), expires_at=bindparam("seen_expires_at"))
        .on_conflict_do_nothing(index_elements=[seen_requests.c.key])
        .returning(seen_requests.c.key)
    )


_REMEMBER_SQLITE = _remember(sqlite_insert)
_REMEMBER_POSTGRES = _remember(pg_insert)


@translate_errors
async def remember(engine: AsyncEngine, key: str, expires_at: datetime) -> bool:
    """Record ``key``; False when it is recorded already (by this process or another)."""
    parameters = {"seen_key": key, "seen_expires_at": expires_at}
    if is_sqlite(engine):
        # raidline's SQLite engine begins every transaction itself (BEGIN IMMEDIATE).
        async with engine.begin() as conn:
            inserted = (await conn.execute(_REMEMBER_SQLITE, parameters)).first()
    else:
        # One statement, atomic on its own: in autocommit, one round trip instead of three
        # (BEGIN, the insert, COMMIT). The pool makes the connection transactional again.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            inserted = (await conn.execute(_REMEMBER_POSTGRES, parameters)).first()
    return inserted is not None


@translate_errors
async def sweep(engine: AsyncEngine, now: datetime) -> int:
    """Forget what expired before ``now``; returns how many rows went."""
    async with engine.begin() as conn:
        result = await conn.execute(seen_requests.delete().where(seen_requests.c.expires_at < now))
    return int(result.rowcount)
