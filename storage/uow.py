"""The SQL unit of work: one session, one transaction, committed only on request."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import Unavailable
from bot.ports import (
    CalendarTokenRepository,
    ChannelRepository,
    ItemRepository,
    LessonRepository,
    ScheduleRepository,
)
from storage.db import (
    READ_ONLY,
    SQLITE_BUSY_TIMEOUT_MS,
    is_sqlite,
    is_unavailable_error,
    translate_errors,
)
from storage.repositories import (
    CHANNEL_IDS,
    SqlCalendarTokenRepository,
    SqlChannelRepository,
    SqlItemRepository,
    SqlLessonRepository,
    SqlScheduleRepository,
)
from storage.sessions import ConnectionStatements, SqliteWriter, sqlite_writer_for

if TYPE_CHECKING:
    from bot.ports import UnitOfWorkFactory

__all__ = [
    "SqlUnitOfWork",
    "check_database",
    "make_read_only_uow_factory",
    "make_uow_factory",
    "statement_engine",
]

logger = logging.getLogger(__name__)


class SqlUnitOfWork:
    """``bot.ports.UnitOfWork``: ``async with factory() as uow: …; await uow.commit()``.

    The connection is taken lazily, so entering costs nothing until the first statement.
    Leaving without ``commit()`` rolls back. Database outages surface as
    :class:`bot.errors.Unavailable`. What the statements run on: :mod:`storage.sessions`.
    """

    items: ItemRepository
    channels: ChannelRepository
    schedules: ScheduleRepository
    calendars: CalendarTokenRepository
    lessons: LessonRepository

    def __init__(
        self, session: ConnectionStatements | SqliteWriter, gate: WriterGate | None = None
    ) -> None:
        self._session = session
        self.items = SqlItemRepository(self._session)
        self.channels = SqlChannelRepository(self._session)
        self.schedules = SqlScheduleRepository(self._session)
        self.calendars = SqlCalendarTokenRepository(self._session)
        self.lessons = SqlLessonRepository(self._session)
        self._entered = False
        self._gate = gate
        self._holding = False

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._entered:
            raise RuntimeError("a unit of work can be entered only once; make a new one")
        self._entered = True
        if self._gate is not None:
            self._holding = await self._gate.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                if self._session.in_transaction():
                    await self._session.rollback()
            finally:
                try:
                    await self._session.close()
                finally:
                    if self._holding and self._gate is not None:
                        self._holding = False
                        self._gate.release()
        except Exception as error:
            # Nothing uncommitted survives a lost connection anyway, so an outage while
            # rolling back loses nothing; it must not hide the error that got us here.
            if exc is not None or is_unavailable_error(error):
                logger.warning("rollback at the end of a unit of work failed", exc_info=error)
                return
            raise

    @translate_errors
    async def commit(self) -> None:
        await self._session.commit()

    @translate_errors
    async def rollback(self) -> None:
        # Channel rows made in the transaction are gone, and so must their remembered ids be.
        self._session.info.pop(CHANNEL_IDS, None)
        await self._session.rollback()


class WriterGate:
    """One SQLite unit of work at a time in this process, first come first served (on
    PostgreSQL, :data:`PG_UNITS_AT_ONCE`).

    SQLite has one writer, and every unit of work starts with ``BEGIN IMMEDIATE``, so they
    run one after another anyway. Left to SQLite, the waiters poll the file lock with growing
    sleeps (up to 100 ms each) and are served in no order: under load a few commands wait
    seconds while the lock sits idle between holders. Queueing them on an asyncio lock first
    hands the file over at once and in order. Other processes (``raidline migrate``, a
    backup) still meet SQLite's busy timeout. A unit of work opened inside another in the same
    task does not wait for the gate (it would wait for itself); it meets SQLite's lock instead.

    PostgreSQL takes ``permits`` units of work at once: more only queue inside the server,
    on the rows they share (see :data:`PG_UNITS_AT_ONCE`).
    """

    def __init__(self, timeout: float, permits: int = 1) -> None:
        self.timeout = timeout
        self.permits = permits
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Lock | asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()
        self._holder: contextvars.ContextVar[bool] = contextvars.ContextVar(
            "raidline_writer_gate", default=False
        )

    def _lock(self) -> asyncio.Lock | asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            made = asyncio.Lock() if self.permits == 1 else asyncio.Semaphore(self.permits)
            lock = self._locks[loop] = made
        return lock

    async def acquire(self) -> bool:
        """Wait for the gate; False (nothing to release) when this task already holds it."""
        if self._holder.get():
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock().acquire()
        except TimeoutError:
            raise Unavailable("the database stayed busy") from None
        self._holder.set(True)
        return True

    def release(self) -> None:
        self._holder.set(False)
        self._lock().release()


#: Seconds a unit of work waits for the gate before the user is told the database is busy.
GATE_WAIT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000
#: PostgreSQL units of work one process runs at once; the others wait in the process, in
#: the order they came. Let through, they wait inside the server instead: 200 commands at once
#: in one channel all queue on its ref counter's row lock, and the more transactions queue
#: there, the slower it goes (through the core: 606 a second with 12 connections, 400 with
#: 35; benchmarks/README.md). Ten is more than the Slack adapter lets into the core (8).
PG_UNITS_AT_ONCE = 10


def make_uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """A ``bot.ports.UnitOfWorkFactory`` on ``engine`` (see :func:`storage.db.create_engine`)."""
    if not is_sqlite(engine.sync_engine):
        pg_gate = WriterGate(GATE_WAIT_SECONDS, permits=PG_UNITS_AT_ONCE)

        def factory() -> SqlUnitOfWork:
            return SqlUnitOfWork(ConnectionStatements(engine), pg_gate)

        return factory
    # SQLite: statements on the event loop's thread, one unit of work at a time (the gate).
    database = sqlite_writer_for(engine)
    gate = WriterGate(GATE_WAIT_SECONDS)

    def sqlite_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(SqliteWriter(database), gate)

    return sqlite_factory


def statement_engine(engine: AsyncEngine) -> Engine:
    """The synchronous engine whose events see the statements of ``make_uow_factory(engine)``'s
    units of work (on SQLite not ``engine``'s own: see :mod:`storage.sessions`)."""
    if is_sqlite(engine.sync_engine):
        return sqlite_writer_for(engine).engine
    return engine.sync_engine


def make_read_only_uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """Units of work that only read one consistent snapshot (exports, backups).

    They never hold up the running bot's writes: on SQLite they start DEFERRED (WAL mode lets
    a reader keep its snapshot while the writer commits) and skip the writer gate; on
    PostgreSQL they are REPEATABLE READ, READ ONLY: every table as of the first statement.
    """
    if is_sqlite(engine.sync_engine):
        engine = engine.execution_options(**{READ_ONLY: True})
    else:
        engine = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )

    def factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(ConnectionStatements(engine))

    return factory


#: Seconds a health check may take; a hung database must not hang ``/readyz`` too.
HEALTH_CHECK_TIMEOUT = 5.0

# Probes still running after their caller stopped waiting (a thread blocked in SQLite).
_probes: set[asyncio.Task[bool]] = set()


async def _probe(engine: AsyncEngine) -> bool:
    # Read-only: on SQLite a DEFERRED transaction and a read of the schema, which neither
    # takes the write lock nor waits for whoever holds it (WAL mode).
    sqlite = is_sqlite(engine.sync_engine)
    query = "SELECT count(*) FROM sqlite_master" if sqlite else "SELECT 1"
    try:
        async with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
            await connection.execute(text(query))
    except Exception as error:
        if not is_unavailable_error(error):
            logger.exception("database health check failed unexpectedly")
        else:
            logger.warning("database health check failed: %s", error.__class__.__name__)
        return False
    return True


async def check_database(engine: AsyncEngine, limit: float = HEALTH_CHECK_TIMEOUT) -> bool:
    """Whether the database answers a read within ``limit`` seconds (for ``/readyz``).

    Never raises and never takes longer than ``limit``: a probe stuck in the driver (a
    SQLite thread waiting on a lock) is left to finish in the background.
    """
    probe = asyncio.create_task(_probe(engine))
    _probes.add(probe)
    probe.add_done_callback(_probes.discard)
    done, _ = await asyncio.wait({probe}, timeout=limit)
    if not done:
        logger.warning("database health check timed out after %ss", limit)
        return False
    return probe.result()


if TYPE_CHECKING:
    # The core only knows the port; this keeps the two from drifting apart.
    def _conforms(factory: Callable[[], SqlUnitOfWork]) -> UnitOfWorkFactory:
        return factory
