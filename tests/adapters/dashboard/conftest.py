"""The dashboard on the in-memory store: a chat to make items and ask for links, and an HTTP
client on raidline's web application with the dashboard's routes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.runtime.bootstrap import Parts, bootstrap_for_tests, serve_public_pages
from adapters.runtime.config import load_settings
from adapters.web import build_app
from bot.domain.model import ChannelKey
from bot.messages import Reply, Request
from tests.fakes import FakeStore, FixedClock

#: Wed 25 Nov 2026, 09:00 UTC.
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SECRET = "dashboard-test-key-0123456789abcdefghijklmn"
PUBLIC = "http://dash.test"
LINK_RE = re.compile(r"(http://dash\.test/dashboard/open\?t=\S+)")

HERE = ChannelKey("slack", "T1", "C1")


class Board:
    """One raidline (fake store, fixed clock) with its web app under test."""

    def __init__(self, parts: Parts, clock: FixedClock, client: TestClient[Request, object]):
        self.parts = parts
        self.clock = clock
        self.client = client

    async def say(self, line: str, *, user: str = "ana", channel: ChannelKey = HERE) -> Reply:
        command, _, text = line.lstrip("/").partition(" ")
        return await self.parts.core.handle(Request(channel, user, command=command, text=text))

    async def link(self, *, user: str = "ana", channel: ChannelKey = HERE) -> str:
        reply = await self.say("/raid dashboard", user=user, channel=channel)
        found = LINK_RE.search(reply.text)
        assert found, reply.text
        return found.group(1)

    def path(self, link: str) -> str:
        """The link as a path on the test server."""
        return link.removeprefix(PUBLIC)

    async def sign_in(self, *, channel: ChannelKey = HERE) -> str:
        """Open a fresh link; returns the dashboard's path for ``channel``."""
        response = await self.client.get(
            self.path(await self.link(channel=channel)), allow_redirects=False
        )
        assert response.status == 303, await response.text()
        return place(response.headers["Location"])


def place(location: str) -> str:
    """Where a link's redirect leads (it is relative to /dashboard/open)."""
    assert location.startswith("c/"), location
    return "/dashboard/" + location


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE)


@pytest.fixture
async def board(clock: FixedClock) -> AsyncIterator[Board]:
    settings = load_settings({"RAIDLINE_SECRET_KEY": SECRET, "RAIDLINE_PUBLIC_URL": PUBLIC})
    parts = bootstrap_for_tests(FakeStore(), settings=settings, clock=clock)
    app = build_app()
    assert parts.dashboard is not None
    serve_public_pages(parts, app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Board(parts, clock, client)
    finally:
        await client.close()
