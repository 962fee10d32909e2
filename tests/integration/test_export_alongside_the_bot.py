"""``raidline export --all`` runs next to the bot: its snapshot does not hold up the bot's
writes, and it still sees one consistent moment."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.messages import Request, Tone
from storage import backup
from storage.db import create_engine
from storage.uow import make_uow_factory

CHANNEL = ChannelKey("slack", "T0001", "C0001")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def say(line: str) -> Request:
    command, _, rest = line.lstrip("/").partition(" ")
    return Request(CHANNEL, "ana", command=command, text=rest)


async def test_the_bot_writes_while_an_export_reads(migrated_url: str) -> None:
    # Two engines, as two processes: the running bot and `raidline export --all`.
    bot_engine, export_engine = create_engine(migrated_url), create_engine(migrated_url)
    try:
        bot = Core(make_uow_factory(bot_engine))
        assert (await bot.handle(say("/blocker Before the export"))).tone is not Tone.ERROR
        async with backup.snapshot_uow_factory(export_engine)() as snapshot:
            before = await backup.export_all(snapshot, NOW)  # the read transaction is open
            started = time.perf_counter()
            async with asyncio.timeout(5):
                written = await bot.handle(say("/blocker While the export runs"))
            elapsed = time.perf_counter() - started
            during = await backup.export_all(snapshot, NOW)
        assert written.tone is not Tone.ERROR, written.text
        assert elapsed < 2
        titles = [i["title"] for c in during["channels"] for i in c["items"]]
        assert titles == ["Before the export"]  # one moment: not what came after it began
        assert during == before
    finally:
        await bot_engine.dispose()
        await export_engine.dispose()
