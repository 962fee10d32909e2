"""Discord: ``/raid dashboard`` answers privately (ephemeral) with the link, and ``/digest now``
with ``chart`` and the weekly digest carry the picture as an attachment of the digest message
itself (one message, not a second one beside it)."""

from __future__ import annotations

import json

from adapters.charts import MatplotlibCharts
from adapters.discord import DiscordAdapter
from adapters.runtime.config import load_settings
from adapters.web_auth import DashboardAuth, memory_remember
from bot.domain.model import RunKind
from bot.scheduler import Scheduler
from tests.adapters.discord.conftest import (
    CHANNEL_A,
    Driver,
    RecordingCore,
    is_ephemeral,
    place,
    until,
)
from tests.adapters.discord.fake_discord import FakeDiscord, opt, slash
from tests.fakes import FakeStore, FixedClock

PNG = b"\x89PNG\r\n\x1a\n"


def _equip(core: RecordingCore) -> None:
    settings = load_settings({"RAIDLINE_PUBLIC_URL": "https://raidline.example.com"})
    core.dashboard_links = DashboardAuth("k" * 40, settings, memory_remember())
    core.charts = MatplotlibCharts()


async def test_the_dashboard_link_is_ephemeral(
    core: RecordingCore, bot: DiscordAdapter, discord_api: Driver
) -> None:
    _equip(core)
    body = await discord_api.answer(slash(place(), "raid dashboard"))
    assert is_ephemeral(body)
    text = str(body["data"])
    assert "https://raidline.example.com/dashboard/open?t=" in text


async def test_digest_now_with_chart_attaches_the_picture(
    core: RecordingCore, bot: DiscordAdapter, fake: FakeDiscord, discord_api: Driver
) -> None:
    _equip(core)
    await discord_api.message(
        slash(place(), "risk", [opt("title", "Vendor may slip"), opt("likelihood", "4")])
    )
    interaction = slash(place(), "digest now", [opt("chart", True, 5)])
    await discord_api.answer(interaction)
    posted = await until(
        lambda: [m for m in fake.messages.values() if m["attachments"]], what="the digest"
    )
    (message,) = posted
    assert "Digest" in json.dumps(message["embeds"]) + message["content"]
    names = [a["filename"] for a in message["attachments"]]
    assert names == ["raidline-trends-2026-11-25.png"]
    uploads = [f for c in fake.calls for f in c.files if f[0] == names[0]]
    assert uploads and uploads[0][1].startswith(PNG)


async def test_the_weekly_digest_message_carries_the_picture(
    core: RecordingCore,
    bot: DiscordAdapter,
    fake: FakeDiscord,
    discord_api: Driver,
    clock: FixedClock,
) -> None:
    _equip(core)
    await discord_api.answer(
        slash(place(), "digest weekly", [opt("day", "wed"), opt("time", "11:00")])
    )
    await discord_api.message(
        slash(place(), "risk", [opt("title", "Vendor may slip"), opt("likelihood", "4")])
    )
    scheduler = Scheduler(core.uow_factory, bot, clock=clock)
    scheduler.charts = core.charts
    posts = len(fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages"))
    clock.advance(hours=2)  # 11:00 Berlin has passed
    await scheduler.tick()
    await scheduler.tick()
    store = core.uow_factory
    assert isinstance(store, FakeStore)
    (run,) = [r for r in store.state.runs.values() if r.kind is RunKind.DIGEST]
    assert run.result_ref is not None
    digest = fake.message(run.result_ref)
    assert "Digest" in json.dumps(digest["embeds"]) + digest["content"]
    assert [a["filename"] for a in digest["attachments"]] == ["raidline-trends-2026-11-25.png"]
    assert digest["files"][0][0] == "raidline-trends-2026-11-25.png"
    # One multipart message: nothing else was posted for the digest.
    assert len(fake.calls_to("POST", rf"/channels/{CHANNEL_A}/messages")) == posts + 1
