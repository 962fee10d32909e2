"""Milestones, dependencies and tracker links over signed Slack commands (issue 18)."""

from __future__ import annotations

from bot.domain.model import Kind, Status
from tests.adapters.slack.conftest import Harness, blocks_text


async def test_milestone_joins_and_health_through_slack(slack: Harness) -> None:
    status, body, _ = await slack.command("/milestone", "Design approved due 15 Jan <@U2|dana>")
    assert (status, body) == (200, "")
    post = await slack.last("chat.postMessage")
    assert "Planned M-1: Design approved" in post.body["text"]
    text = blocks_text(post.body["blocks"])
    assert "*M-1*  Design approved" in text
    assert "on track" in text
    milestone = slack.item("M-1")
    assert (milestone.kind, milestone.owner, milestone.status) == (
        Kind.MILESTONE,
        "U2",
        Status.OPEN,
    )

    await slack.command("/blocker", "Style guide late <@U3> for M-1 link JIRA-12")
    post = await slack.last("chat.postMessage", 2)
    assert "Milestone" in blocks_text(post.body["blocks"])
    assert slack.item("B-1").milestone == "M-1"
    assert slack.item("B-1").links == ("JIRA-12",)

    _, _, reply_to = await slack.command("/raid", "show M-1")
    shown = await slack.last(reply_to)
    assert "at risk: blocker B-1 is open" in blocks_text(shown.body["blocks"])


async def test_dependency_and_tracker_links_through_slack(slack: Harness) -> None:
    await slack.command("/blocker", "Test environment down <@U2>")
    await slack.wait("chat.postMessage")
    await slack.command("/blocker", "Load test <@U3>")
    await slack.last("chat.postMessage", 2)
    await slack.command("/raid", "link B-2 depends-on B-1")
    linked = await slack.last("chat.postMessage", 3)
    assert "B-2 depends on B-1 now" in linked.body["text"]
    text = blocks_text(linked.body["blocks"])
    assert "Needed by" in text and "Depends on" in text
    assert slack.item("B-2").depends_on == ("B-1",)

    # Slack sends a typed address wrapped as a link; it is kept as the address itself
    await slack.command("/raid", "settings links JIRA=&lt;https://acme.atlassian.net/browse/{}&gt;")
    await slack.command("/raid", "link B-1 <https://github.com/acme/app/issues/12>")
    await slack.last("chat.postMessage", 4)
    assert slack.item("B-1").links == ("https://github.com/acme/app/issues/12",)

    _, _, refused_to = await slack.command("/raid", "link B-1 <https://evil.example|Approve>")
    refused = await slack.last(refused_to)
    assert refused.body["response_type"] == "ephemeral"
    assert slack.item("B-1").links == ("https://github.com/acme/app/issues/12",)

    await slack.command("/raid", "resolve B-1 back up")
    resolved = await slack.last("chat.postMessage", 5)
    assert "<@U3>: B-2 was waiting for B-1, which is resolved." in resolved.body["text"]
