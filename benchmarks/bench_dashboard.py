"""The dashboard's overview page, and how its cost grows with the history kept.

    .venv/bin/python -m benchmarks.bench_dashboard

* ``dashboard_ms_100k``: one channel with 5,000 items (4,000 open, 1,000 finished; a quarter
  of each kind) and 100,000 events of history over the past year; the server time of
  ``GET /dashboard/c/<slug>/`` (signed in: the session checked, every number read, the page
  rendered), over HTTP to raidline's own aiohttp application, median of several requests on
  SQLite (and PostgreSQL, reported beside it, when configured).
* ``dashboard_growth``: the same channel with 1,000,000 events of history, divided by the time
  with 100,000. 1 means the history costs nothing. Writing a million events takes a few
  minutes: ``RAIDLINE_BENCH_DASHBOARD_1M=0`` leaves that case out (the growth is then not
  reported).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from adapters.charts import MatplotlibCharts
from adapters.dashboard import Dashboard
from adapters.runtime.config import load_settings
from adapters.web import build_app
from adapters.web_auth import DashboardAuth, memory_remember
from benchmarks._common import emit, median, postgres_base_url, postgres_database
from benchmarks._data import NOW, add_channels, add_events, add_items, sync_engine
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.fakes import FixedClock

CHANNEL = ChannelKey("slack", "T1", "C000000")
OPEN = 4_000
DONE = 1_000
ROUNDS = 7
SECRET = "benchmark-key-0123456789abcdefghijklmnopqrstuvwxyz"


def sizes() -> tuple[int, ...]:
    if os.environ.get("RAIDLINE_BENCH_DASHBOARD_1M", "1").strip() in ("0", "off", "no"):
        return (100_000,)
    return (100_000, 1_000_000)


def populate(url: str, history: int) -> None:
    upgrade(url)
    engine = sync_engine(url)
    try:
        (channel_id,) = add_channels(engine, 1, created_at=NOW - timedelta(days=400))
        ids = add_items(engine, channel_id, open_count=OPEN, done_count=DONE, now=NOW)
        add_events(engine, channel_id, ids, history, start=NOW - timedelta(days=365), end=NOW)
    finally:
        engine.dispose()


async def _time_page(url: str, rounds: int = ROUNDS) -> tuple[float, int]:
    engine = create_engine(url)
    try:
        core = Core(make_uow_factory(engine), clock=FixedClock(NOW))
        core.charts = MatplotlibCharts()
        settings = load_settings({"RAIDLINE_PUBLIC_URL": "http://bench.test"})
        auth = DashboardAuth(SECRET, settings, memory_remember())
        app = build_app()
        Dashboard(core, auth, core.charts).add_routes(app)
        async with TestClient(TestServer(app)) as client:
            link = auth.dashboard_link(CHANNEL, "U0000", NOW)
            opened = await client.get(link.removeprefix("http://bench.test"), allow_redirects=False)
            page = "/dashboard/" + opened.headers["Location"]
            samples = []
            size = 0
            for _ in range(rounds + 1):  # the first one warms caches and the connection pool
                started = time.perf_counter()
                response = await client.get(page)
                body = await response.read()
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status == 200, body[:200]
                size = len(body)
        return median(samples[1:]), size
    finally:
        await engine.dispose()


def measure(url: str, history: int) -> float:
    started = time.perf_counter()
    populate(url, history)
    built = time.perf_counter() - started
    ms, size = asyncio.run(_time_page(url))
    print(
        f"  {history:>9,} events of history: {ms:8.2f} ms  "
        f"(a {size // 1024} KB page; data written in {built:.0f} s)"
    )
    return ms


def run() -> dict[str, float]:
    results: dict[str, float] = {}
    wanted = sizes()
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        at = {n: measure(f"sqlite:///{Path(tmp) / f'd{n}.db'}", n) for n in wanted}
    results["dashboard_ms_100k"] = at[100_000]
    if 1_000_000 in at:
        results["dashboard_ms_1m"] = at[1_000_000]
        results["dashboard_growth"] = at[1_000_000] / at[100_000]
    else:
        print("  (RAIDLINE_BENCH_DASHBOARD_1M=0: the 1,000,000-event case was left out)")
    base = postgres_base_url()
    if base:
        print("PostgreSQL")
        pg = {}
        for n in wanted:
            with postgres_database(base) as url:
                pg[n] = measure(url, n)
        results["dashboard_pg_ms_100k"] = pg[100_000]
        if 1_000_000 in pg:
            results["dashboard_pg_growth"] = pg[1_000_000] / pg[100_000]
    return results


def main() -> None:
    emit(run())


if __name__ == "__main__":
    main()
