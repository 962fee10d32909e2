"""The installations of a multi-workspace (OAuth) app, cached in front of the database.

Bolt asks the installation store for the workspace's bot before every request, and every
message raidline sends on its own needs the workspace's token. :class:`Installs` is the
store Bolt gets: it answers from a bounded cache (:data:`INSTALLS_KEPT` workspaces, each
fresh for :data:`INSTALL_TTL` seconds) and asks :mod:`storage.slack_installations` only
when the entry is missing or old.

When the database cannot be reached (or takes longer than :data:`LOOKUP_TIMEOUT`), the last
known installation of the workspace is used, however old, and the configured bot token
serves its own workspace; a workspace known neither way raises
:class:`bot.errors.Unavailable`, which the app answers with "can't reach its database".
After a failed look-up the database is left alone for :data:`QUIET_AFTER_FAILURE` seconds.

Saving or deleting an installation (an install, ``app_uninstalled``, ``tokens_revoked``)
forgets the workspace's cached entries at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.cache import Bounded
from bot.errors import Unavailable
from storage.slack_installations import SlackInstallations

log = logging.getLogger("raidline.slack")

#: Seconds a cached installation is used without asking the database.
INSTALL_TTL = 60.0
#: The most workspaces remembered at once.
INSTALLS_KEPT = 10_000
#: Seconds a look-up may take before the request goes on as if the database were down.
LOOKUP_TIMEOUT = 2.0
#: Seconds the database is not asked again after a look-up failed.
QUIET_AFTER_FAILURE = 2.0

_T = TypeVar("_T")
#: (enterprise id, team id, org-wide install) as Bolt looks a bot up
BotKey = tuple[str | None, str | None, bool]


class Installs(AsyncInstallationStore):
    """Bolt's installation store: :mod:`storage.slack_installations` behind a bounded cache."""

    def __init__(
        self,
        installations: SlackInstallations,
        *,
        size: int = INSTALLS_KEPT,
        ttl: float = INSTALL_TTL,
    ) -> None:
        self.installations = installations
        self._store = installations.installation_store
        self._bots: Bounded[BotKey, Bot] = Bounded(size, ttl)
        #: workspace (team or enterprise id) -> its newest bot token
        self._tokens: Bounded[str, str] = Bounded(size, ttl)
        #: the configured bot token's own workspace, known without the database
        self._own: Bot | None = None
        self._quiet_until = 0.0

    @property
    def logger(self) -> logging.Logger:
        logger: logging.Logger = self._store.logger
        return logger

    @property
    def cached(self) -> int:
        """How many workspaces' entries are held (never more than the cache's size each)."""
        return max(len(self._bots), len(self._tokens))

    def know_own(self, bot: Bot) -> None:
        """The configured bot token's workspace: served even when the database is down."""
        self._own = bot

    # -- reads ---------------------------------------------------------------------------

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key: BotKey = (enterprise_id, team_id, bool(is_enterprise_install))
        return await self._cached(
            self._bots,
            key,
            lambda: self._store.async_find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            ),
            self._own_bot(enterprise_id, team_id),
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found: Installation | None = await self._store.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found

    async def token_for(self, workspace: str) -> str | None:
        """The newest bot token installed in ``workspace`` (a team or enterprise id)."""
        own = self._own_bot(workspace, workspace)
        return await self._cached(
            self._tokens,
            workspace,
            lambda: self.installations.token_for(workspace),
            own.bot_token if own is not None else None,
        )

    # -- writes: each forgets what it changes ---------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        await self._store.async_save(installation)
        self._forget(installation.enterprise_id, installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._store.async_save_bot(bot)
        self._forget(bot.enterprise_id, bot.team_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._forget(enterprise_id, team_id)
        await self._store.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        self._forget(enterprise_id, team_id)
        await self._store.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._forget(enterprise_id, team_id)
        if self._own is not None and self._own_bot(enterprise_id, team_id) is self._own:
            self._own = None
        await self._store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    # -- the cache ------------------------------------------------------------------------

    def _own_bot(self, enterprise_id: str | None, team_id: str | None) -> Bot | None:
        own = self._own
        if own is None:
            return None
        if team_id is not None and own.team_id == team_id:
            return own
        if team_id is None and enterprise_id is not None and own.enterprise_id == enterprise_id:
            return own
        return None

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        names = {name for name in (enterprise_id, team_id) if name}
        self._bots.drop_where(lambda key: key[1] in names or (key[1] is None and key[0] in names))
        for name in names:
            self._tokens.drop(name)

    async def _cached(
        self,
        cache: Bounded[Any, _T],
        key: Any,
        load: Callable[[], Awaitable[_T | None]],
        own: _T | None,
    ) -> _T | None:
        fresh = cache.fresh(key)
        if fresh is not None:
            return fresh
        if time.monotonic() >= self._quiet_until:
            try:
                async with asyncio.timeout(LOOKUP_TIMEOUT):
                    found = await load()
            except (Unavailable, TimeoutError) as e:
                self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
                log.warning("couldn't read Slack installations (%s)", type(e).__name__)
            else:
                if found is None:
                    cache.drop(key)
                else:
                    cache.put(key, found)
                return found
        known = cache.last_known(key)
        if known is None:
            known = own
        if known is None:
            raise Unavailable()
        log.info("the database is unreachable; using the last known installation of %s", key)
        return known


__all__ = ["INSTALLS_KEPT", "INSTALL_TTL", "Installs"]
