"""Command throughput through the whole core on real storage: SQLite, and PostgreSQL when
``RAIDLINE_TEST_POSTGRES_URL`` is set. Ratios are measured in one run; nothing asserts.

    .venv/bin/python -m benchmarks.bench_commands
"""

from __future__ import annotations

import asyncio
import os
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


def _req(line: str, user: str = "ana") -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


async def _measure(url: str, creates: int, concurrency: int) -> dict[str, float]:
    upgrade(url)
    engine = create_engine(url)
    try:
        core = Core(make_uow_factory(engine), default_timezone="Europe/Berlin")
        started = time.perf_counter()
        for n in range(creates):
            await core.handle(_req(f"/blocker Sequential {n} @dana due friday"))
        sequential = time.perf_counter() - started

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
        return {
            "create_per_s": creates / sequential,
            "create_ms": sequential / creates * 1000,
            "concurrent_create_per_s": concurrency / concurrent,
            "list_ms": listing / lists * 1000,
            "items": creates + concurrency,
        }
    finally:
        await engine.dispose()


def run(creates: int = 300, concurrency: int = 200) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        results["sqlite"] = asyncio.run(_measure(url, creates, concurrency))
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
