"""/raid calendar on Slack: the link is answered to the requester only (ephemeral), named
after the channel, and never posted in the channel."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar

from adapters.links import PublicLinks
from adapters.runtime.config import load_settings
from tests.adapters.slack.conftest import Harness, blocks_text

LINK_RE = re.compile(r"https://raid\.example\.com/calendar/([A-Za-z0-9_-]{43})\.ics")


@pytest.fixture
def linked(slack: Harness) -> Harness:
    slack.core.links = PublicLinks(
        load_settings({"RAIDLINE_PUBLIC_URL": "https://raid.example.com"})
    )
    return slack


async def test_the_link_is_ephemeral_and_opens_the_channels_feed(linked: Harness) -> None:
    await linked.command("/blocker", "Waiting on firewall change <@U2|dana> due friday")
    await linked.last("chat.postMessage")  # the blocker, in the channel
    posts = len(linked.fake.calls_to("chat.postMessage"))
    status, body, reply_to = await linked.command("/raid", "calendar")
    assert (status, body) == (200, "")
    answer = await linked.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "Your calendar link for #project:" in answer.body["text"]
    token = LINK_RE.search(answer.body["text"])
    assert token is not None, answer.body["text"]
    assert "Outlook: Add calendar &gt; Subscribe from web" in blocks_text(answer.body["blocks"])
    assert len(linked.fake.calls_to("chat.postMessage")) == posts  # nothing in the channel
    feed = await linked.core.calendar_feed(token.group(1))
    assert feed is not None
    [event] = Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["summary"]) == "#project · B-1 due: Waiting on firewall change"
    assert "Owner: @U2" in str(event["description"])


async def test_reset_is_ephemeral_and_the_old_link_stops(linked: Harness) -> None:
    _, _, first_to = await linked.command("/raid", "calendar")
    old = LINK_RE.search((await linked.last(first_to)).body["text"])
    assert old is not None
    _, _, reset_to = await linked.command("/raid", "calendar reset")
    answer = await linked.last(reset_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "Your 1 earlier calendar link for #project no longer works." in answer.body["text"]
    assert await linked.core.calendar_feed(old.group(1)) is None


async def test_a_direct_message_is_named_by_its_id(linked: Harness) -> None:
    _, _, reply_to = await linked.command(
        "/raid", "calendar", channel="D42", channel_name="directmessage"
    )
    answer = await linked.last(reply_to)
    assert "Your calendar link for #D42:" in answer.body["text"]
