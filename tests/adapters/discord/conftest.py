"""Fixtures: the fake Discord in its own thread, the real discord.py bot against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.platform import AdapterDeps
from adapters.runtime.config import load_settings
from adapters.runtime.timetable import CronTimetable
from bot.dispatcher import Core
from bot.messages import Reply, Request
from tests.adapters.discord.fake_discord import (
    TOKEN,
    FakeDiscord,
    FakeGuild,
    Place,
    until,
)
from tests.fakes import FakeStore, FixedClock

# Wed 25 Nov 2026, 10:00 in Berlin.
BASE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

GUILD_A = 2100000000000000001
GUILD_B = 2100000000000000002
CHANNEL_A = 2200000000000000001
CHANNEL_A2 = 2200000000000000002
THREAD_A = 2300000000000000001
CHANNEL_B = 2200000000000000009

ANA = 3100000000000000001
DANA = 3100000000000000002
EVE = 3100000000000000003
LEAD = 3100000000000000004
#: a member of no guild of the fake
OUTSIDER = 3100000000000000009


class RecordingCore(Core):
    """The real core, recording every request; ``delay`` makes it slow on purpose."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[Request] = []
        self.delay = 0.0

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle(request)


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord(
        [
            FakeGuild(
                GUILD_A,
                (CHANNEL_A, CHANNEL_A2),
                "Team A",
                threads={THREAD_A: CHANNEL_A},
                members=frozenset({ANA, DANA, EVE, LEAD}),
                hidden={CHANNEL_A2: frozenset({EVE})},
            ),
            FakeGuild(GUILD_B, (CHANNEL_B,), "Team B", members=frozenset({ANA, EVE})),
        ]
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE)


@pytest.fixture
def core(clock: FixedClock) -> RecordingCore:
    # the timetable the running bot has (adapters.runtime.bootstrap): holidays included
    return RecordingCore(
        FakeStore(), clock=clock, default_timezone="Europe/Berlin", timetable=CronTimetable()
    )


def settings_for(fake: FakeDiscord, **extra: str) -> Any:
    env = {
        "DISCORD_BOT_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        **extra,
    }
    return load_settings(env)


StartBot = Callable[..., Awaitable[DiscordAdapter]]


@pytest.fixture
async def start_bot(fake: FakeDiscord, core: RecordingCore) -> AsyncIterator[StartBot]:
    """Start an adapter against the fake (several may be started in turn); all stopped after."""
    started: list[DiscordAdapter] = []

    async def start(core_: Core | None = None, **env: str) -> DiscordAdapter:
        adapter = DiscordAdapter(AdapterDeps(settings_for(fake, **env), core_ or core))
        adapter.gateway.guild_ready_timeout = 0.05
        started.append(adapter)
        await adapter.start()
        return adapter

    yield start
    for adapter in started:
        await adapter.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> DiscordAdapter:
    return await start_bot()


class Driver:
    """Sends interactions the way Discord would and waits for the bot's answer."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def send(self, payload: Mapping[str, Any], *, calls: int = 1) -> list[dict[str, Any]]:
        """Dispatch; return the bodies of the first ``calls`` interaction callbacks."""
        self.fake.interact(payload)
        found = await until(
            lambda: (
                len(self.fake.callbacks(payload["id"])) >= calls
                and self.fake.callbacks(payload["id"])
            ),
            what=f"callback to interaction {payload['id']}",
        )
        return [c.body for c in found]

    async def answer(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return (await self.send(payload))[0]

    async def message(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The message an interaction's answer created or edited, as the fake stores it."""
        body = await self.answer(payload)
        kind = body["type"]
        if kind in (4, 5):
            original: dict[str, Any] | None = await until(
                lambda: self.fake.original(payload["token"]), what="message"
            )
            if kind == 5:
                await until(
                    lambda: not (self.fake.original(payload["token"]) or {}).get("flags", 0) & 128,
                    what="the deferred answer",
                )
                original = self.fake.original(payload["token"])
            assert original is not None
            return original
        if kind == 7:
            return self.fake.message(payload["message"]["id"])
        raise AssertionError(f"interaction answered with type {kind}: {body}")


@pytest.fixture
def discord_api(fake: FakeDiscord) -> Driver:
    return Driver(fake)


def place(
    user: int = ANA,
    channel: int = CHANNEL_A,
    guild: int = GUILD_A,
    thread_parent: int | None = None,
) -> Place:
    return Place(guild, channel, user, thread_parent)


def field_values(message: Mapping[str, Any]) -> dict[str, str]:
    """Every embed field of a message: name -> value."""
    out: dict[str, str] = {}
    for embed in message.get("embeds") or []:
        for f in embed.get("fields") or []:
            out[f["name"]] = f["value"]
    return out


def embed_titles(message: Mapping[str, Any]) -> list[str]:
    return [e.get("title", "") for e in message.get("embeds") or []]


def is_ephemeral(body_or_message: Mapping[str, Any]) -> bool:
    data = body_or_message.get("data", body_or_message)
    return bool(int(data.get("flags") or 0) & 64)


def option_names(command: Mapping[str, Any]) -> list[str]:
    return [o["name"] for o in command.get("options") or []]


def find(options: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for o in options:
        if o["name"] == name:
            return o
    raise AssertionError(f"no option {name!r} in {[o['name'] for o in options]}")
