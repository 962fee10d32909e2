"""Operability of ``raidline run``: readiness, metrics, JSON logs without secrets, shutdown.

The subprocess tests run the real ``raidline run`` against the Slack and Discord stand-ins of
``tests/adapters``; the in-process ones drive ``run_platforms`` with a stand-in adapter to
reach the shutdown paths that need exact timing (a delivery that never ends).
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlencode

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from adapters.logging import REDACTED, configure_logging
from adapters.platform import EXIT_OK, AdapterDeps
from adapters.runtime import lifecycle
from adapters.runtime.config import load_settings
from bot.dispatcher import SHUTTING_DOWN
from bot.domain.model import ChannelKey, Run, RunKind, RunStatus, Schedule, ScheduleKind
from bot.domain.schedules import local_date
from bot.messages import Outgoing, Request
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.discord.conftest import CHANNEL_A, GUILD_A, Driver, place
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord, FakeGuild, opt, slash, until
from tests.adapters.slack import wire
from tests.adapters.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]

SLACK_TOKEN = "xoxb-test"
CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = "e2e-client-secret-4c9d"
SECRETS = (SLACK_TOKEN, wire.SECRET, CLIENT_SECRET, TOKEN)

#: The requirement: SIGTERM to exit in this many seconds.
EXIT_WITHIN = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Raidline:
    """``python -m adapters run`` with stdout and stderr collected by threads."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = int(env["RAIDLINE_HTTP_PORT"])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adapters", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return "\n".join(self.err)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.err)]

    async def until_ready(
        self,
        session: aiohttp.ClientSession,
        within: float = 30,
        *,
        base: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Poll /readyz (on ``base``, by default the public port) until it answers 200; fail
        early if the process died."""
        deadline = time.monotonic() + within
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"raidline exited with {self.proc.returncode}:\n{self.log}")
            try:
                async with session.get((base or self.base) + "/readyz", headers=headers) as resp:
                    body = await resp.json()
                    if resp.status == 200:
                        return body
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"not ready in {within}s: {body}\n{self.log}")

    async def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit status and the seconds it took (killed after 20 s)."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.to_thread(self.proc.wait, 20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        elapsed = time.monotonic() - began
        for reader in self._readers:
            reader.join(5)
        return status, elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "RAIDLINE_", "DATABASE_"))
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'raidline.db'}",
            "RAIDLINE_HTTP_HOST": "127.0.0.1",
            "RAIDLINE_HTTP_PORT": str(free_port()),
            "RAIDLINE_TIMEZONE": "Europe/Berlin",
            "RAIDLINE_TICK_SECONDS": "1",
            "RAIDLINE_LOG_LEVEL": "DEBUG",
            "RAIDLINE_LOG_FORMAT": "json",
            **extra,
        }
    )
    return env


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    server = FakeDiscord([FakeGuild(GUILD_A, (CHANNEL_A,), "Team A")])
    server.start()
    yield server
    server.stop()


def metric_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.e2e
async def test_a_full_run_is_ready_counts_commands_logs_json_without_secrets_and_stops(
    fake_slack: FakeSlack, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    env = base_env(
        tmp_path,
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=wire.SECRET,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_URL=fake_discord.api_url,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    raidline = Raidline(env)
    try:
        async with aiohttp.ClientSession() as session:
            ready = await raidline.until_ready(session)
            assert set(ready["checks"]) == {"database", "slack", "discord", "scheduler"}

            # One slash command on Slack (HTTP mode, signed) ...
            body = wire.slash(
                "/blocker", "Waiting on creds", response_url=fake_slack.response_url("e2e")
            )
            headers = {"Content-Type": wire.FORM, **wire.sign(body)}
            async with session.post(
                raidline.base + "/slack/events", data=body, headers=headers
            ) as resp:
                assert resp.status == 200
            await until(lambda: fake_slack.calls_to("chat.postMessage"), 10, "the Slack reply")
            # ... and one on Discord.
            interaction = slash(place(), "blocker", [opt("title", "Waiting on keys")])
            message = await Driver(fake_discord).message(interaction)
            assert message["embeds"][0]["title"] == "B-1 · Waiting on keys"

            async with session.get(raidline.base + "/readyz") as resp:
                assert resp.status == 200, await resp.text()
            async with session.get(raidline.base + "/healthz") as resp:
                assert (resp.status, await resp.json()) == (200, {"status": "ok"})
            async with session.get(raidline.base + "/metrics") as resp:
                assert resp.status == 200
                samples = metric_samples(await resp.text())
            # Slack's /blocker is one command, and so is Discord's: its typed options, with no
            # form in between.
            ok = frozenset({("kind", "command"), ("name", "blocker"), ("outcome", "ok")})
            form = frozenset({("kind", "form"), ("name", "new"), ("outcome", "ok")})
            assert samples[("raidline_requests_total", ok)] == 2
            assert ("raidline_requests_total", form) not in samples
            assert (
                samples[("raidline_request_seconds_count", frozenset({("kind", "command")}))] == 2
            )
            assert samples[("raidline_scheduler_last_tick_timestamp", frozenset())] > 0

        status, elapsed = await raidline.terminate()
    finally:
        raidline.kill()
    assert status == 0, raidline.log
    assert elapsed < EXIT_WITHIN, f"took {elapsed:.1f}s to stop"

    records = []
    for line in raidline.err:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
    assert all(
        isinstance(r, dict) and {"time", "level", "logger", "message"} <= set(r) for r in records
    )
    with_ids = [r for r in records if r.get("request_id")]
    # The core's record of each request, and Slack's own records of posting the answer.
    assert {r["logger"] for r in with_ids} >= {"raidline.core", "raidline.slack.web"}
    handled = [r for r in with_ids if r["message"].startswith("handled command blocker")]
    assert len(handled) == 2 and len({r["request_id"] for r in handled}) == 2
    assert any(r["level"] == "DEBUG" and not r["logger"].startswith("raidline") for r in records)
    assert any(r["message"] == "SIGTERM received: stopping" for r in records)
    everything = "\n".join(raidline.out + raidline.err)
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} appears in the output"


OPS_TOKEN = "ops-token-0123456789-abcdefghijklmnop"


@pytest.mark.e2e
async def test_ops_port_and_token_keep_readyz_and_metrics_off_the_public_port(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    ops_port = free_port()
    env = base_env(
        tmp_path,
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_URL=fake_discord.api_url,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
        RAIDLINE_OPS_PORT=str(ops_port),
        RAIDLINE_OPS_TOKEN=OPS_TOKEN,
    )  # RAIDLINE_OPS_HOST left to its default, loopback
    raidline = Raidline(env)
    ops = f"http://127.0.0.1:{ops_port}"
    bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
    try:
        async with aiohttp.ClientSession() as session:
            ready = await raidline.until_ready(session, base=ops, headers=bearer)
            assert set(ready["checks"]) == {"database", "discord", "scheduler"}
            # The public port: liveness only.
            for path, status in (("/healthz", 200), ("/readyz", 404), ("/metrics", 404)):
                async with session.get(raidline.base + path, headers=bearer) as resp:
                    assert resp.status == status, path
            # The operations port: both, with the token only.
            for path in ("/readyz", "/metrics"):
                async with session.get(ops + path) as resp:
                    assert resp.status == 401, path
                    assert "raidline_" not in await resp.text()
                async with session.get(ops + path, headers={"Authorization": "Bearer x"}) as resp:
                    assert resp.status == 401, path
            async with session.get(ops + "/metrics", headers=bearer) as resp:
                assert resp.status == 200
                samples = metric_samples(await resp.text())
            assert samples[("raidline_scheduler_last_tick_timestamp", frozenset())] > 0
        status, _elapsed = await raidline.terminate()
    finally:
        raidline.kill()
    assert status == 0, raidline.log
    listening = [r["message"] for r in raidline.records() if "listening" in r["message"]]
    assert f"Operations (/readyz, /metrics) server listening on 127.0.0.1:{ops_port}" in listening
    assert OPS_TOKEN not in "\n".join(raidline.out + raidline.err)


async def seed_standups(url: str, channels: list[str], now: datetime) -> None:
    """Two standups due to open a minute ago, as if the scheduler had made their runs."""
    upgrade(url)
    engine = create_engine(url)
    try:
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            for n, channel in enumerate(channels):
                key = ChannelKey("slack", "T1", channel)
                schedule = await uow.schedules.save(
                    Schedule(key, ScheduleKind.STANDUP, timezone="Europe/Berlin")
                )
                day = local_date(now, "Europe/Berlin")
                await uow.schedules.add_run(
                    Run(
                        f"standup_now:{schedule.stored_id}:{day}",
                        RunKind.STANDUP_OPEN,
                        key,
                        now - timedelta(minutes=2) + timedelta(seconds=n),
                        payload={"schedule_id": schedule.stored_id, "local_date": day},
                        created_at=now - timedelta(minutes=2),
                    )
                )
            await uow.commit()
    finally:
        await engine.dispose()


async def run_states(url: str) -> dict[str, tuple[RunStatus, int]]:
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            found: dict[str, tuple[RunStatus, int]] = {}
            for channel in ("C1", "C2"):
                key = ChannelKey("slack", "T1", channel)
                for run in await uow.schedules.runs(key, RunKind.STANDUP_OPEN):
                    found[channel] = (run.status, run.attempts)
            return found
    finally:
        await engine.dispose()


def posts_to(fake: FakeSlack, channel: str) -> int:
    return sum(1 for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == channel)


@pytest.mark.e2e
async def test_sigterm_mid_delivery_finishes_it_hands_back_the_rest_and_a_restart_sends_once(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = base_env(
        tmp_path,
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=wire.SECRET,
        SLACK_API_URL=fake_slack.api_url,
        # One channel at a time, so that C2's run is claimed but not started when SIGTERM
        # comes (with more, both would be in flight, and both would be finished).
        RAIDLINE_DELIVERY_CONCURRENCY="1",
    )
    url = env["DATABASE_URL"]
    await seed_standups(url, ["C1", "C2"], datetime.now(UTC))
    fake_slack.delays["chat.postMessage"] = 3.0  # the first delivery is in flight for 3 s

    first = Raidline(env)
    try:
        await until(
            lambda: fake_slack.calls_to("chat.postMessage") or first.proc.poll() is not None,
            30,
            "the first standup to be sent",
        )
        assert first.proc.poll() is None, first.log
        status, elapsed = await first.terminate()
    finally:
        first.kill()
    assert status == 0, first.log
    assert elapsed < EXIT_WITHIN, f"took {elapsed:.1f}s to stop"
    assert posts_to(fake_slack, "C1") == 1 and posts_to(fake_slack, "C2") == 0
    # The delivery in flight was finished, the other claimed run handed back untouched.
    assert await run_states(url) == {"C1": (RunStatus.DONE, 1), "C2": (RunStatus.PENDING, 0)}
    messages = [r["message"] for r in first.records()]
    assert "handed back 1 claimed runs unsent" in messages
    assert any(r.get("run_id", "").startswith("standup_now:") for r in first.records())

    fake_slack.delays.clear()
    env["RAIDLINE_HTTP_PORT"] = str(free_port())
    second = Raidline(env)
    try:
        await until(
            lambda: posts_to(fake_slack, "C2") or second.proc.poll() is not None,
            30,
            "the handed-back standup to be sent after the restart",
        )
        async with aiohttp.ClientSession() as session:
            await second.until_ready(session)  # ticked again since: nothing else is due
        status, _ = await second.terminate()
    finally:
        second.kill()
    assert status == 0, second.log
    assert posts_to(fake_slack, "C1") == 1 and posts_to(fake_slack, "C2") == 1
    assert await run_states(url) == {"C1": (RunStatus.DONE, 1), "C2": (RunStatus.DONE, 1)}


# --- in process: the shutdown paths ------------------------------------------------------------


class StandIn:
    """A platform adapter whose deliveries wait for ``release`` (forever unless set)."""

    instances: ClassVar[list[StandIn]] = []

    def __init__(self, deps: AdapterDeps) -> None:
        self.name = "standin"
        self.core = deps.core
        self.connected = False
        self.release = asyncio.Event()
        self.sending = asyncio.Event()
        self.sent: list[Outgoing] = []
        StandIn.instances.append(self)

    async def start(self) -> None:
        self.connected = True

    async def stop(self) -> None:
        self.connected = False

    async def send(self, message: Outgoing) -> str | None:
        self.sending.set()
        await self.release.wait()
        self.sent.append(message)
        return "ref"


@pytest.fixture
def standin() -> Iterator[type[StandIn]]:
    StandIn.instances.clear()
    yield StandIn
    StandIn.instances.clear()


async def start_in_process(
    tmp_path: Path, stop: asyncio.Event, **env: str
) -> tuple[asyncio.Task[int], StandIn, str]:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    settings = load_settings(
        {
            "DATABASE_URL": url,
            "RAIDLINE_HTTP_HOST": "127.0.0.1",
            "RAIDLINE_HTTP_PORT": str(free_port()),
            "RAIDLINE_TICK_SECONDS": "0.2",
            **env,
        }
    )
    task = asyncio.create_task(lifecycle.run_platforms(settings, {"standin": StandIn}, stop=stop))
    await until(lambda: (StandIn.instances and StandIn.instances[0].connected) or task.done(), 10)
    assert not task.done(), task
    return task, StandIn.instances[0], url


async def test_stopping_answers_late_requests_and_waits_for_the_ones_in_progress(
    standin: type[StandIn], tmp_path: Path
) -> None:
    stop = asyncio.Event()
    task, adapter, _ = await start_in_process(tmp_path, stop)
    channel = ChannelKey("standin", "w", "c")
    replied: list[str] = []
    slow = asyncio.Event()

    async def request_then_reply() -> None:
        # As an adapter does: ask the core, then take a while to post the reply.
        reply = await adapter.core.handle(Request(channel, "ana", command="blocker", text="x"))
        await slow.wait()
        replied.append(reply.text)

    answering = asyncio.create_task(request_then_reply())
    await until(lambda: adapter.core.in_flight == 0 and not answering.done(), 5)
    stop.set()
    await until(lambda: not adapter.core.accepting, 5)
    late = await adapter.core.handle(Request(channel, "ana", command="blocker", text="late"))
    assert late.text == SHUTTING_DOWN
    assert not task.done()  # still waiting for the reply being posted
    slow.set()
    assert await asyncio.wait_for(task, 5) == EXIT_OK
    assert replied and "B-1" in replied[0]
    assert not adapter.connected


@pytest.mark.parametrize(
    ("concurrency", "abandoned_runs", "handed_back"),
    [
        # One channel at a time: the first is in flight, the other two were not started.
        ("1", "the delivery of close:test:0 (", "2 claimed runs, handed back unsent"),
        # All three channels at once: all three are in flight, nothing is left to hand back.
        ("8", "the deliveries of close:test:0, close:test:1, close:test:2 (", None),
    ],
)
async def test_a_delivery_that_never_ends_is_abandoned_at_the_deadline(
    concurrency: str,
    abandoned_runs: str,
    handed_back: str | None,
    standin: type[StandIn],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(lifecycle, "SHUTDOWN_DEADLINE", 1.5)
    monkeypatch.setattr(lifecycle, "CLOSE_BUDGET", 0.5)
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    now = datetime.now(UTC)
    upgrade(url)
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            for n in range(3):
                await uow.schedules.add_run(
                    Run(
                        f"close:test:{n}",
                        RunKind.STANDUP_CLOSE,
                        ChannelKey("standin", "w", f"c{n}"),
                        now - timedelta(minutes=1) + timedelta(seconds=n),
                        payload={"standup_id": 999},
                    )
                )
            await uow.commit()
    finally:
        await engine.dispose()
    # Every run has something to send (a close of no standup would send nothing).
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, "raidline")
    with monkeypatch.context() as m:
        m.setattr(
            "bot.scheduler.Scheduler._build",
            _build_something,
        )
        task, adapter, _ = await start_in_process(
            tmp_path, stop, RAIDLINE_DELIVERY_CONCURRENCY=concurrency
        )
        await asyncio.wait_for(adapter.sending.wait(), 10)
        began = time.monotonic()
        stop.set()
        assert await asyncio.wait_for(task, 5) == EXIT_OK
    assert time.monotonic() - began < 2.5
    abandoned = [r.getMessage() for r in caplog.records if "shutdown deadline" in r.getMessage()]
    assert abandoned and abandoned_runs in abandoned[0]
    if handed_back:
        assert handed_back in abandoned[0]
    else:
        assert "handed back" not in abandoned[0]
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            states = {}
            for n in range(3):
                key = ChannelKey("standin", "w", f"c{n}")
                (run,) = await uow.schedules.runs(key, RunKind.STANDUP_CLOSE)
                states[run.key] = (run.status, run.attempts, run.lease_until is not None)
    finally:
        await engine.dispose()
    in_flight = (RunStatus.SENDING, 1, True)  # keeps its lease: sent again once it ends
    unsent = (RunStatus.PENDING, 0, False)  # handed back as if never claimed
    assert states == {
        "close:test:0": in_flight,
        "close:test:1": unsent if handed_back else in_flight,
        "close:test:2": unsent if handed_back else in_flight,
    }


async def _build_something(self: Any, run: Run, now: datetime) -> Outgoing | None:
    from bot.messages import Reply

    return Outgoing(run.channel, Reply(text=f"for {run.key}"))


# --- logs: no secret through any library's logger, at DEBUG -----------------------------------


#: A secret with characters that URL and JSON encoding change.
ODD = 'pa"ss/w+rd=42'
#: Tokens nobody configured (another workspace's, from the installation store): their shape
#: alone gets them redacted.
INSTALLED_SLACK = "xoxb-2210-8812-Zx81LkQ0pTnM"
INSTALLED_DISCORD = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GhX1a2.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def json_logs() -> Iterator[Callable[[], str]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", "json", secrets=(*SECRETS, ODD), stream=stream)
    try:
        yield stream.getvalue
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)


async def test_third_party_debug_logs_never_show_a_secret(json_logs: Callable[[], str]) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    async def api(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "echo": request.headers.get("Authorization")})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        client = AsyncWebClient(token=SLACK_TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
        response = await client.auth_test(client_secret=CLIENT_SECRET)
        assert response["echo"] == f"Bearer {SLACK_TOKEN}"
    finally:
        await runner.cleanup()

    for name in ("discord.http", "discord.gateway", "aiohttp.client", "sqlalchemy.engine.Engine"):
        logger = logging.getLogger(name)
        logger.debug("Authorization: Bot %s", TOKEN)
        logger.debug("payload %r", {"token": TOKEN, "signing": wire.SECRET.encode()})
        logger.debug("form %s", urlencode({"client_secret": ODD, "token": SLACK_TOKEN}))
        logger.debug("json %s", json.dumps({"password": ODD}))
        logger.debug("plain", extra={"token": SLACK_TOKEN})
        logger.debug("installed %s and %s", INSTALLED_SLACK, INSTALLED_DISCORD)
        try:
            raise RuntimeError(f"refused {CLIENT_SECRET}")
        except RuntimeError:
            logger.debug("failed", exc_info=True)

    text = json_logs()
    lines = text.splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert any('"logger": "slack_sdk.web.async_base_client"' in line for line in lines)
    others = (INSTALLED_SLACK, INSTALLED_DISCORD)
    for secret in (*SECRETS, ODD, quote_plus(ODD), json.dumps(ODD)[1:-1], *others):
        assert secret not in text
        assert secret not in "".join(json.loads(line)["message"] for line in lines)
    assert text.count(REDACTED) >= 6 * 4
    assert f"installed xoxb-{REDACTED} and {REDACTED}" in text


async def test_what_was_made_at_start_is_out_of_the_collectors_sight_until_stopped(
    standin: type[StandIn], tmp_path: Path
) -> None:
    """The objects a running raidline keeps from its start (modules, metadata, machinery) are
    frozen, so full collections stop walking them (adapters.runtime.heap); given back when
    it stops."""
    stop = asyncio.Event()
    task, _, _ = await start_in_process(tmp_path, stop)
    await until(lambda: gc.get_freeze_count() > 0 or task.done(), 10)
    assert gc.get_freeze_count() > 10_000
    stop.set()
    assert await asyncio.wait_for(task, 10) == EXIT_OK
    assert gc.get_freeze_count() == 0
