"""Close-out through the real slack-bolt: the checklist posted in the channel with a Defer
button whose modal defers the item, the App Home's "Blocking a close-out", the final report
uploaded as a file, and the closed channel refusing new items."""

from __future__ import annotations

from bot.domain.model import Status
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, body_json
from tests.adapters.slack.test_home_and_shortcuts import home_of


async def test_close_out_in_slack_from_checklist_to_closed_channel(slack: Harness) -> None:
    await slack.command("/blocker", "Waiting on creds <@U2>")
    await slack.wait("chat.postMessage")
    await slack.command("/raid", "close-out")
    checklist = (await slack.last("chat.postMessage", 2)).body
    assert "1 item still block closing (1 open blocker)" in checklist["text"]

    home = blocks_text((await home_of(slack, "U2"))["blocks"])
    assert "Blocking a close-out (1)" in home and "B-1 Waiting on creds (in <#C1>)" in home

    block_id, button = wire.find_button(checklist["blocks"], "defer:B-1")
    await slack.interact(
        wire.block_actions(button, block_id, message_blocks=checklist["blocks"], message_ts="1")
    )
    modal = (await slack.last("views.open")).body["view"]
    assert modal["callback_id"] == "defer:B-1"
    status, text = await slack.interact(wire.view_submission(modal, {"until": "", "reason": ""}))
    assert status == 200 and set(body_json(text)["errors"]) == {"until", "reason"}
    status, text = await slack.interact(
        wire.view_submission(modal, {"until": "1 Mar", "reason": "vendor moved to Q1"})
    )
    assert status == 200
    assert slack.item("B-1").status is Status.DEFERRED
    assert slack.item("B-1").deferred_reason == "vendor moved to Q1"

    await slack.command("/raid", "lesson Ask for creds in week one")
    await slack.command("/raid", "close-out finish")
    upload = await slack.last("files.completeUploadExternal")
    assert upload.body["channel_id"] == "C1"
    sent = next(c for c in slack.fake.calls if c.method.startswith("upload:"))
    assert b"# Final report of #C1" in sent.raw and b"Ask for creds in week one" in sent.raw

    before = len(slack.fake.calls_to("chat.postMessage"))
    _, _, reply_to = await slack.command("/blocker", "Another one")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "This project is closed" in answer.body["text"]
    assert len(slack.fake.calls_to("chat.postMessage")) == before
