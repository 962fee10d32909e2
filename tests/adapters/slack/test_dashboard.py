"""Slack: ``/raid dashboard`` answers only the person who asked, and the digest's chart
(``/digest now chart``, the weekly digest) is uploaded into the digest's own thread
(files.getUploadURLExternal, the upload, files.completeUploadExternal with its thread_ts)."""

from __future__ import annotations

import re

from adapters.charts import MatplotlibCharts
from adapters.runtime.config import load_settings
from adapters.web_auth import DashboardAuth, memory_remember
from bot.scheduler import Scheduler
from tests.adapters.slack.conftest import Harness
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FixedClock

PNG = b"\x89PNG\r\n\x1a\n"


def _equip(slack: Harness) -> None:
    settings = load_settings({"RAIDLINE_PUBLIC_URL": "https://raidline.example.com"})
    slack.core.dashboard_links = DashboardAuth("k" * 40, settings, memory_remember())
    slack.core.charts = MatplotlibCharts()


async def test_the_dashboard_link_is_ephemeral(slack: Harness) -> None:
    _equip(slack)
    _, _, reply_to = await slack.command("/raid", "dashboard")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert re.search(
        r"https://raidline\.example\.com/dashboard/open\?t=[\w.-]+", answer.body["text"]
    ), answer.body["text"]


async def test_digest_now_chart_uploads_the_picture(slack: Harness, fake: FakeSlack) -> None:
    _equip(slack)
    await slack.command("/risk", "Vendor may slip likelihood 4 impact 5")
    await slack.wait("chat.postMessage")
    await slack.command("/digest", "now chart")
    await slack.wait("files.getUploadURLExternal")
    complete = await slack.last("files.completeUploadExternal")
    digest = await slack.last("chat.postMessage", count=2)
    assert digest.body["text"].startswith("Digest")
    # The picture goes into the digest's thread, not beside it in the channel.
    assert digest.ts and "thread_ts" not in digest.body
    assert (complete.body["channel_id"], complete.body["thread_ts"]) == ("C1", digest.ts)
    assert complete.body["files"][0]["title"] == "12-week trend and risk heat map"
    upload = next(c for c in fake.calls if c.method.startswith("upload:"))
    assert upload.raw.startswith(PNG)
    assert fake.methods().index("chat.postMessage", 1) < fake.methods().index(upload.method)


async def test_the_weekly_digest_uploads_its_chart_into_its_thread(
    slack: Harness, fake: FakeSlack, clock: FixedClock
) -> None:
    _equip(slack)
    await slack.command("/digest", "weekly wed 11:00")
    await slack.command("/risk", "Vendor may slip likelihood 4 impact 5")
    before = len(await slack.wait("chat.postMessage", count=2))  # the two replies
    scheduler = Scheduler(slack.core.uow_factory, slack.adapter, clock=clock)
    scheduler.charts = slack.core.charts
    clock.advance(hours=2)  # 11:00 Berlin has passed
    await scheduler.tick()
    await scheduler.tick()
    complete = await slack.last("files.completeUploadExternal")
    (digest,) = fake.calls_to("chat.postMessage")[before:]
    assert digest.body["text"].startswith("Digest")
    assert digest.ts and "thread_ts" not in digest.body
    assert (complete.body["channel_id"], complete.body["thread_ts"]) == ("C1", digest.ts)
    assert complete.body["files"][0]["title"] == "12-week trend and risk heat map"
    # The outbox records the digest message's ts, the same the picture is threaded under.
    assert slack.store is not None
    (run,) = [r for r in slack.store.state.runs.values() if r.result_ref == digest.ts]
    assert run.kind.value == "digest"


async def test_digest_without_chart_uploads_nothing(slack: Harness, fake: FakeSlack) -> None:
    _equip(slack)
    await slack.command("/risk", "Vendor may slip likelihood 4 impact 5")
    await slack.wait("chat.postMessage")
    await slack.command("/digest", "now")
    digest = await slack.last("chat.postMessage", count=2)
    assert digest.body["text"].startswith("Digest")
    assert not fake.calls_to("files.getUploadURLExternal")
