"""GET /calendar/<token>.ics on raidline's web app, wired as ``raidline run`` wires it: the
link ``/raid calendar`` gives opens the feed; anything else is a plain 404."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from adapters.runtime.bootstrap import Parts, bootstrap_for_tests
from adapters.runtime.config import load_settings
from bot.domain.model import ChannelKey
from bot.messages import Outgoing, Reply, Request, Tone
from storage.db import create_engine
from storage.uow import make_uow_factory
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory, closed_port

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
APOLLO = ChannelKey("slack", "T1", "C_APOLLO")
ZEUS = ChannelKey("slack", "T1", "C_ZEUS")
LINK_RE = re.compile(r"https://raid\.example\.com/base(/calendar/[A-Za-z0-9_-]+\.ics)")


class FakeAdapter:
    name = "slack"
    connected = True

    def __init__(self, _deps: object) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: Outgoing) -> str | None:
        return "ref"


def wire(uow_factory: UowFactory, **env: str) -> Parts:
    settings = load_settings({"RAIDLINE_PUBLIC_URL": "https://raid.example.com/base", **env})
    return bootstrap_for_tests(
        uow_factory, settings=settings, clock=FixedClock(NOW), adapters={"slack": FakeAdapter}
    )


@pytest.fixture
async def clients() -> AsyncIterator[list[TestClient[Any, Any]]]:
    made: list[TestClient[Any, Any]] = []
    yield made
    for client in made:
        await client.close()


async def serve(parts: Parts, made: list[TestClient[Any, Any]]) -> TestClient[Any, Any]:
    assert parts.web_app is not None
    client: TestClient[Any, Any] = TestClient(TestServer(parts.web_app))
    await client.start_server()
    made.append(client)
    return client


async def say(parts: Parts, channel: ChannelKey, line: str, user: str = "U_ANA") -> Reply:
    command, _, text = line.lstrip("/").partition(" ")
    reply = await parts.core.handle(Request(channel, user, command=command, text=text))
    assert reply.tone is Tone.SUCCESS, reply.text
    return reply


def path_of(reply: Reply) -> str:
    found = LINK_RE.search(reply.text)
    assert found, reply.text
    return found.group(1)


async def test_the_link_opens_the_feed(
    uow_factory: UowFactory, clients: list[TestClient[Any, Any]]
) -> None:
    parts = wire(uow_factory)
    await say(parts, APOLLO, "/blocker Firewall change due friday")
    await say(parts, APOLLO, "/standup schedule weekdays 09:30")
    await say(parts, ZEUS, "/blocker Zeus only due friday")
    client = await serve(parts, clients)
    resp = await client.get(path_of(await say(parts, APOLLO, "/raid calendar")))
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert resp.headers["Cache-Control"] == "private, max-age=300"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    calendar = Calendar.from_ical(await resp.read())
    summaries = sorted(str(e["summary"]) for e in calendar.walk("VEVENT"))
    assert summaries == ["#C_APOLLO · B-1 due: Firewall change", "#C_APOLLO · Standup"]


async def test_every_wrong_token_is_the_same_404(
    uow_factory: UowFactory, clients: list[TestClient[Any, Any]]
) -> None:
    parts = wire(uow_factory)
    revoked = path_of(await say(parts, APOLLO, "/raid calendar"))
    good = path_of(await say(parts, APOLLO, "/raid calendar reset"))
    client = await serve(parts, clients)
    assert (await client.get(good)).status == 200
    token = good.removeprefix("/calendar/").removesuffix(".ics")
    wrong = [
        revoked,  # revoked by the reset
        "/calendar/" + "A" * 43 + ".ics",  # never issued
        "/calendar/" + token,  # no .ics
        "/calendar/" + token + ".ical",
        "/calendar/" + token[:-1] + ".ics",
        "/calendar/.ics",
        "/calendar/%2e%2e.ics",
    ]
    for path in wrong:
        resp = await client.get(path)
        assert (resp.status, await resp.text()) == (404, "Not found\n"), path
        assert resp.headers["Cache-Control"] == "no-store"


async def test_switched_off_there_is_no_feed_and_no_link(
    uow_factory: UowFactory, clients: list[TestClient[Any, Any]]
) -> None:
    on = wire(uow_factory)
    path = path_of(await say(on, APOLLO, "/raid calendar"))
    off = wire(uow_factory, RAIDLINE_CALENDAR="off")
    client = await serve(off, clients)
    assert (await client.get(path)).status == 404
    reply = await off.core.handle(Request(APOLLO, "U_ANA", command="raid", text="calendar"))
    assert reply.tone is Tone.ERROR
    assert "RAIDLINE_CALENDAR=off" in reply.text


async def test_an_unreachable_database_is_a_503(clients: list[TestClient[Any, Any]]) -> None:
    engine = create_engine(f"postgresql+psycopg://raidline:hunter22@127.0.0.1:{closed_port()}/x")
    try:
        client = await serve(wire(make_uow_factory(engine)), clients)
        resp = await client.get("/calendar/" + "A" * 43 + ".ics")
        text = await resp.text()
    finally:
        await engine.dispose()
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "60"
    assert text == "The calendar is not available right now; please try again later.\n"
