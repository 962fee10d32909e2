"""Slack installations: slack_sdk's installation and OAuth state stores on raidline's engine.

With OAuth (more than one workspace) every workspace that installs raidline gets a row in
slack_sdk's own SQLAlchemy tables, in raidline's database. The Slack adapter reads them
through this module only; it holds no SQL of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, desc, or_
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db

#: Seconds an OAuth ``state`` stays valid between /slack/install and the redirect.
STATE_EXPIRATION = 600


class SlackInstallations:
    """The installation and state stores of one Slack app (``client_id``).

    They use ``engine`` (raidline's) when given, else an engine of their own on
    ``database_url``, disposed by :meth:`close`.
    """

    def __init__(self, client_id: str, engine: AsyncEngine | None, database_url: str) -> None:
        self._own_engine: AsyncEngine | None = None
        if engine is None:
            engine = self._own_engine = db.create_engine(database_url)
        logger = logging.getLogger("raidline.slack.oauth")
        self.installation_store = AsyncSQLAlchemyInstallationStore(
            client_id=client_id, engine=engine, logger=logger
        )
        self.state_store = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_EXPIRATION, engine=engine, logger=logger
        )

    async def create_tables(self) -> None:
        await self.installation_store.create_tables()  # type: ignore[no-untyped-call]
        await self.state_store.create_tables()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._own_engine is not None:
            await self._own_engine.dispose()
            self._own_engine = None

    async def token_for(self, workspace: str) -> str | None:
        """The newest bot token installed in ``workspace``, or None.

        A workspace key is a team id, or an enterprise id for an org-wide install; the
        store's own finder needs both ids, which a scheduled message does not have.
        """
        store = self.installation_store
        c = store.bots.c
        query = (
            store.bots.select()
            .where(
                and_(
                    c.client_id == store.client_id,
                    c.bot_token.is_not(None),
                    or_(
                        c.team_id == workspace,
                        and_(c.team_id.is_(None), c.enterprise_id == workspace),
                    ),
                )
            )
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        async with store.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return str(row["bot_token"]) if row is not None else None

    async def add_bot_if_missing(
        self,
        *,
        team_id: str,
        enterprise_id: str | None,
        bot_token: str | None,
        app_id: str | None,
        team_name: str | None,
        bot_id: str | None,
        bot_user_id: str | None,
        scopes: Sequence[str],
    ) -> None:
        """Record a bot token's own workspace unless it is installed already."""
        store = self.installation_store
        if await store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id) is not None:
            return
        await store.async_save(
            Installation(
                app_id=app_id,
                enterprise_id=enterprise_id,
                team_id=team_id,
                team_name=team_name,
                bot_token=bot_token,
                bot_id=bot_id,
                bot_user_id=bot_user_id,
                bot_scopes=list(scopes),
                user_id=str(bot_user_id or ""),
            )
        )


__all__ = ["SlackInstallations"]
