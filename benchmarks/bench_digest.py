"""Composing one channel's digest, and how its cost grows with the history kept.

    .venv/bin/python -m benchmarks.bench_digest

* ``digest_ms_100k``: one channel with 5,000 open items (and 5,000 finished ones), 100,000
  events of history over the past year and 200 changes since the last digest; the time of
  ``bot.services.digests.build`` then ``bot.views.digests.digest`` (read, then worded) in its
  own unit of work (what a scheduled digest runs), median of several runs on SQLite (and
  PostgreSQL, reported beside it, when configured).
* ``digest_growth``: the same channel and the same 200 recent changes with 1,000,000 events
  of history, divided by the time with 10,000. 1 means the history costs nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks._common import emit, median, postgres_base_url, postgres_database
from benchmarks._data import NOW, add_channels, add_events, add_items, sync_engine
from bot.domain.model import ChannelKey
from bot.services import digests
from bot.views import digests as digest_views
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory

CHANNEL = ChannelKey("slack", "T1", "C000000")
SINCE = NOW - timedelta(days=1)
RECENT = 200
OPEN = 5_000
DONE = 5_000
ROUNDS = 7
SIZES = (10_000, 100_000, 1_000_000)


def populate(url: str, history: int) -> None:
    upgrade(url)
    engine = sync_engine(url)
    try:
        (channel_id,) = add_channels(engine, 1, created_at=NOW - timedelta(days=400))
        ids = add_items(engine, channel_id, open_count=OPEN, done_count=DONE, now=NOW)
        add_events(engine, channel_id, ids, history, start=NOW - timedelta(days=365), end=SINCE)
        # The same recent changes whatever the history: same items, same seed.
        add_events(engine, channel_id, ids[:OPEN], RECENT, start=SINCE, end=NOW, seed=99)
    finally:
        engine.dispose()


async def _time_digest(url: str, rounds: int = ROUNDS) -> tuple[float, str]:
    engine = create_engine(url)
    try:
        factory = make_uow_factory(engine)
        samples = []
        headline = ""
        for _ in range(rounds + 1):  # the first one warms caches and the connection pool
            started = time.perf_counter()
            async with factory() as uow:
                found = await digests.build(uow, CHANNEL, SINCE, NOW)
                reply = digest_views.digest(found, "Europe/Berlin", NOW)
            samples.append((time.perf_counter() - started) * 1000)
            headline = reply.text
        return median(samples[1:]), headline
    finally:
        await engine.dispose()


def measure(url: str, history: int) -> float:
    started = time.perf_counter()
    populate(url, history)
    built = time.perf_counter() - started
    ms, headline = asyncio.run(_time_digest(url))
    print(f"  {history:>9,} events of history: {ms:8.2f} ms  (data written in {built:.0f} s)")
    print(f"    {headline}")
    return ms


def run() -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        at = {n: measure(f"sqlite:///{Path(tmp) / f'd{n}.db'}", n) for n in SIZES}
    results["digest_ms_100k"] = at[100_000]
    results["digest_ms_10k"] = at[10_000]
    results["digest_ms_1m"] = at[1_000_000]
    results["digest_growth"] = at[1_000_000] / at[10_000]
    base = postgres_base_url()
    if base:
        print("PostgreSQL")
        pg = {}
        for n in SIZES:
            with postgres_database(base) as url:
                pg[n] = measure(url, n)
        results["digest_pg_ms_100k"] = pg[100_000]
        results["digest_pg_growth"] = pg[1_000_000] / pg[10_000]
    return results


def main() -> None:
    emit(run())


if __name__ == "__main__":
    main()
