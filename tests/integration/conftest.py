"""Shared fixtures for tests that need a real database.

``db_url`` runs a test on SQLite (a file in ``tmp_path``) and on PostgreSQL (a throwaway
database per test, only when ``RAIDLINE_TEST_POSTGRES_URL`` is set). ``uow_factory`` gives a
migrated database behind ``bot.ports.UnitOfWorkFactory``::

    async def test_something(uow_factory: UowFactory) -> None:
        async with uow_factory() as uow:
            ...
            await uow.commit()
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from bot.domain.kinds import KINDS
from bot.domain.model import ChannelKey, Item, Kind
from storage.db import create_engine, sync_url
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork, make_uow_factory

POSTGRES_ENV = "RAIDLINE_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    "PostgreSQL tests need RAIDLINE_TEST_POSTGRES_URL "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)

UowFactory = Callable[[], SqlUnitOfWork]

CHANNEL = ChannelKey("slack", "T0001", "C0001")
T0 = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1), "CET")


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A fresh, empty database on the server of ``base_url``; dropped afterwards."""
    admin = sa.create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"raidline_t_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(sync_url(base_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        # FORCE: a test that failed mid-transaction may still hold connections.
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'raidline.db'}"


def closed_port() -> int:
    """A local TCP port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def aiosqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


def join_aiosqlite_threads(before: set[threading.Thread]) -> None:
    """Wait for aiosqlite worker threads started since ``before`` to end.

    After a failed connect, aiosqlite stops its worker thread without awaiting it; if the
    test's event loop closes first, the thread dies with "Event loop is closed".
    """
    for thread in aiosqlite_threads() - before:
        thread.join(timeout=10)


def make_item(
    kind: Kind = Kind.BLOCKER,
    number: int = 1,
    *,
    channel: ChannelKey = CHANNEL,
    created_at: datetime = T0,
    **changes: Any,
) -> Item:
    """An item with only the required fields; ``changes`` override any field."""
    item = Item(
        channel=channel,
        kind=kind,
        number=number,
        status=KINDS[kind].initial_status,
        title=f"{kind.label} {number}",
        reporter="U_REPORTER",
        created_at=created_at,
        updated_at=created_at,
    )
    return replace(item, **changes)


def full_item(kind: Kind, number: int = 1, *, channel: ChannelKey = CHANNEL) -> Item:
    """An item with every field set to a distinctive, non-default value."""
    return make_item(
        kind,
        number,
        channel=channel,
        title=f"{kind.label} — ünïcode ✓ " + "x" * 250,
        details="line 1\nline 2 — with 'quotes' and \"doubles\"",
        reporter="U_REPORTER",
        owner="U_OWNER",
        due_at=datetime(2026, 12, 5, 17, 0, tzinfo=BERLIN),
        waiting_on="NetOps firewall change",
        resolution="firewall rule merged",
        likelihood=4,
        impact=5,
        response="mitigate",
        mitigation="weekly vendor check-in",
        outcome="Okta",
        rationale="best SCIM support",
        impacts={"schedule": "+2 weeks", "cost": "+8k"},
        approvers=("U_SPONSOR", "U_CFO"),
        decision_note="approved for Q1",
        decided_by="U_CIO",
        decided_at=T0 + timedelta(hours=1, microseconds=1),
        linked_ref="R-3",
        milestone="M-1",
        depends_on=("B-2", "M-1"),
        links=("JIRA-123", "https://github.com/acme/app/issues/12"),
        source_url="https://example.slack.com/archives/C0001/p1700000000000100",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
    )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, as a user-style URL: SQLite file, or a throwaway PostgreSQL DB."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    base_url = postgres_base_url()
    if base_url is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base_url) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database (for PostgreSQL-only tests); skips without one."""
    base_url = postgres_base_url()
    if base_url is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base_url) as url:
        yield url


@pytest.fixture
def migrated_url(db_url: str) -> str:
    upgrade(db_url)
    return db_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """The bot's engine on a migrated database; disposed at teardown."""
    engine = create_engine(migrated_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow_factory(engine: AsyncEngine) -> UowFactory:
    """``bot.ports.UnitOfWorkFactory`` on a migrated database, SQLite and PostgreSQL."""
    return make_uow_factory(engine)
