"""``raidline export`` from the shell, for a Slack or Discord channel: a register kept in a
SQLite file, written by the command line's own export (shared by the Slack and Discord
tests, each against its platform's stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.runtime import cli
from adapters.runtime.config import load_settings
from adapters.runtime.database import open_engine
from bot.domain.model import ChannelKey, Event, Kind
from storage.uow import make_uow_factory
from tests.integration.conftest import T0, make_item


async def seed(db: Path, channel: ChannelKey, owner: str, reporter: str) -> None:
    """One blocker owned by ``owner``, logged by ``reporter``, in ``channel``."""
    engine = await open_engine(load_settings({"DATABASE_URL": f"sqlite:///{db}"}))
    try:
        async with make_uow_factory(engine)() as uow:
            await uow.channels.get_settings(channel)
            item = await uow.items.add(
                make_item(Kind.BLOCKER, 1, channel=channel, owner=owner, reporter=reporter)
            )
            await uow.items.add_event(item.stored_id, Event(T0, reporter, "created"))
            await uow.commit()
    finally:
        await engine.dispose()


async def export(db: Path, env: dict[str, str], channel: str, fmt: str, tmp: Path) -> str:
    """What ``raidline export --channel CHANNEL --format FMT --output FILE`` writes."""
    settings = load_settings({"DATABASE_URL": f"sqlite:///{db}", **env})
    out = tmp / f"register.{fmt}"
    assert await cli.export_channel(settings, channel, fmt, out) == 0
    return out.read_text()


def note_of(body: str, fmt: str) -> str | None:
    """The export's note on how people are shown (md: its header paragraph; json: ``note``)."""
    if fmt == "json":
        note = json.loads(body)["note"]
        return str(note) if note is not None else None
    lines = body.splitlines()
    return lines[4] if len(lines) > 4 and lines[4].startswith("People are shown") else None
