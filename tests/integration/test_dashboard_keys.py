"""The dashboard's signing key and single-use links on a real database: on SQLite without
RAIDLINE_SECRET_KEY a key is generated once and kept (a restart signs and checks with the
same one); a link opened through one process is refused by another on the same database;
on PostgreSQL without RAIDLINE_SECRET_KEY there is no dashboard."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.runtime.config import load_settings
from adapters.web_auth import load_auth
from bot.domain.model import ChannelKey
from storage import secrets
from storage.db import create_engine
from storage.migrate import upgrade

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HERE = ChannelKey("slack", "T1", "C1")
KEY = "a-configured-key-0123456789abcdefghijklmnop"


async def test_sqlite_generates_the_key_once_and_links_are_single_use_across_processes(
    tmp_path: object,
) -> None:
    url = f"sqlite:///{tmp_path}/raidline.db"
    upgrade(url)
    settings = load_settings({"DATABASE_URL": url})
    first_engine, second_engine = create_engine(url), create_engine(url)
    try:
        first = await load_auth(first_engine, settings)
        second = await load_auth(second_engine, settings)  # a restart, or another process
        assert first is not None and second is not None
        stored = await secrets.generated_key(first_engine)
        assert stored is not None
        link = first.dashboard_link(HERE, "ana", NOW)
        token = link.split("?t=", 1)[1]
        assert stored not in link
        assert await second.redeem(token, NOW) == HERE  # the same key: signed by the other
        assert await first.redeem(token, NOW) is None  # used: refused everywhere
        assert await secrets.generated_key(second_engine) == stored  # generated once
    finally:
        await first_engine.dispose()
        await second_engine.dispose()


async def test_a_configured_key_signs_instead(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/raidline.db"
    upgrade(url)
    engine = create_engine(url)
    try:
        generated = await load_auth(engine, load_settings({"DATABASE_URL": url}))
        configured = await load_auth(
            engine, load_settings({"DATABASE_URL": url, "RAIDLINE_SECRET_KEY": KEY})
        )
        assert generated is not None and configured is not None
        token = generated.dashboard_link(HERE, "ana", NOW).split("?t=", 1)[1]
        assert await configured.redeem(token, NOW) is None  # another key: refused
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgres_needs_the_key(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    upgrade(postgres_url)
    engine: AsyncEngine = create_engine(postgres_url)
    try:
        with caplog.at_level(logging.WARNING, logger="raidline.dashboard"):
            none = await load_auth(engine, load_settings({"DATABASE_URL": postgres_url}))
        assert none is None
        assert "needs RAIDLINE_SECRET_KEY" in caplog.text
        assert await secrets.generated_key(engine) is None  # nothing kept in the database
        auth = await load_auth(
            engine, load_settings({"DATABASE_URL": postgres_url, "RAIDLINE_SECRET_KEY": KEY})
        )
        assert auth is not None
        token = auth.dashboard_link(HERE, "ana", NOW).split("?t=", 1)[1]
        assert await auth.redeem(token, NOW) == HERE
        assert await auth.redeem(token, NOW) is None
    finally:
        await engine.dispose()
