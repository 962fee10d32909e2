"""Database URLs, engines and the line between "the database is unreachable" and a bug.

Users configure plain URLs (``sqlite:///raidline.db``, ``postgres://…``); the bot runs on
SQLAlchemy's asyncio engines (aiosqlite, psycopg 3) and Alembic on the matching sync drivers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import psycopg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.errors import Unavailable

__all__ = [
    "BUSY",
    "DEFAULT_SQLITE_SYNCHRONOUS",
    "READ_ONLY",
    "SQLITE_SYNCHRONOUS_LEVELS",
    "Timeouts",
    "check_sqlite_synchronous",
    "create_engine",
    "install_sqlite_transaction_control",
    "is_sqlite",
    "is_timeout_error",
    "is_unavailable_error",
    "normalize_url",
    "sqlite_options",
    "sqlite_pragmas",
    "sync_url",
    "translate_errors",
]

_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}
# psycopg2 URLs share libpq's query parameters with psycopg 3, so they can be taken over as
# they are; asyncpg's (``ssl=``, ``prepared_statement_cache_size=``) cannot.
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}

_EXAMPLES = "e.g. sqlite:///raidline.db or postgresql+psycopg://user:password@host:5432/raidline"

#: Seconds a PostgreSQL connection attempt may take before the database counts as unreachable.
PG_CONNECT_TIMEOUT = 10
#: Milliseconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: SQLite's ``PRAGMA synchronous`` levels raidline accepts, weakest first. FULL (the default)
#: syncs the write-ahead log at every commit: a commit that was answered survives a power cut
#: or an operating-system crash. NORMAL syncs only at checkpoints: still never a corrupt file,
#: but the last commits before such a crash can be lost (a process crash loses nothing).
#: EXTRA also syncs the directory. OFF is not offered: it can corrupt the file.
SQLITE_SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")
#: The default for a system of record.
DEFAULT_SQLITE_SYNCHRONOUS = "FULL"


@dataclass(frozen=True)
class Timeouts:
    """PostgreSQL's limits per connection, in seconds (0: none). A statement that runs longer,
    a lock waited for longer, or a transaction left idle longer ends with "try again"."""

    statement: float = 15.0
    lock: float = 5.0
    idle_in_transaction: float = 60.0

    def settings(self) -> dict[str, int]:
        """The PostgreSQL settings, in milliseconds."""
        return {
            "statement_timeout": round(self.statement * 1000),
            "lock_timeout": round(self.lock * 1000),
            "idle_in_transaction_session_timeout": round(self.idle_in_transaction * 1000),
        }


#: What a user is told when the database was there but too busy (a timeout above).
BUSY = "raidline's database is busy right now; nothing was saved, please try again."


def _parse(url: str) -> URL:
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"The database URL is empty; expected a SQLAlchemy URL, {_EXAMPLES}.")
    try:
        return make_url(url.strip())
    except sa_exc.ArgumentError:
        raise ValueError(
            f"The database URL could not be parsed; expected a SQLAlchemy URL, {_EXAMPLES}."
        ) from None


def _normalized(url: str) -> URL:
    parsed = _parse(url)
    driver = parsed.drivername.lower()
    if driver in _SQLITE_DRIVERS:
        database = parsed.database or ""
        in_memory = (
            database in ("", ":memory:")
            or database.startswith("file::memory:")
            or parsed.query.get("mode") == "memory"
        )
        if in_memory:
            # Every pooled connection would get its own empty database and everything would
            # be lost at exit; a bot's log has to live in a file.
            raise ValueError(
                "In-memory SQLite databases are not supported; give a file path, "
                "e.g. sqlite:///raidline.db (relative) or sqlite:////var/lib/raidline/raidline.db."
            )
        return parsed.set(drivername="sqlite+aiosqlite")
    if driver in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if driver.startswith(("postgres", "postgresql")):
        raise ValueError(
            f"The PostgreSQL driver {parsed.drivername!r} is not supported; "
            "use postgresql:// or postgresql+psycopg:// (psycopg 3)."
        )
    raise ValueError(
        f"Unsupported database {parsed.drivername!r}: raidline runs on SQLite or PostgreSQL, "
        f"{_EXAMPLES}."
    )


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def normalize_url(url: str) -> str:
    """A user's database URL as the asyncio driver URL the bot runs on.

    ``sqlite:///x.db`` -> ``sqlite+aiosqlite:///x.db``; ``postgres://``, ``postgresql://`` and
    ``postgresql+psycopg://`` -> ``postgresql+psycopg://``. Raises ``ValueError`` with a message
    fit for an operator when the URL is malformed, in-memory or for another database.
    The result contains the password: do not log it.
    """
    return _render(_normalized(url))


def sync_url(url: str) -> str:
    """The same database for synchronous use (Alembic): ``sqlite:///…`` or ``postgresql+psycopg://…``."""
    normalized = _normalized(url)
    if normalized.drivername == "sqlite+aiosqlite":
        return _render(normalized.set(drivername="sqlite"))
    return _render(normalized)


def is_sqlite(engine: AsyncEngine | Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_pragmas(synchronous: str) -> Callable[[Any, ConnectionPoolEntry], None]:
    """The ``connect`` listener setting every pragma raidline's SQLite connections need."""
    level = check_sqlite_synchronous(synchronous)

    def set_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy emits BEGIN itself (see _begin_immediate); sqlite3's own implicit BEGIN
        # would otherwise start transactions late and as DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first, so that a connection racing another one to switch the file
            # to WAL waits instead of failing with "database is locked".
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Per connection: see SQLITE_SYNCHRONOUS_LEVELS for what each level keeps.
            cursor.execute(f"PRAGMA synchronous={level}")
            # Per connection, not per file: without this, ON DELETE CASCADE and FKs are ignored.
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    return set_pragmas


#: The ``synchronous`` level each SQLite engine was made with (see sqlite_options).
_SYNCHRONOUS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def sqlite_options(engine: Engine) -> str:
    """The ``PRAGMA synchronous`` level ``engine``'s connections get (the default for an
    engine not made by :func:`install_sqlite_transaction_control`)."""
    return _SYNCHRONOUS.get(engine, DEFAULT_SQLITE_SYNCHRONOUS)


def check_sqlite_synchronous(level: str) -> str:
    """``level`` upper-cased when it is one of :data:`SQLITE_SYNCHRONOUS_LEVELS`, else
    ``ValueError`` (the level ends up in a PRAGMA: nothing else may)."""
    name = str(level).strip().upper()
    if name not in SQLITE_SYNCHRONOUS_LEVELS:
        raise ValueError(
            f"{level!r} is not a SQLite synchronous level ({', '.join(SQLITE_SYNCHRONOUS_LEVELS)})"
        )
    return name


def _set_migration_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


#: An execution option: this engine or connection only reads (a backup, a health check). On
#: SQLite its transactions start DEFERRED: in WAL mode a reader sees one snapshot and neither
#: waits for the writer nor holds it up.
READ_ONLY = "raidline_read_only"


def _begin_immediate(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
        return
    # A DEFERRED transaction that reads and then writes fails at once with SQLITE_BUSY
    # (busy_timeout does not apply to that upgrade) when another writer got in between.
    # Taking the write lock at BEGIN turns that into a wait, and serializes the units of work.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def install_sqlite_transaction_control(
    engine: Engine,
    *,
    foreign_keys: bool = True,
    synchronous: str = DEFAULT_SQLITE_SYNCHRONOUS,
) -> None:
    """Let SQLAlchemy, not sqlite3, start transactions, as ``BEGIN IMMEDIATE``.

    With ``foreign_keys=False`` (used for migrations, where SQLite's batch mode drops and
    re-creates tables and must not cascade) only transaction control and the busy timeout are
    set up (SQLite's own ``synchronous`` default, FULL, then applies). ``synchronous`` is one
    of :data:`SQLITE_SYNCHRONOUS_LEVELS`.
    """
    if foreign_keys:
        event.listen(engine, "connect", sqlite_pragmas(synchronous))
        _SYNCHRONOUS[engine] = check_sqlite_synchronous(synchronous)
    else:
        event.listen(engine, "connect", _set_migration_pragmas)
    event.listen(engine, "begin", _begin_immediate)


#: The database file and its ``-wal``/``-shm`` companions hold every item, and (with OAuth)
#: the workspaces' bot tokens: readable and writable by raidline's own user only.
SQLITE_FILE_MODE = 0o600


def secure_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only, or tighten an existing one.

    SQLite creates the ``-wal`` and ``-shm`` files with the main file's permissions, so a file
    made here with mode 0600 keeps them private too; existing companions are tightened as well.
    In-memory databases and other backends are left alone.
    """
    normalized = _normalized(url)
    if not normalized.drivername.startswith("sqlite"):
        return
    database = normalized.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # start-up says clearly that the folder is missing
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SQLITE_FILE_MODE)
    except FileExistsError:
        pass
    except OSError:
        return  # unwritable folder: opening the database reports it in its own words
    else:
        os.close(fd)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # not there, or not ours: nothing to tighten
            if companion.stat().st_mode & 0o077:
                companion.chmod(SQLITE_FILE_MODE)


def _set_timeouts(timeouts: Timeouts) -> Callable[[Any, ConnectionPoolEntry], None]:
    statements = [f"SET {name} = {value}" for name, value in timeouts.settings().items()]

    def set_timeouts(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SET is transactional in PostgreSQL: commit it, or the pool's first rollback undoes it.
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()

    return set_timeouts


#: PostgreSQL connections a process keeps open. Under a burst of Slack commands a process
#: holds one for each request's replay check (16 at once in the benchmark) and one for each
#: of the (at most 8) commands in the core, besides the scheduler's. With 5, the connections
#: beyond them were opened and closed again for every request (a new server process,
#: authentication and the timeouts' SET each time): about a tenth of the server's CPU, and
#: a quarter of its rate (benchmarks/README.md).
DEFAULT_PG_POOL_SIZE = 25
#: Connections opened beyond the pool when it is all in use, closed again when returned.
PG_POOL_OVERFLOW = 10


def create_engine(
    url: str,
    *,
    sqlite_synchronous: str = DEFAULT_SQLITE_SYNCHRONOUS,
    timeouts: Timeouts | None = None,
    pg_pool_size: int = DEFAULT_PG_POOL_SIZE,
) -> AsyncEngine:
    """An asyncio engine for a user's database URL (see :func:`normalize_url`).

    ``sqlite_synchronous`` is SQLite's ``PRAGMA synchronous`` level on every connection (one of
    :data:`SQLITE_SYNCHRONOUS_LEVELS`; ``ValueError`` otherwise); PostgreSQL ignores it. On
    PostgreSQL every connection gets ``timeouts`` (by default :class:`Timeouts`' own), and
    the pool keeps ``pg_pool_size`` connections open (see :data:`DEFAULT_PG_POOL_SIZE`).
    """
    normalized = _normalized(url)
    if normalized.drivername == "sqlite+aiosqlite":
        check_sqlite_synchronous(sqlite_synchronous)
        secure_sqlite_file(url)
        engine = create_async_engine(
            normalized, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        install_sqlite_transaction_control(engine.sync_engine, synchronous=sqlite_synchronous)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in normalized.query:
        # libpq waits indefinitely for a host that drops packets; a command should instead
        # fail with "can't reach the database" while the bot keeps running.
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
    engine = create_async_engine(
        normalized,
        pool_size=pg_pool_size,
        max_overflow=PG_POOL_OVERFLOW,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "connect", _set_timeouts(timeouts or Timeouts()))
    event.listen(engine.pool, "checkin", _returned)
    event.listen(engine.pool, "checkout", _ping_when_idle)
    return engine


#: Seconds a pooled PostgreSQL connection may sit unused before it is pinged at checkout.
PING_WHEN_IDLE_SECONDS = 10.0
_RETURNED = "raidline_returned_at"


def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_RETURNED] = time.monotonic()


def _ping_when_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Pooled connections that sat unused for a while are pinged before use, and replaced
    when dead (a restarted server, a dropped network). ``pool_pre_ping`` would ping at every
    checkout: one more round trip per unit of work. A connection found dead in use is
    invalidated with the whole pool's older ones, and a unit of work that meets one at its
    first statement starts again on a new one (:mod:`storage.sessions`)."""
    returned = record.info.get(_RETURNED)
    if returned is None or time.monotonic() - returned < PING_WHEN_IDLE_SECONDS:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception as error:
        raise sa_exc.DisconnectionError("a pooled connection died while unused") from error
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


# SQLite result codes (the low byte of sqlite_errorcode) that mean the file cannot be used
# right now, as opposed to a bad statement or a missing table, which are bugs.
_SQLITE_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
    sqlite3.SQLITE_NOTADB,
}


def _sqlite_unavailable(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return (code & 0xFF) in _SQLITE_UNAVAILABLE_CODES
    message = str(error).lower()
    return any(
        words in message
        for words in ("unable to open database", "database is locked", "disk i/o error")
    )


#: SQLSTATEs of PostgreSQL's timeouts: statement_timeout (query_canceled), lock_timeout
#: (lock_not_available) and idle_in_transaction_session_timeout.
_PG_TIMEOUT_STATES = frozenset({"57014", "55P03", "25P03"})


def is_timeout_error(error: BaseException) -> bool:
    """Whether ``error`` is one of PostgreSQL's timeouts (see :class:`Timeouts`)."""
    original = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    return isinstance(original, psycopg.Error) and original.sqlstate in _PG_TIMEOUT_STATES


def is_unavailable_error(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or used right now.

    Bugs (syntax errors, missing tables, constraint violations) are not: they must surface
    as themselves, not as "please try again".
    """
    if isinstance(error, sa_exc.TimeoutError):
        return True  # no pooled connection became free in time
    if is_timeout_error(error):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        if isinstance(original, sqlite3.Error):
            return _sqlite_unavailable(original)
        if isinstance(original, psycopg.Error):
            return isinstance(original, psycopg.OperationalError | psycopg.InterfaceError)
        return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
    if isinstance(error, sa_exc.SQLAlchemyError):
        return False
    if isinstance(error, sqlite3.Error):
        return _sqlite_unavailable(error)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    return isinstance(error, OSError)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def translate_errors(
    function: Callable[_P, Awaitable[_R]],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Raise :class:`bot.errors.Unavailable` for database outages (saying "busy" for a
    timeout); anything else unchanged."""

    @functools.wraps(function)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await function(*args, **kwargs)
        except Unavailable:
            raise
        except Exception as error:
            if is_timeout_error(error):
                raise Unavailable(BUSY) from error
            if is_unavailable_error(error):
                raise Unavailable() from error
            raise

    return wrapper
