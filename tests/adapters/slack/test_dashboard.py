"""Slack: ``/raid dashboard`` answers only the person who asked, and ``/digest now chart``
uploads the chart (files.getUploadURLExternal, the upload, files.completeUploadExternal)."""

from __future__ import annotations

import re

from adapters.charts import MatplotlibCharts
from adapters.runtime.config import load_settings
from adapters.web_auth import DashboardAuth, memory_remember
from tests.adapters.slack.conftest import Harness
from tests.adapters.slack.fake_slack import FakeSlack

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
    assert complete.body["channel_id"] == "C1"
    assert complete.body["files"][0]["title"] == "12-week trend and risk heat map"
    upload = next(c for c in fake.calls if c.method.startswith("upload:"))
    assert upload.raw.startswith(PNG)


async def test_digest_without_chart_uploads_nothing(slack: Harness, fake: FakeSlack) -> None:
    _equip(slack)
    await slack.command("/risk", "Vendor may slip likelihood 4 impact 5")
    await slack.wait("chat.postMessage")
    await slack.command("/digest", "now")
    digest = await slack.last("chat.postMessage", count=2)
    assert digest.body["text"].startswith("Digest")
    assert not fake.calls_to("files.getUploadURLExternal")
