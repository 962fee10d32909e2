"""What a unit of work runs its statements on: one connection, one transaction.

The repositories need three things of it (:class:`Statements`):
``await execute(statement, parameters)``, ``get_bind()`` (for the dialect) and ``info`` (what
the unit of work remembers, such as channel ids). Two kinds serve them:

- :class:`ConnectionStatements`, on an asyncio connection (PostgreSQL through psycopg's own
  asyncio, and SQLite's read-only snapshots through aiosqlite). SQLAlchemy Core on a
  connection, without the ORM session's bookkeeping per statement.
- :class:`SqliteWriter`, raidline's SQLite units of work. aiosqlite runs every driver call on
  its own thread and hands the answer back through the event loop: four thread hops per
  statement (open a cursor, execute, fetch, close) and about a third of a logged item's time
  in waiting for them. Here the statements run on the event loop's thread, on a plain
  ``sqlite3`` connection, while the unit of work holds SQLite's write lock. That is safe
  because nothing can make them wait: the in-process gate (:class:`storage.uow.WriterGate`)
  lets one unit of work at a time in, ``BEGIN IMMEDIATE`` takes the file's write lock before
  the first statement, and in WAL mode a writer holding it neither waits for readers nor
  for anyone else. What can wait goes to the database thread instead: opening a connection,
  and waiting for the lock when another process (``raidline migrate``, a backup, the Slack
  installation store's own connection) holds it. The commit, which syncs the log to disk,
  stays in place (see :meth:`SqliteWriter.commit`). So a unit of work costs no thread hop
  at all when nobody else holds the file, instead of four per statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVarTuple, overload

from sqlalchemy import Executable, Result, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.selectable import TypedReturnsRows

from storage.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_options, sqlite_pragmas

__all__ = ["ConnectionStatements", "Parameters", "SqliteWriter", "Statements", "sqlite_writer_for"]

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
_Ts = TypeVarTuple("_Ts")


class Statements:
    """What a repository runs its statements on: the unit of work's one transaction. ``info``
    is what the unit of work remembers until it ends (such as channel ids)."""

    info: dict[str, Any]

    def get_bind(self) -> Engine:
        raise NotImplementedError

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Parameters = None
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Parameters = None
    ) -> Result[*tuple[Any, ...]]: ...

    async def execute(
        self, statement: Executable, parameters: Parameters = None
    ) -> Result[*tuple[Any, ...]]:
        return await self._execute(statement, parameters)

    async def _execute(
        self, statement: Executable, parameters: Parameters
    ) -> Result[*tuple[Any, ...]]:
        raise NotImplementedError


class ConnectionStatements(Statements):
    """Statements on an asyncio connection of ``engine``, opened at the first one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self.info: dict[str, Any] = {}

    def get_bind(self) -> Engine:
        return self._engine.sync_engine

    async def _execute(
        self, statement: Executable, parameters: Parameters
    ) -> Result[*tuple[Any, ...]]:
        connection = self._connection
        if connection is None:
            connection = self._connection = await self._engine.connect()
        if connection.in_transaction():
            return await connection.execute(statement, parameters)
        try:
            return await connection.execute(statement, parameters)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        # The first statement met a connection that died in the pool (nothing of this unit
        # of work was sent on it): once more, on a new one.
        await self.close()
        connection = self._connection = await self._engine.connect()
        return await connection.execute(statement, parameters)

    def in_transaction(self) -> bool:
        return self._connection is not None and self._connection.in_transaction()

    async def commit(self) -> None:
        if self._connection is not None:
            await self._connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None:
            await self._connection.rollback()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class SqliteDatabase:
    """The writer side of one SQLite file: a synchronous engine and the database thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: where opening connections and waiting for the write lock happen, off the event loop
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raidline-sqlite")

    def dispose(self) -> None:
        self.engine.dispose()
        self.thread.shutdown(wait=False)


_databases: weakref.WeakKeyDictionary[Engine, SqliteDatabase] = weakref.WeakKeyDictionary()


def _no_wait(dbapi_connection: Any, _record: Any) -> None:
    # The statements run on the event loop: a lock held elsewhere must fail at once (and be
    # waited for on the database thread, see SqliteWriter._begin), never stall the loop.
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def sqlite_writer_for(engine: AsyncEngine) -> SqliteDatabase:
    """The writer side of ``engine``'s SQLite file; disposed with ``engine``."""
    found = _databases.get(engine.sync_engine)
    if found is not None:
        return found
    synchronous = sqlite_options(engine.sync_engine)
    url = engine.url.set(drivername="sqlite")
    sync = create_sync_engine(
        url,
        # Used by the event loop's thread and the database thread, one at a time.
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(sync, "connect", sqlite_pragmas(synchronous))
    event.listen(sync, "connect", _no_wait)
    database = _databases[engine.sync_engine] = SqliteDatabase(sync)

    def disposed(_connection: Any) -> None:
        database.dispose()

    event.listen(engine.sync_engine, "engine_disposed", disposed)
    return database


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error).lower()


def _wait_and_begin(raw: sqlite3.Connection) -> None:
    """On the database thread: wait for the write lock as long as SQLite's busy timeout."""
    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    try:
        raw.execute("BEGIN IMMEDIATE")
    finally:
        raw.execute("PRAGMA busy_timeout=0")


def _discard(connection: Connection) -> None:
    connection.rollback()
    connection.close()


class SqliteWriter(Statements):
    """A SQLite unit of work's statements, run on the event loop's thread (module docstring).

    Only for units of work that hold the writer gate: the connection is taken from the pool
    at the first statement and its transaction is ``BEGIN IMMEDIATE`` at once.
    """

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database
        self._connection: Connection | None = None
        self.info: dict[str, Any] = {}

    def get_bind(self) -> Engine:
        return self._database.engine

    async def _execute(
        self, statement: Executable, parameters: Parameters
    ) -> Result[*tuple[Any, ...]]:
        connection = self._connection
        if connection is None or not connection.in_transaction():
            connection = await self._begin()
        return connection.execute(statement, parameters)

    async def _begin(self) -> Connection:
        connection = self._connection
        if connection is None:
            engine = self._database.engine
            if isinstance(engine.pool, QueuePool) and engine.pool.checkedin():
                connection = engine.connect()  # a pooled one: nothing to wait for
            else:
                # Opening a connection sets the pragmas, which may wait for another process.
                connection = await asyncio.wrap_future(self._database.thread.submit(engine.connect))
            self._connection = connection
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)  # noqa: S101 - the pysqlite driver
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            # Another process holds the file: wait for it where waiting stalls nothing.
            waiting = self._database.thread.submit(_wait_and_begin, raw)
            try:
                await asyncio.wrap_future(waiting)
            except asyncio.CancelledError:
                # The thread may still get the lock: the connection is its to give back.
                self._connection = None
                waiting.add_done_callback(
                    lambda _: self._database.thread.submit(_discard, connection)
                )
                raise
        # SQLAlchemy's own bookkeeping; pysqlite sends nothing for it (SQLite's BEGIN is ours).
        connection.begin()
        return connection

    def in_transaction(self) -> bool:
        return self._connection is not None and self._connection.in_transaction()

    async def commit(self) -> None:
        # In place, although it syncs the log to disk: SQLite has one writer, and a commit
        # handed to the database thread would hold the write lock (and every unit of work
        # queued behind it) until the event loop came round to this task again, which under
        # load takes longer than the sync itself.
        if self._connection is not None:
            self._connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None:
            self._connection.rollback()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
