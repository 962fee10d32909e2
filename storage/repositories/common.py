"""What every repository shares: the session it works on, channel ids and keys, and the
backend's INSERT.

Channel rows are looked up (or made) by their key once per unit of work and remembered on the
session (:data:`CHANNEL_IDS`), so a command's statements need no join to find their channel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, Select, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain.model import ChannelKey
from storage.sessions import Statements, hot
from storage.tables import channels

__all__ = [
    "CHANNEL_ID",
    "CHANNEL_IDS",
    "CHANNEL_KEY_COLUMNS",
    "IN_CHUNK",
    "KEY_MATCHES",
    "SessionRepository",
    "Statements",
    "channel_filter",
    "channel_id_of",
    "channel_key_from_row",
    "insert_for",
    "key_parameters",
    "keyed",
    "known_channels",
    "with_channel",
]

# Well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
IN_CHUNK = 500
#: Where a session remembers channel ids (see :func:`channel_id_of`).
CHANNEL_IDS = "raidline_channel_ids"


def insert_for(session: Statements, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows ``ON CONFLICT DO NOTHING`` for the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# A channel by its key, with the key as parameters: every command looks its channel up.
KEY_MATCHES = (
    channels.c.platform == bindparam("key_platform"),
    channels.c.workspace == bindparam("key_workspace"),
    channels.c.external_id == bindparam("key_channel"),
)
CHANNEL_ID = hot(select(channels.c.id).where(*KEY_MATCHES))


def key_parameters(key: ChannelKey) -> dict[str, str]:
    return {
        "key_platform": key.platform,
        "key_workspace": key.workspace,
        "key_channel": key.channel,
    }


# The channel's key next to another table's columns, under names no table uses.
CHANNEL_KEY_COLUMNS = (
    channels.c.platform.label("channel_platform"),
    channels.c.workspace.label("channel_workspace"),
    channels.c.external_id.label("channel_external_id"),
)


def channel_key_from_row(row: RowMapping) -> ChannelKey:
    return ChannelKey(row["channel_platform"], row["channel_workspace"], row["channel_external_id"])


def channel_filter(key: ChannelKey) -> tuple[Any, ...]:
    return (
        channels.c.platform == key.platform,
        channels.c.workspace == key.workspace,
        channels.c.external_id == key.channel,
    )


def known_channels(session: Statements) -> dict[ChannelKey, int]:
    known: dict[ChannelKey, int] = session.info.setdefault(CHANNEL_IDS, {})
    return known


def keyed(session: Statements, row: RowMapping) -> ChannelKey:
    """The channel key of a row read with its channel (:func:`with_channel`), its id
    remembered for the rest of the unit of work (see :func:`channel_id_of`)."""
    key = channel_key_from_row(row)
    known_channels(session)[key] = row["channel_id"]
    return key


async def channel_id_of(session: Statements, key: ChannelKey, *, create: bool) -> int | None:
    """The channel's row id; with ``create``, the row is made if missing, race-free.

    Remembered for the rest of the session (one unit of work): a channel's id never changes,
    and a row made here goes away only with the transaction, and the session with it.
    """
    known = known_channels(session)
    if key in known:
        return known[key]
    found = (await session.execute(CHANNEL_ID, key_parameters(key))).scalar_one_or_none()
    if found is not None:
        known[key] = found
    if found is not None or not create:
        return found
    # A concurrent creator wins or loses the unique constraint without an error; either way
    # the row exists afterwards (on PostgreSQL the loser waits for the winner's commit).
    await session.execute(
        insert_for(session, channels)
        .values(
            platform=key.platform,
            workspace=key.workspace,
            external_id=key.channel,
            leads=[],
            nudges_enabled=True,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(
            index_elements=[channels.c.platform, channels.c.workspace, channels.c.external_id]
        )
    )
    created: int = (await session.execute(CHANNEL_ID, key_parameters(key))).scalar_one()
    known[key] = created
    return created


def with_channel(table: Table) -> Select[Any]:
    """``table``'s columns and its channel's key (see :func:`channel_key_from_row`)."""
    return select(table, *CHANNEL_KEY_COLUMNS).join(channels, channels.c.id == table.c.channel_id)


class SessionRepository:
    """A repository on the unit of work's session and transaction."""

    def __init__(self, session: Statements) -> None:
        self._session = session
