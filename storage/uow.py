"""The SQL unit of work: one session, one transaction, committed only on request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.ports import ChannelRepository, ItemRepository, ScheduleRepository
from storage.db import is_unavailable_error, translate_errors
from storage.repositories import (
    CHANNEL_IDS,
    SqlChannelRepository,
    SqlItemRepository,
    SqlScheduleRepository,
)

if TYPE_CHECKING:
    from bot.ports import UnitOfWorkFactory

__all__ = ["SqlUnitOfWork", "check_database", "make_uow_factory"]

logger = logging.getLogger(__name__)


class SqlUnitOfWork:
    """``bot.ports.UnitOfWork``: ``async with factory() as uow: …; await uow.commit()``.

    The session connects lazily, so entering costs nothing until the first statement.
    Leaving without ``commit()`` rolls back. Database outages surface as
    :class:`bot.errors.Unavailable`.
    """

    items: ItemRepository
    channels: ChannelRepository
    schedules: ScheduleRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._session = sessions()
        self.items = SqlItemRepository(self._session)
        self.channels = SqlChannelRepository(self._session)
        self.schedules = SqlScheduleRepository(self._session)
        self._entered = False

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._entered:
            raise RuntimeError("a unit of work can be entered only once; make a new one")
        self._entered = True
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
                await self._session.close()
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


def make_uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """A ``bot.ports.UnitOfWorkFactory`` on ``engine`` (see :func:`storage.db.create_engine`)."""
    # Items are immutable dataclasses built from rows, so nothing needs refreshing after a
    # commit, and autoflush has nothing to flush: statements are executed directly.
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    def factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions)

    return factory


#: Seconds a health check may take; a hung database must not hang ``/healthz`` too.
HEALTH_CHECK_TIMEOUT = 5.0


async def check_database(engine: AsyncEngine) -> bool:
    """Whether the database answers a trivial query (for ``/healthz``); never raises."""
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError:
        logger.warning("database health check timed out after %ss", HEALTH_CHECK_TIMEOUT)
        return False
    except Exception as error:
        if not is_unavailable_error(error):
            logger.exception("database health check failed unexpectedly")
        else:
            logger.warning("database health check failed: %s", error.__class__.__name__)
        return False
    return True


if TYPE_CHECKING:
    # The core only knows the port; this keeps the two from drifting apart.
    def _conforms(factory: Callable[[], SqlUnitOfWork]) -> UnitOfWorkFactory:
        return factory
