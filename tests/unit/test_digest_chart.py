"""The digest's picture: ``/digest now chart`` and the weekly digest carry the 12-week trend
and the risk heat map as a PNG; the daily digest and a plain ``/digest`` do not."""

from __future__ import annotations

import pytest

from adapters.charts import MatplotlibCharts
from bot.domain import trends
from bot.messages import Tone
from bot.scheduler import Scheduler
from tests.unit.conftest import Chat
from tests.unit.test_scheduling import Recorder, at

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def charted(chat: Chat) -> Chat:
    chat.core.charts = MatplotlibCharts()
    return chat


async def test_digest_now_chart_carries_the_picture(charted: Chat) -> None:
    await charted.say("/risk Vendor may slip likelihood 4 impact 5 @bob")
    reply = await charted.say("/digest now chart")
    assert reply.text.startswith("Digest")
    (file,) = reply.files
    assert file.filename == "raidline-trends-2026-11-25.png"
    assert file.mime_type == "image/png"
    assert file.content.startswith(PNG)


@pytest.mark.parametrize("line", ["/digest", "/digest now"])
async def test_a_plain_digest_has_no_picture(charted: Chat, line: str) -> None:
    await charted.say("/blocker Waiting on keys")
    reply = await charted.say(line)
    assert reply.text.startswith("Digest")
    assert reply.files == ()


async def test_digest_now_takes_only_chart(charted: Chat) -> None:
    reply = await charted.say("/digest now please")
    assert reply.tone is Tone.ERROR
    assert "takes only `chart`" in reply.text
    assert "now [chart]" in (reply.usage or "")


async def test_without_a_drawer_the_digest_goes_without_a_picture(chat: Chat) -> None:
    reply = await chat.say("/digest now chart")
    assert reply.text.startswith("Digest")
    assert reply.files == ()


@pytest.mark.parametrize(
    ("rule", "pictured"), [("/digest weekly wed 17:00", True), ("/digest daily 17:00", False)]
)
async def test_the_weekly_digest_carries_the_picture(
    charted: Chat, rule: str, pictured: bool
) -> None:
    outbox = Recorder()
    scheduler = Scheduler(charted.store, outbox, clock=charted.clock)
    scheduler.charts = charted.core.charts
    await charted.say(rule)
    await charted.say("/risk Vendor may slip likelihood 4 impact 5 @bob")
    at(charted, 2026, 11, 25, 17, 0)
    await scheduler.tick()
    await scheduler.tick()
    (digest,) = outbox.take()
    assert digest.reply.text.startswith("Digest")
    files = digest.reply.files
    assert bool(files) is pictured
    if pictured:
        assert files[0].content.startswith(PNG)


def test_one_drawing_gives_the_pages_svg_and_chats_png() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    series = trends.Trends(
        trends.week_ends(now),
        (trends.Series("Open blockers", (0,) * 11 + (3,)), trends.Series("Open risks", (1,) * 12)),
    )
    heat = trends.HeatMap({(4, 5): 2}, 0)
    drawer = MatplotlibCharts()
    svg = drawer.draw(series, heat, "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<script" not in svg
    assert drawer.draw(series, heat, "png").startswith(PNG)
    assert drawer.draw(series, None, "svg") == drawer.draw(series, None, "svg")
