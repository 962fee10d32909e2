"""Fixtures: the Slack stand-in, and raidline's Slack adapter served on an ephemeral port.

``fake`` is a :class:`FakeSlack` (own thread and loop). ``make_slack(...)`` builds a
:class:`SlackAdapter` on a core (an in-memory store unless one is given), serves its aiohttp
app on 127.0.0.1:0 in the test's loop, starts it and returns a :class:`Harness` that sends
signed requests in Slack's wire format::

    async def test_x(slack: Harness) -> None:
        status, body = await slack.command("/blocker", "Waiting on creds @dana")
        post = slack.fake_wait("chat.postMessage")
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.platform import AdapterDeps
from adapters.runtime.config import load_settings
from adapters.runtime.timetable import CronTimetable
from adapters.slack import SlackAdapter
from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Item
from bot.ports import UnitOfWorkFactory
from tests.adapters.slack import wire
from tests.adapters.slack.fake_slack import Call, FakeSlack, async_wait_for
from tests.fakes import FakeStore, FixedClock

# Wed 25 Nov 2026, 10:00 in Berlin.
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Harness:
    def __init__(
        self,
        fake: FakeSlack,
        adapter: SlackAdapter,
        core: Core,
        store: FakeStore | None,
        url: str,
        session: aiohttp.ClientSession,
    ) -> None:
        self.fake = fake
        self.adapter = adapter
        self.core = core
        self.store = store
        self.url = url
        self.session = session
        self._keys = itertools.count(1)

    def new_response_url(self) -> tuple[str, str]:
        key = f"r{next(self._keys)}"
        return self.fake.response_url(key), f"response_url:{key}"

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        path: str = "/slack/events",
    ) -> tuple[int, str]:
        sent = {
            "Content-Type": content_type,
            **(headers if headers is not None else wire.sign(body)),
        }
        async with self.session.post(self.url + path, data=body, headers=sent) as resp:
            return resp.status, await resp.text()

    async def command(self, command: str, text: str = "", **kw: Any) -> tuple[int, str, str]:
        """A signed slash command; returns (status, ack body, the response_url's call name)."""
        url, name = self.new_response_url()
        status, body = await self.post(wire.slash(command, text, response_url=url, **kw), wire.FORM)
        return status, body, name

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        return await self.post(wire.interactive(payload), wire.FORM)

    async def event(self, body: bytes) -> tuple[int, str]:
        return await self.post(body, wire.JSON)

    async def wait(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """Every recorded call to ``method`` once there are at least ``count`` of them."""
        return list(
            await async_wait_for(
                lambda: (calls := self.fake.calls_to(method)) and len(calls) >= count and calls,
                within,
            )
        )

    async def last(self, method: str, count: int = 1) -> Call:
        return (await self.wait(method, count))[-1]

    def items(self, channel: ChannelKey | None = None) -> list[Item]:
        assert self.store is not None
        return [
            i for i in self.store.state.items.values() if channel is None or i.channel == channel
        ]

    def item(self, ref: str, *, team: str = "T1", channel: str = "C1") -> Item:
        key = ChannelKey("slack", team, channel)
        for item in self.items(key):
            if str(item.ref) == ref:
                return item
        raise AssertionError(f"{ref} is not stored in {key}")


def env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": wire.SECRET,
        "SLACK_API_URL": fake.api_url,
        "RAIDLINE_TIMEZONE": "Europe/Berlin",
    }
    values.update(extra)
    return {k: v for k, v in values.items() if v}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE)


MakeSlack = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_slack(fake: FakeSlack, clock: FixedClock) -> AsyncIterator[MakeSlack]:
    made: list[tuple[Harness, web.AppRunner]] = []

    async def make(
        *,
        uow_factory: UnitOfWorkFactory | None = None,
        start: bool = True,
        engine: Any = None,
        **extra_env: str,
    ) -> Harness:
        store = FakeStore() if uow_factory is None else None
        # the timetable the running bot has (adapters.runtime.bootstrap): holidays included
        core = Core(
            uow_factory or store,  # type: ignore[arg-type]
            clock=clock,
            default_timezone="Europe/Berlin",
            timetable=CronTimetable(),
        )
        settings = load_settings(env(fake, **extra_env))
        web_app = web.Application()
        adapter = SlackAdapter(AdapterDeps(settings, core, web_app, engine))
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        session = aiohttp.ClientSession()
        harness = Harness(fake, adapter, core, store, f"http://127.0.0.1:{port}", session)
        made.append((harness, runner))
        if start:
            await adapter.start()
        return harness

    yield make
    for harness, runner in reversed(made):
        await harness.adapter.stop()
        await harness.session.close()
        await runner.cleanup()


@pytest.fixture
async def slack(make_slack: MakeSlack) -> Harness:
    return await make_slack()


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Every text a person reads in these blocks, joined by newlines."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def body_json(text: str) -> dict[str, Any]:
    return dict(json.loads(text)) if text else {}
