"""Command throughput through the whole core on real storage: SQLite, and PostgreSQL when
``RAIDLINE_TEST_POSTGRES_URL`` is set. Ratios are measured in one run; nothing asserts.

    .venv/bin/python -m benchmarks.bench_commands

Sequential ``/blocker`` times are the median of :data:`REPETITIONS` runs. Beside them, on
SQLite, ``core_sync_floor_ms_sqlite``: one bare ``sqlite3`` transaction of one small insert
in the same directory with the same ``synchronous=FULL``, measured between the repetitions:
the part of a command that is the disk syncing its log, which no code change removes (on a
quiet disk about 0.15 ms; on a disk busy with other processes' syncs several ms).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import emit, postgres_database
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.messages import Request
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory

CHANNEL = ChannelKey("console", "local", "bench")
#: Sequential runs of /blocker; the figure is their median.
REPETITIONS = 5


def sync_floor_ms(directory: Path, transactions: int = 100) -> float:
    """One bare SQLite transaction (BEGIN IMMEDIATE, a small insert, COMMIT), WAL mode and
    ``synchronous=FULL`` as raidline's, in milliseconds: what the disk alone costs."""
    path = directory / "floor.db"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        started = time.perf_counter()
        for n in range(transactions):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t (v) VALUES (?)", (f"row {n}",))
            connection.execute("COMMIT")
        return (time.perf_counter() - started) / transactions * 1000
    finally:
        connection.close()


def _req(line: str, user: str = "ana") -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


async def _measure(
    url: str, creates: int, concurrency: int, floor_in: Path | None = None
) -> dict[str, float]:
    upgrade(url)
    engine = create_engine(url)
    try:
        core = Core(make_uow_factory(engine), default_timezone="Europe/Berlin")
        for n in range(20):  # connections, caches, prepared statements
            await core.handle(_req(f"/blocker Warm-up {n}"))
        each: list[float] = []
        floors: list[float] = []
        per_run = max(1, creates // REPETITIONS)  # with the warm-up, 300 as before
        for run in range(REPETITIONS):
            if floor_in is not None:
                floors.append(sync_floor_ms(floor_in))
            started = time.perf_counter()
            for n in range(per_run):
                await core.handle(_req(f"/blocker Sequential {run}-{n} @dana due friday"))
            each.append((time.perf_counter() - started) / per_run * 1000)
        create_ms = statistics.median(each)

        started = time.perf_counter()
        await asyncio.gather(
            *(core.handle(_req(f"/blocker Concurrent {n}")) for n in range(concurrency))
        )
        concurrent = time.perf_counter() - started

        started = time.perf_counter()
        lists = 50
        for _ in range(lists):
            await core.handle(_req("/raid list"))
        listing = time.perf_counter() - started
        result = {
            "create_per_s": 1000 / create_ms,
            "create_ms": create_ms,
            "concurrent_create_per_s": concurrency / concurrent,
            "list_ms": listing / lists * 1000,
            "items": 20 + per_run * REPETITIONS + concurrency,
        }
        if floors:
            result["sync_floor_ms"] = statistics.median(floors)
        return result
    finally:
        await engine.dispose()


def run(creates: int = 280, concurrency: int = 200) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        results["sqlite"] = asyncio.run(_measure(url, creates, concurrency, Path(tmp)))
    base = os.environ.get("RAIDLINE_TEST_POSTGRES_URL")
    if base:
        with postgres_database(base) as url:
            results["postgres"] = asyncio.run(_measure(url, creates, concurrency))
    return results


def main() -> None:
    results = run()
    print("command throughput (whole core, real storage)")
    print(f"{'backend':10} {'/blocker/s':>11} {'ms each':>8} {'200 at once/s':>14} {'list ms':>8}")
    for backend, r in results.items():
        print(
            f"{backend:10} {r['create_per_s']:11.0f} {r['create_ms']:8.2f} "
            f"{r['concurrent_create_per_s']:14.0f} {r['list_ms']:8.2f}"
        )
    if "sync_floor_ms" in results["sqlite"]:
        print(
            f"the disk alone (a bare SQLite transaction, synchronous=FULL): "
            f"{results['sqlite']['sync_floor_ms']:.2f} ms"
        )
    if "postgres" in results:
        ratio = results["sqlite"]["create_per_s"] / results["postgres"]["create_per_s"]
        print(f"SQLite/PostgreSQL /blocker throughput ratio: {ratio:.2f}")
    else:
        print("(set RAIDLINE_TEST_POSTGRES_URL to measure PostgreSQL too)")
    emit(
        {
            f"core_{name}_{backend}": value
            for backend, r in results.items()
            for name, value in r.items()
            if name != "items"
        }
    )


if __name__ == "__main__":
    main()
