"""Slack installations: slack_sdk's installation and OAuth state stores on raidline's engine.

With OAuth (more than one workspace) every workspace that installs raidline gets a row in
slack_sdk's own SQLAlchemy tables, in raidline's database. The Slack adapter reads them
through this module only; it holds no SQL of its own.

Tokens are stored encrypted (:mod:`storage.secrets`): :class:`EncryptedInstallationStore`
encrypts the bot, user and refresh tokens before it saves and decrypts them after it finds.
A plain-text token stored by an earlier release is read as it is and encrypted when it is
saved again, or by :func:`rotate_tokens`.

A database that cannot be reached raises :class:`bot.errors.Unavailable` from every read and
write here, so the adapter can answer "can't reach its database" instead of failing.

OAuth states (one row per visit of the install page) expire after :data:`STATE_EXPIRATION`
seconds; each new state deletes the expired ones (:class:`PurgingOAuthStateStore`), so the
table holds only the states of the last few minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table, Text, and_, desc, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import db, secrets
from storage.db import translate_errors
from storage.secrets import KeyMismatch, TokenCipher

#: Seconds an OAuth ``state`` stays valid between /slack/install and the redirect.
STATE_EXPIRATION = 600


#: The token columns of slack_sdk's tables, encrypted at rest.
INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = ("bot_token", "bot_refresh_token")


_E = TypeVar("_E", Installation, Bot)

#: Set while async_save runs: the bot it saves carries sealed tokens already.
_SEALED: ContextVar[bool] = ContextVar("raidline_tokens_sealed", default=False)


def _widened(table: Table, columns: Sequence[str]) -> Table:
    """slack_sdk's table with TEXT token columns: an encrypted token exceeds VARCHAR(200)."""
    for name in columns:
        table.c[name].type = Text()
    return table


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store with its tokens encrypted at rest.

    :attr:`cipher` is set by :meth:`SlackInstallations.open` before anything is saved or found.
    """

    cipher: TokenCipher | None = None

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        table = SQLAlchemyInstallationStore.build_installations_table(metadata, table_name)
        return _widened(table, INSTALLATION_TOKENS)

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widened(
            SQLAlchemyInstallationStore.build_bots_table(metadata, table_name), BOT_TOKENS
        )

    def _cipher(self) -> TokenCipher:
        if self.cipher is None:
            raise RuntimeError("the installation store is used before SlackInstallations.open()")
        return self.cipher

    def _sealed(self, entity: _E, fields: Sequence[str], seal: bool) -> _E:
        cipher = self._cipher()
        values = entity.__dict__.copy()
        for name in fields:
            values[name] = (cipher.encrypt if seal else cipher.decrypt)(values.get(name))
        copy = object.__new__(type(entity))
        copy.__dict__.update(values)
        return copy

    @translate_errors
    async def async_save(self, installation: Installation) -> None:
        # The parent saves the installation's bot through async_save_bot, with the tokens
        # sealed here already.
        sealed = _SEALED.set(True)
        try:
            await super().async_save(self._sealed(installation, INSTALLATION_TOKENS, True))
        finally:
            _SEALED.reset(sealed)

    @translate_errors
    async def async_save_bot(self, bot: Bot) -> None:
        if not _SEALED.get():
            bot = self._sealed(bot, BOT_TOKENS, True)
        await super().async_save_bot(bot)

    @translate_errors
    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if bot is None else self._sealed(bot, BOT_TOKENS, False)

    @translate_errors
    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        # The parent may copy the latest bot's token in through async_find_bot (decrypted
        # already): decrypting leaves a plain token as it is.
        installation = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        if installation is None:
            return None
        return self._sealed(installation, INSTALLATION_TOKENS, False)

    @translate_errors
    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await super().async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    @translate_errors
    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        await super().async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    @translate_errors
    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await super().async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


class PurgingOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store; issuing a state deletes the expired ones first."""

    @translate_errors
    async def async_issue(self, *args: object, **kwargs: object) -> str:
        await self.purge_expired()
        state: str = await super().async_issue(*args, **kwargs)
        return state

    async def purge_expired(self) -> int:
        """Delete the states past their expiry; returns how many went."""
        now = datetime.now(UTC).replace(tzinfo=None)  # slack_sdk stores naive UTC
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self.oauth_states.delete().where(self.oauth_states.c.expire_at <= now)
            )
        return int(result.rowcount)

    @translate_errors
    async def count(self) -> int:
        """How many states are stored (expired ones not yet purged included)."""
        async with self.engine.connect() as conn:
            found = await conn.execute(select(func.count()).select_from(self.oauth_states))
        return int(found.scalar_one())


@dataclass(frozen=True)
class RotationReport:
    """What :func:`rotate_tokens` did."""

    rotated: int
    were_plain: int


class SlackInstallations:
    """The installation and state stores of one Slack app (``client_id``).

    They use ``engine`` (raidline's) when given, else an engine of their own on
    ``database_url``, disposed by :meth:`close`. :meth:`open` must run before they serve.
    """

    def __init__(self, client_id: str, engine: AsyncEngine | None, database_url: str) -> None:
        self._own_engine: AsyncEngine | None = None
        if engine is None:
            engine = self._own_engine = db.create_engine(database_url)
        self.engine = engine
        logger = logging.getLogger("raidline.slack.oauth")
        self.installation_store = EncryptedInstallationStore(
            client_id=client_id, engine=engine, logger=logger
        )
        self.state_store = PurgingOAuthStateStore(
            expiration_seconds=STATE_EXPIRATION, engine=engine, logger=logger
        )

    async def create_tables(self) -> None:
        await self.installation_store.create_tables()  # type: ignore[no-untyped-call]
        await self.state_store.create_tables()  # type: ignore[no-untyped-call]

    async def open(self, secret: str | None, old: Sequence[str] = ()) -> None:
        """Create the tables, load the key and check that every stored token decrypts.

        Raises :class:`storage.secrets.KeyMissing` when no key is configured outside the
        embedded default, and :class:`storage.secrets.KeyMismatch` when stored tokens were
        encrypted with a key that is not among ``secret`` and ``old``.
        """
        await self.create_tables()
        cipher = await secrets.load_cipher(
            self.engine, secret, old, may_generate=db.is_sqlite(self.engine)
        )
        await _check_tokens(self.installation_store, cipher)
        self.installation_store.cipher = cipher

    async def close(self) -> None:
        if self._own_engine is not None:
            await self._own_engine.dispose()
            self._own_engine = None

    @translate_errors
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
        if row is None:
            return None
        return store._cipher().decrypt(str(row["bot_token"]))

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


async def _check_tokens(store: EncryptedInstallationStore, cipher: TokenCipher) -> None:
    """:class:`KeyMismatch` with the count of stored tokens ``cipher`` cannot read."""
    failed = 0
    async with store.engine.connect() as conn:
        for table, columns in (
            (store.installations, INSTALLATION_TOKENS),
            (store.bots, BOT_TOKENS),
        ):
            rows = await conn.execute(select(*(table.c[name] for name in columns)))
            for row in rows:
                for value in row:
                    try:
                        cipher.decrypt(value)
                    except KeyMismatch:
                        failed += 1
    if failed:
        raise KeyMismatch(failed)


async def rotate_tokens(
    engine: AsyncEngine, secret: str | None, old: Sequence[str] = ()
) -> RotationReport:
    """Re-encrypt every stored Slack token (of every app) with the current key, in one
    transaction; plain-text tokens of an earlier release are encrypted.

    Raises :class:`KeyMismatch`, and changes nothing, when a token does not decrypt.
    """
    store = EncryptedInstallationStore(client_id="", engine=engine)
    await store.create_tables()  # type: ignore[no-untyped-call]
    cipher = await secrets.load_cipher(engine, secret, old, may_generate=db.is_sqlite(engine))
    rotated = were_plain = failed = 0
    async with engine.begin() as conn:
        for table, columns in (
            (store.installations, INSTALLATION_TOKENS),
            (store.bots, BOT_TOKENS),
        ):
            rows = (await conn.execute(select(table.c.id, *(table.c[c] for c in columns)))).all()
            for row in rows:
                changes: dict[str, str] = {}
                for name, value in zip(columns, row[1:], strict=True):
                    if not value:
                        continue
                    try:
                        done = cipher.rotate(value)
                    except KeyMismatch:
                        failed += 1
                        continue
                    changes[name] = done.value
                    rotated += 1
                    were_plain += done.was_plain
                if changes:
                    await conn.execute(table.update().where(table.c.id == row[0]).values(changes))
        if failed:
            raise KeyMismatch(failed)  # rolls the transaction back
    return RotationReport(rotated, were_plain)


__all__ = [
    "EncryptedInstallationStore",
    "PurgingOAuthStateStore",
    "RotationReport",
    "SlackInstallations",
    "rotate_tokens",
]
