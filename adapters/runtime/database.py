"""The database at start-up: URL checks, migrate-on-start, the probe, one clear line when the
database cannot be reached, and the single-process lock SQLite needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.platform import EXIT_CONFIG, EXIT_UNAVAILABLE, StartupError
from adapters.runtime.config import ConfigError, Settings, mask_url_password
from storage import db, migrate
from storage.process_lock import AlreadyRunning, single_process

log = logging.getLogger("raidline.runtime")

#: Seconds start-up waits for the database before saying it cannot reach it.
CONNECT_TIMEOUT = 20.0


def database_display(settings: Settings) -> str:
    """The database URL as shown to people: no password."""
    return mask_url_password(settings.database_url)


def check_database_url(settings: Settings) -> str:
    """The URL in the driver form the engine uses; a :class:`ConfigError` when unusable."""
    try:
        return db.normalize_url(settings.database_url)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL: {_one_line(str(exc))}") from None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def unreachable(settings: Settings, error: BaseException | None = None) -> StartupError:
    """'can't reach the database at …' with the driver's reason, password removed."""
    reason = ""
    if error is not None:
        original = getattr(error, "orig", None) or error
        first = str(original).strip().splitlines()
        reason = _one_line(first[0]) if first else type(original).__name__
        for secret in settings.secret_values():
            reason = reason.replace(secret, "***")
    message = f"can't reach the database at {database_display(settings)}"
    if reason:
        message += f" ({reason})"
    message += "; check DATABASE_URL and that the database is running."
    return StartupError(message, EXIT_UNAVAILABLE)


def newer_database(settings: Settings, state: migrate.Compatibility) -> StartupError:
    """A newer raidline migrated the database past what this one works with (status 2)."""
    return StartupError(
        f"the database at {database_display(settings)} is at revision {state.revision}, "
        f"which a newer raidline migrated to and this one (revision {state.head}) cannot run "
        f"on (it needs {state.oldest_compatible or 'an unknown release'} or later); "
        "upgrade this replica to the newer release.",
        EXIT_CONFIG,
    )


def _on_newer(settings: Settings, state: migrate.Compatibility) -> str | None:
    """Run on a newer database when its migrations were expand-only for this release."""
    if not state.works_here:
        raise newer_database(settings, state)
    log.warning(
        "database revision %s is newer than this raidline's %s; it keeps working for releases "
        "from revision %s on, so this one runs on it: upgrade it soon",
        state.revision,
        state.head,
        state.oldest_compatible,
    )
    return state.revision


async def migrate_database(settings: Settings) -> str | None:
    """Apply every migration; returns the database's revision afterwards.

    A database a newer raidline migrated is left as it is: when its migrations keep this
    release working the revision is returned, else a :class:`StartupError` (status 2).
    """
    check_database_url(settings)
    try:
        await migrate.upgrade_async(settings.database_url)
        return await asyncio.to_thread(migrate.current, settings.database_url)
    except migrate.NewerDatabase as newer:
        return _on_newer(settings, newer.state)
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise


async def open_engine(settings: Settings, *, migrate_sqlite: bool = True) -> AsyncEngine:
    """The engine on the configured database, reachable and migrated (SQLite automatically).

    With ``migrate_sqlite=False`` (a tool next to a running bot: exports) SQLite is not
    migrated either, only checked. Raises :class:`ConfigError` for an unusable URL and
    :class:`StartupError` when the database cannot be reached, is not migrated, or was
    migrated by a newer raidline that this one does not work with.
    """
    check_database_url(settings)
    engine = db.create_engine(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        timeouts=database_timeouts(settings),
        pg_pool_size=settings.raidline_pg_pool_size,
    )
    try:
        sqlite = db.is_sqlite(engine)
        if sqlite and migrate_sqlite:
            await migrate_database(settings)
        await _probe(settings, engine)
        if not (sqlite and migrate_sqlite):
            await _check_migrated(settings)
    except BaseException:
        await engine.dispose()
        raise
    return engine


def database_timeouts(settings: Settings) -> db.Timeouts:
    """PostgreSQL's statement, lock and idle-in-transaction limits from the settings."""
    return db.Timeouts(
        statement=settings.raidline_pg_statement_timeout,
        lock=settings.raidline_pg_lock_timeout,
        idle_in_transaction=settings.raidline_pg_idle_in_transaction_timeout,
    )


async def _probe(settings: Settings, engine: AsyncEngine) -> None:
    """Open one connection, so an unreachable database is one clear line at start-up."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect():
            pass
    except TimeoutError as exc:
        raise unreachable(settings, TimeoutError(f"no answer in {CONNECT_TIMEOUT:g}s")) from exc
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise


async def _check_migrated(settings: Settings) -> None:
    """Outside SQLite migrations are the operator's step: say so instead of failing later.

    A database a newer raidline migrated is fine while its migrations were expand-only for
    this release (a rolling upgrade); otherwise this replica refuses to start (status 2).
    """
    try:
        state = await asyncio.to_thread(migrate.compatibility, settings.database_url)
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise
    if state.revision == state.head:
        return
    if state.newer:
        _on_newer(settings, state)
        return
    raise StartupError(
        f"the database at {database_display(settings)} is at revision {state.revision or 'none'} "
        f"but this raidline needs {state.head}; run `raidline migrate` first.",
        EXIT_UNAVAILABLE,
    )


@contextlib.contextmanager
def one_process(settings: Settings) -> Iterator[None]:
    """SQLite serves one raidline process; PostgreSQL any number (scale-out)."""
    try:
        with single_process(settings.database_url):
            yield
    except AlreadyRunning as exc:
        raise StartupError(str(exc), EXIT_UNAVAILABLE) from None


__all__ = [
    "CONNECT_TIMEOUT",
    "check_database_url",
    "database_display",
    "database_timeouts",
    "migrate_database",
    "newer_database",
    "one_process",
    "open_engine",
    "unreachable",
]
