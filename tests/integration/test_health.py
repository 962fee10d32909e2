"""/healthz, /readyz and /metrics on a real database, and the outbox queries they rely on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.metrics import Metrics
from adapters.runtime.bootstrap import bootstrap_for_tests
from adapters.runtime.config import load_settings
from adapters.web import Readiness, build_app
from bot.domain.model import WEEKDAYS, ChannelKey, ChannelSettings, Run, RunKind, RunStatus
from bot.messages import Outgoing, Request
from bot.scheduler import LEASE
from storage.db import create_engine
from storage.uow import make_uow_factory
from tests.integration.conftest import CHANNEL, UowFactory, closed_port

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeAdapter:
    def __init__(self, name: str, connected: bool = True) -> None:
        self.name = name
        self.connected = connected

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: Outgoing) -> str | None:
        return "ref"


class Ticks:
    def __init__(self, last_tick_at: datetime | None) -> None:
        self.last_tick_at = last_tick_at


Client = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def serve() -> AsyncIterator[Client]:
    clients: list[TestClient[Any, Any]] = []

    async def make(
        readiness: Readiness | None = None,
        metrics: Metrics | None = None,
        *,
        app: web.Application | None = None,
    ) -> Any:
        app = app if app is not None else build_app(readiness, metrics)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def readiness_on(
    engine: AsyncEngine,
    *,
    slack: bool = True,
    discord: bool = True,
    last_tick: datetime | None = NOW - timedelta(seconds=5),
) -> Readiness:
    return Readiness(
        engine,
        adapters=[FakeAdapter("slack", slack), FakeAdapter("discord", discord)],
        scheduler=Ticks(last_tick),
        tick_seconds=15,
        now=lambda: NOW,
    )


async def get_json(client: TestClient[Any, Any], path: str) -> tuple[int, dict[str, Any]]:
    resp = await client.get(path)
    return resp.status, await resp.json()


async def test_healthz_is_ok_while_the_process_runs(serve: Client, engine: AsyncEngine) -> None:
    client = await serve(readiness_on(engine, slack=False))
    assert await get_json(client, "/healthz") == (200, {"status": "ok"})


async def test_readyz_is_ready_with_database_adapters_and_a_recent_tick(
    serve: Client, engine: AsyncEngine
) -> None:
    client = await serve(readiness_on(engine))
    status, body = await get_json(client, "/readyz")
    assert status == 200, body
    assert body["ready"] is True and body["stopping"] is False
    checks = body["checks"]
    assert set(checks) == {"database", "slack", "discord", "scheduler"}
    assert checks["database"]["ok"] is True and checks["database"]["seconds"] >= 0
    assert checks["slack"] == {"ok": True, "connected": True}
    assert checks["discord"] == {"ok": True, "connected": True}
    assert checks["scheduler"] == {"ok": True, "last_tick_seconds_ago": 5.0, "max_seconds": 55.0}


async def test_readyz_names_a_disconnected_adapter(serve: Client, engine: AsyncEngine) -> None:
    client = await serve(readiness_on(engine, discord=False))
    status, body = await get_json(client, "/readyz")
    assert status == 503 and body["ready"] is False
    assert body["checks"]["discord"] == {
        "ok": False,
        "connected": False,
        "reason": "the discord adapter is not connected",
    }
    assert body["checks"]["slack"]["ok"] is True and body["checks"]["database"]["ok"] is True


@pytest.mark.parametrize(
    ("last_tick", "reason"),
    [
        (NOW - timedelta(seconds=56), "the last scheduler tick was 56s ago (limit 55s)"),
        (None, "the scheduler has not ticked yet"),
    ],
)
async def test_readyz_says_when_the_scheduler_is_stuck(
    serve: Client, engine: AsyncEngine, last_tick: datetime | None, reason: str
) -> None:
    client = await serve(readiness_on(engine, last_tick=last_tick))
    status, body = await get_json(client, "/readyz")
    assert status == 503 and body["ready"] is False
    assert body["checks"]["scheduler"]["ok"] is False
    assert body["checks"]["scheduler"]["reason"] == reason


async def test_readyz_is_not_ready_while_stopping(serve: Client, engine: AsyncEngine) -> None:
    readiness = readiness_on(engine)
    client = await serve(readiness)
    readiness.stopping = True
    status, body = await get_json(client, "/readyz")
    assert status == 503 and body["ready"] is False and body["stopping"] is True
    assert all(check["ok"] for check in body["checks"].values())
    assert (await client.get("/healthz")).status == 200


async def test_readyz_when_the_database_is_unreachable(serve: Client) -> None:
    engine = create_engine(f"postgresql+psycopg://raidline:hunter22@127.0.0.1:{closed_port()}/x")
    try:
        client = await serve(readiness_on(engine))
        resp = await client.get("/readyz")
        text = await resp.text()
        body = await resp.json()
    finally:
        await engine.dispose()
    assert resp.status == 503 and body["ready"] is False
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["reason"] == "the database does not answer"
    assert body["checks"]["slack"]["ok"] is True
    assert "hunter22" not in text


async def test_metrics_counts_requests_and_scheduler_work_on_storage(
    serve: Client, engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    # Wired as ``raidline run`` wires them: the core and the tick report to the metrics the
    # web application serves.
    parts = bootstrap_for_tests(
        uow_factory,
        settings=load_settings({"RAIDLINE_TIMEZONE": "Europe/Berlin"}),
        engine=engine,
        adapters={"slack": lambda _deps: FakeAdapter("slack")},
    )
    core = parts.core
    await core.handle(Request(CHANNEL, "ana", command="blocker", text="Waiting on creds"))
    await core.handle(Request(CHANNEL, "ana", command="raid", text="show B-9"))

    async with uow_factory() as uow:
        # Today, whatever day it is, is a working day: the digest must be sent, not skipped.
        await uow.channels.save_settings(ChannelSettings(channel=CHANNEL, work_days=WEEKDAYS))
        await uow.schedules.add_run(
            Run("digest:test:1", RunKind.DIGEST, CHANNEL, datetime.now(UTC) - timedelta(seconds=3))
        )
        await uow.schedules.add_run(
            Run("digest:test:2", RunKind.DIGEST, CHANNEL, datetime.now(UTC) + timedelta(hours=1))
        )
        await uow.commit()
    scheduler = parts.ticker().scheduler
    before = datetime.now(UTC).timestamp()
    await scheduler.tick()

    client = await serve(app=parts.web_app)
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(await resp.text())
        for s in family.samples
    }
    command = (("kind", "command"),)
    assert found[("raidline_requests_total", (*command, ("name", "blocker"), ("outcome", "ok")))]
    assert found[
        ("raidline_requests_total", (*command, ("name", "raid"), ("outcome", "not_found")))
    ]
    assert found[("raidline_request_seconds_count", command)] == 2
    assert found[("raidline_deliveries_total", (("kind", "digest"),))] == 1
    assert found[("raidline_outbox_depth", ())] == 1
    assert found[("raidline_scheduler_lag_seconds", ())] >= 3
    assert found[("raidline_scheduler_last_tick_timestamp", ())] >= before
    assert found[("raidline_database_errors_total", ())] == 0


async def test_outbox_depth_and_handing_back_claimed_runs(uow_factory: UowFactory) -> None:
    other = ChannelKey("slack", "T0001", "C0002")
    async with uow_factory() as uow:
        assert await uow.schedules.outbox_depth() == 0
        for key, channel in (("a", CHANNEL), ("b", other), ("c", CHANNEL)):
            await uow.schedules.add_run(Run(f"test:{key}", RunKind.DIGEST, channel, NOW))
        done = await uow.schedules.add_run(
            Run("test:done", RunKind.DIGEST, CHANNEL, NOW, status=RunStatus.DONE)
        )
        assert done is not None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.schedules.outbox_depth() == 3
        claimed = await uow.schedules.claim_runs(NOW, NOW + LEASE)
        await uow.commit()
    assert [r.attempts for r in claimed] == [1, 1, 1]
    async with uow_factory() as uow:
        await uow.schedules.finish_run(claimed[0].stored_id, RunStatus.DONE, "ref")
        # The finished one (and one that does not exist) are left alone.
        ids = [r.stored_id for r in claimed] + [done, 10_000]
        assert await uow.schedules.release_runs(ids) == 2
        assert await uow.schedules.release_runs([]) == 0
        assert await uow.schedules.outbox_depth() == 2
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.schedules.claim_runs(NOW, NOW + LEASE)
        await uow.commit()
    assert sorted(r.key for r in again) == sorted(r.key for r in claimed[1:])
    assert [r.attempts for r in again] == [1, 1]  # the released claim did not count
    assert all(r.status is RunStatus.SENDING for r in again)


@pytest.fixture
def sqlite_only(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")


async def test_readyz_on_sqlite_with_a_migrated_database_file(
    serve: Client, migrated_url: str, sqlite_only: None
) -> None:
    engine = create_engine(migrated_url)
    try:
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            assert await uow.schedules.outbox_depth() == 0
        client = await serve(readiness_on(engine))
        status, body = await get_json(client, "/readyz")
    finally:
        await engine.dispose()
    assert status == 200 and body["ready"] is True


# --- the operations endpoints apart from the public port, or behind a bearer token ---------

OPS_TOKEN = "ops-token-0123456789-abcdefghijklmnop"


def wired(engine: AsyncEngine, uow_factory: UowFactory, **env: str) -> Any:
    """The parts ``raidline run`` wires for one (fake) adapter with these settings."""
    parts = bootstrap_for_tests(
        uow_factory,
        settings=load_settings(env),
        engine=engine,
        adapters={"slack": lambda _deps: FakeAdapter("slack")},
    )
    assert parts.readiness is not None
    parts.readiness.scheduler = Ticks(datetime.now(UTC))
    return parts


async def test_ops_port_takes_readyz_and_metrics_off_the_public_port(
    serve: Client, engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    parts = wired(engine, uow_factory, RAIDLINE_OPS_PORT="9464")
    public = await serve(app=parts.web_app)
    assert await get_json(public, "/healthz") == (200, {"status": "ok"})
    for path in ("/readyz", "/metrics"):
        assert (await public.get(path)).status == 404, path

    assert parts.ops_app is not None
    ops = await serve(app=parts.ops_app)
    status, body = await get_json(ops, "/readyz")
    assert (status, body["ready"]) == (200, True), body
    resp = await ops.get("/metrics")
    assert resp.status == 200
    assert "raidline_requests_total" in await resp.text()
    assert await get_json(ops, "/healthz") == (200, {"status": "ok"})


async def test_without_ops_port_they_stay_on_the_public_port(
    serve: Client, engine: AsyncEngine, uow_factory: UowFactory
) -> None:
    parts = wired(engine, uow_factory)
    assert parts.ops_app is None
    public = await serve(app=parts.web_app)
    assert (await public.get("/readyz")).status == 200
    assert (await public.get("/metrics")).status == 200


@pytest.mark.parametrize("apart", [False, True], ids=["public port", "ops port"])
@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token", 401),
        (OPS_TOKEN, 401),  # the token without "Bearer"
        (f"Basic {OPS_TOKEN}", 401),
        (f"Bearer {OPS_TOKEN}", 200),
    ],
    ids=["no header", "wrong token", "no scheme", "basic", "right token"],
)
async def test_ops_token_guards_readyz_and_metrics_but_not_healthz(
    serve: Client,
    engine: AsyncEngine,
    uow_factory: UowFactory,
    apart: bool,
    authorization: str | None,
    status: int,
) -> None:
    env = {"RAIDLINE_OPS_TOKEN": OPS_TOKEN}
    if apart:
        env["RAIDLINE_OPS_PORT"] = "9464"
    parts = wired(engine, uow_factory, **env)
    client = await serve(app=parts.ops_app if apart else parts.web_app)
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/readyz", "/metrics"):
        resp = await client.get(path, headers=headers)
        assert resp.status == status, path
        if status == 401:
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert await resp.json() == {
                "error": "unauthorized: send Authorization: Bearer <RAIDLINE_OPS_TOKEN>"
            }
            assert "raidline_" not in await resp.text()
    assert await get_json(client, "/healthz") == (200, {"status": "ok"})


def hold_sqlite_lock(url: str, *, exclusive: bool = False) -> sqlite3.Connection:
    """Another process's connection in the middle of a write (uncommitted)."""
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=5)
    if exclusive:  # what a VACUUM or a backup tool's exclusive lock does: readers wait too
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE" if exclusive else "BEGIN IMMEDIATE")
    other.execute("INSERT INTO seen_requests VALUES ('k', '2026-12-01 09:00:00')")
    return other


async def test_readyz_on_sqlite_does_not_wait_for_a_write_in_progress(
    serve: Client, migrated_url: str, sqlite_only: None
) -> None:
    engine = create_engine(migrated_url)
    client = await serve(readiness_on(engine))
    assert (await client.get("/readyz")).status == 200  # the bot's file is in WAL mode now
    other = hold_sqlite_lock(migrated_url)
    try:
        started = time.perf_counter()
        status, body = await get_json(client, "/readyz")
        elapsed = time.perf_counter() - started
        other.execute("COMMIT")  # the writer was never held up either
    finally:
        other.close()
        await engine.dispose()
    assert status == 200 and body["checks"]["database"]["ok"] is True, body
    assert elapsed < 2


async def test_readyz_answers_within_its_own_limit_when_the_database_hangs(
    serve: Client, migrated_url: str, sqlite_only: None
) -> None:
    engine = create_engine(migrated_url)
    readiness = readiness_on(engine)
    readiness.database_timeout = 0.5
    client = await serve(readiness)
    assert (await client.get("/readyz")).status == 200  # the bot's file is in WAL mode now
    await engine.dispose()  # an exclusive lock waits for no open connection
    other = hold_sqlite_lock(migrated_url, exclusive=True)
    try:
        started = time.perf_counter()
        status, body = await get_json(client, "/readyz")
        elapsed = time.perf_counter() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
        await engine.dispose()
    assert status == 503 and body["ready"] is False
    database = body["checks"]["database"]
    assert (database["ok"], database["reason"]) == (False, "the database does not answer")
    assert 0.5 <= elapsed < 2
