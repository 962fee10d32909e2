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
from typing import Any, TypeVar, TypeVarTuple, cast, overload

from sqlalchemy import Executable, Result, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.sql.selectable import TypedReturnsRows

from storage.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_options, sqlite_pragmas

__all__ = [
    "ConnectionStatements",
    "Parameters",
    "SqliteWriter",
    "Statements",
    "hot",
    "sqlite_writer_for",
]

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


#: The execution option that marks a statement as :func:`hot`.
HOT = "raidline_hot"
_E = TypeVar("_E", bound=Executable)


def hot(statement: _E) -> _E:
    """Mark a statement built once (a module constant, or cached) as run on every command.

    A :class:`SqliteWriter` runs such a statement straight on the ``sqlite3`` cursor: its SQL,
    parameter order and type conversions are taken from SQLAlchemy's compiler once
    (:class:`_Prepared`), instead of going through SQLAlchemy's execution context at every
    call (about 13 microseconds a statement here, against 6 for the driver's own work).
    Anything the fast way cannot do exactly as SQLAlchemy would (Python-side column defaults,
    expanding ``IN`` parameters, many rows of parameters, statement event listeners) goes the
    usual way.
    """
    return statement.execution_options(**{HOT: True})


class _Prepared:
    """One hot statement compiled for SQLite with one set of parameter names."""

    __slots__ = ("_binds", "_compiled", "_defaults", "_keys", "_results", "sql")

    def __init__(self, compiled: SQLCompiler, defaults: dict[str, Any]) -> None:
        self._compiled = compiled
        #: the columns' constant defaults for those not given, as SQLAlchemy would fill them in
        self._defaults = defaults
        self.sql = compiled.string
        dialect = compiled.dialect
        processors = {
            name: bind.type._cached_bind_processor(dialect)
            for bind, name in compiled.bind_names.items()
        }
        #: in the order of the SQL's ``?``: each parameter's name and its type's conversion
        self._binds = tuple((name, processors.get(name)) for name in compiled.positiontup or ())
        columns = compiled._result_columns
        self._keys = tuple(column[0] for column in columns)
        self._results = tuple(
            column[3]._cached_result_processor(dialect, None) for column in columns
        )

    @staticmethod
    def of(compiled: SQLCompiler) -> _Prepared | None:
        """The prepared form, or None where only SQLAlchemy's own execution is exact."""
        if not compiled.positional or compiled.update_prefetch:
            return None
        if compiled.literal_execute_params or compiled.post_compile_params:
            return None
        if any(bind.expanding for bind in compiled.binds.values()):
            return None
        defaults: dict[str, Any] = {}
        for column in compiled.insert_prefetch:
            default = column.default
            if not isinstance(default, ScalarElementColumnDefault):
                return None  # a Python function: SQLAlchemy calls it with its context
            defaults[column.key] = default.arg
        return _Prepared(compiled, defaults)

    def run(self, raw: sqlite3.Connection, parameters: Mapping[str, Any]) -> Result[Any]:
        if self._defaults:
            parameters = {**self._defaults, **parameters}
        try:
            given = self._compiled.construct_params(parameters, _check=True)
            values = [
                given[name] if process is None else process(given[name])
                for name, process in self._binds
            ]
        except Exception as error:
            # As SQLAlchemy reports a value its types refuse (a naive datetime, say).
            kind = type(error)
            raise StatementError(
                f"({kind.__module__}.{kind.__qualname__}) {error}", self.sql, parameters, error
            ) from error
        try:
            cursor = raw.execute(self.sql, values)
            rows = cursor.fetchall() if self._keys else []
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                self.sql, values, error, sqlite3.Error, dialect=self._compiled.dialect
            ) from error
        if rows and any(self._results):
            results = self._results
            rows = [
                tuple(v if p is None else p(v) for v, p in zip(row, results, strict=True))
                for row in rows
            ]
        found: Result[Any] = IteratorResult(SimpleResultMetaData(self._keys), iter(rows))
        found.rowcount = cursor.rowcount  # type: ignore[attr-defined]
        return found


class SqliteDatabase:
    """The writer side of one SQLite file: a synchronous engine and the database thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: where opening connections and waiting for the write lock happen, off the event loop
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raidline-sqlite")
        #: hot statements as prepared, by the statement and its parameters' names
        self.prepared: dict[tuple[int, frozenset[str]], tuple[Executable, _Prepared | None]] = {}

    def prepare(self, statement: Executable, names: frozenset[str]) -> _Prepared | None:
        """``statement`` prepared for parameters called ``names``, if it is hot."""
        key = (id(statement), names)
        found = self.prepared.get(key)
        if found is not None and found[0] is statement:
            return found[1]
        if not isinstance(statement, ClauseElement) or not statement.get_execution_options().get(
            HOT
        ):
            return None
        compiled = statement.compile(dialect=self.engine.dialect, column_keys=sorted(names))
        assert isinstance(compiled, SQLCompiler)  # noqa: S101 - a Core statement
        prepared = _Prepared.of(compiled)
        # The statement is kept with it, so that its id cannot name another statement.
        self.prepared[key] = (statement, prepared)
        return prepared

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
        if parameters is None or isinstance(parameters, Mapping):
            names = frozenset(parameters or ())
            prepared = self._database.prepare(statement, names)
            if prepared is not None and not self._database.engine.dispatch.before_cursor_execute:
                raw = connection.connection.driver_connection
                return prepared.run(cast(sqlite3.Connection, raw), parameters or {})
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
