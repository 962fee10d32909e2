"""A Slack workspace admin or owner (users.info says so) may always set a channel's leads."""

from __future__ import annotations

import pytest

from bot.domain.model import ChannelKey
from tests.adapters.slack.conftest import Harness
from tests.adapters.slack.fake_slack import FakeSlack

CHANNEL = ChannelKey("slack", "T1", "C1")


def leads(slack: Harness) -> tuple[str, ...]:
    assert slack.store is not None
    settings = slack.store.state.settings.get(CHANNEL)
    return settings.leads if settings else ()


@pytest.mark.parametrize(
    ("flags", "taken_over"),
    [
        ({"is_admin": True}, True),
        ({"is_owner": True}, True),
        ({"is_primary_owner": True}, True),
        ({}, False),
    ],
)
async def test_a_workspace_admin_may_set_the_leads_of_a_locked_channel(
    slack: Harness, fake: FakeSlack, flags: dict[str, bool], taken_over: bool
) -> None:
    await slack.command("/raid", "settings leads <@U1>", user="U1")
    await slack.last("chat.postMessage")
    assert leads(slack) == ("U1",)
    fake.user_flags["U9"] = flags
    _, _, reply_to = await slack.command("/raid", "settings leads <@U9> <@U2>", user="U9")
    if taken_over:
        post = await slack.last("chat.postMessage", 2)
        assert post.body["text"] == "Leads of this channel: <@U9> <@U2>."
        assert leads(slack) == ("U9", "U2")
    else:
        answer = await slack.last(reply_to)
        assert leads(slack) == ("U1",)
        assert answer.body["text"] == (
            ":warning: Only a lead (<@U1>) or a Slack workspace admin may change the leads."
        )


async def test_the_admin_flag_is_cached_with_the_time_zone(slack: Harness, fake: FakeSlack) -> None:
    fake.user_flags["U9"] = {"is_admin": True}
    await slack.command("/raid", "settings leads <@U1>", user="U1")
    await slack.last("chat.postMessage")
    for n, text in enumerate(("settings leads <@U9>", "settings leads <@U9> <@U2>"), start=2):
        await slack.command("/raid", text, user="U9")
        await slack.last("chat.postMessage", n)
    assert leads(slack) == ("U9", "U2")
    assert len([c for c in fake.calls_to("users.info") if c.body.get("user") == "U9"]) == 1
