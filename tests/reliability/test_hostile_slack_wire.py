"""On the wire, Slack: special mentions in user text never leave raidline as special mentions.

``test_hostile_input.py`` checks the renderers' output; this checks what reaches Slack through
the real Bolt app and adapter against the stand-in: ``@channel`` typed into a command (Slack
sends it as ``<!channel>``), the same markup typed literally (sent escaped, ``&lt;!channel&gt;``)
and special mentions typed into a modal (sent raw) are posted as visible, inert text.
"""

from __future__ import annotations

import re
from typing import Any

from tests.adapters.slack import conftest as slack_fixtures
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text
from tests.reliability.test_hostile_input import check_blocks, check_mrkdwn

# The Slack adapter tests' fixtures: the stand-in, the clock, the adapter served on a port.
fake = slack_fixtures.fake
clock = slack_fixtures.clock
make_slack = slack_fixtures.make_slack
slack = slack_fixtures.slack

# --- Slack -------------------------------------------------------------------------------------

#: What reaches raidline when someone types ``@channel``, ``@here``, a user group, and the same
#: markup literally (Slack escapes what people type; ``should_escape`` is on in the manifest).
SLACK_TYPED = (
    "<!channel> <!here|here> <!subteam^S1|@oncall> &lt;!everyone&gt; &lt;!here&gt; "
    '"}]},{"type":"section","text":{"type":"mrkdwn","text":"x"}} ```'
)


def _special(text: str) -> list[str]:
    return re.findall(r"<![^>]*>", text)


def _check_slack_post(body: dict[str, Any]) -> None:
    assert not _special(body.get("text", "")), body.get("text")
    check_mrkdwn(body.get("text", ""), "text")
    check_blocks(body["blocks"], 50, "chat.postMessage")
    assert not _special(blocks_text(body["blocks"])), blocks_text(body["blocks"])


async def test_slack_special_mentions_typed_into_a_command_are_posted_inert(
    slack: Harness,
) -> None:
    status, ack, _ = await slack.command("/blocker", SLACK_TYPED + " due friday")
    assert (status, ack) == (200, "")
    post = await slack.last("chat.postMessage")
    _check_slack_post(post.body)
    shown = blocks_text(post.body["blocks"])
    assert "&lt;!channel&gt; &lt;!here|here&gt; &lt;!subteam^S1|@oncall&gt;" in shown
    # What was typed is what is stored; only the rendering escapes it.
    assert slack.item("B-1").title.startswith("<!channel> <!here|here>")


async def test_slack_special_mentions_typed_into_a_modal_are_posted_inert(
    slack: Harness,
) -> None:
    status, _, _ = await slack.command("/blocker")
    assert status == 200
    view = dict((await slack.last("views.open")).body["view"])
    values = {
        "title": "<!channel> please look <!here>",
        # where the person would be, ``<!everyone>`` is refused (it is nobody); after it, words
        "waiting_on": "the vendor, not <!everyone> & <@U2>",
        "details": "```\n<!subteam^S1>\n```",
    }
    status, _ = await slack.interact(wire.view_submission(view, values))
    assert status == 200
    post = await slack.last("chat.postMessage")
    _check_slack_post(post.body)
    shown = blocks_text(post.body["blocks"])
    assert "&lt;!channel&gt; please look &lt;!here&gt;" in shown
    assert "the vendor, not &lt;!everyone&gt; &amp; <@U2>" in shown


#: A masked link typed literally (Slack escapes it), one Slack sends as markup (a formatted
#: link pasted into the command), and what Slack makes of a typed address.
SLACK_LINKS = (
    "&lt;https://evil.example|Approve here&gt; <https://evil.example|Approve too> "
    "<http://example.com|example.com>"
)


async def test_slack_masked_links_typed_into_a_command_are_posted_as_typed(
    slack: Harness,
) -> None:
    status, ack, _ = await slack.command("/blocker", "Read " + SLACK_LINKS + " due friday")
    assert (status, ack) == (200, "")
    post = await slack.last("chat.postMessage")
    _check_slack_post(post.body)
    shown = blocks_text(post.body["blocks"]) + post.body["text"]
    assert "|Approve" not in re.sub(r"&lt;[^<>]*&gt;", "", shown)  # no live masked link
    assert "&lt;https://evil.example|Approve here&gt;" in shown
    assert "&lt;https://evil.example|Approve too&gt;" in shown
    assert "<http://example.com>" in shown  # what Slack made of a typed address stays a link
