"""Signatures, and workspaces that can never reach each other's items (forged payloads)."""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.domain.model import Status
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, body_json

BODY = wire.slash("/blocker", "Forged blocker", response_url="http://127.0.0.1:9/x")


async def assert_rejected(slack: Harness, body: bytes, headers: dict[str, str]) -> None:
    status, text = await slack.post(body, wire.FORM, headers=headers)
    assert status == 401
    assert json.loads(text) == {"error": "invalid request"}


async def test_missing_signature_is_401_and_reaches_no_handler(slack: Harness) -> None:
    await assert_rejected(slack, BODY, {})
    await assert_rejected(slack, BODY, {"X-Slack-Request-Timestamp": str(int(time.time()))})
    assert slack.fake.methods() == ["auth.test"]  # start-up's, and nothing since
    assert slack.items() == []


async def test_bad_signature_is_401(slack: Harness) -> None:
    await assert_rejected(slack, BODY, wire.sign(BODY, secret="not-the-secret"))
    assert slack.items() == []


async def test_stale_signature_is_401(slack: Harness) -> None:
    await assert_rejected(slack, BODY, wire.sign(BODY, ts=int(time.time()) - 301))
    assert slack.items() == []


async def test_tampered_body_is_401(slack: Harness) -> None:
    signed = wire.sign(BODY)
    tampered = BODY.replace(b"Forged+blocker", b"Tampered+blocker")
    assert tampered != BODY
    await assert_rejected(slack, tampered, signed)
    assert slack.items() == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(wire.sign(BODY, secret="not-the-secret"), id="bad signature"),
        pytest.param(wire.sign(BODY, ts=int(time.time()) - 301), id="stale signature"),
        pytest.param({"X-Slack-Request-Timestamp": str(int(time.time()))}, id="no signature"),
    ],
)
async def test_a_refused_request_is_logged_without_its_body(
    slack: Harness, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG)
    await assert_rejected(slack, BODY, headers)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused a Slack request with a bad or stale signature" in logged
    assert f"{len(BODY)} bytes" in logged
    for part in (b"Forged", b"legacy-verification-token", b"response_url", b"trigger_id"):
        assert part.decode() not in logged


async def test_signed_request_passes(slack: Harness) -> None:
    status, _ = await slack.post(BODY, wire.FORM)
    assert status == 200
    await slack.wait("chat.postMessage")


async def logged_in_t1(slack: Harness) -> dict[str, object]:
    await slack.command("/blocker", "Team one's secret blocker <@U2>")
    return dict((await slack.last("chat.postMessage")).body)


async def test_ref_from_another_workspace_finds_nothing(slack: Harness) -> None:
    await logged_in_t1(slack)
    _, _, reply_to = await slack.command("/raid", "resolve B-1", team="T2", user="U2")
    assert "There is no B-1 in this channel" in (await slack.last(reply_to)).body["text"]
    _, _, reply_to = await slack.command("/raid", "show B-1", team="T2", user="U2")
    answer = (await slack.last(reply_to)).body
    assert "secret" not in json.dumps(answer)
    assert slack.item("B-1").status is Status.OPEN


async def test_forged_button_from_another_workspace_changes_nothing(slack: Harness) -> None:
    post = await logged_in_t1(slack)
    block_id, button = wire.find_button(post["blocks"], "resolve:B-1")  # type: ignore[arg-type]
    url, name = slack.new_response_url()
    await slack.interact(
        wire.block_actions(button, block_id, team="T2", user="U2", response_url=url)
    )
    assert "There is no B-1" in (await slack.last(name)).body["text"]
    assert slack.fake.calls_to("chat.update") == []
    assert slack.item("B-1").status is Status.OPEN


async def test_forged_button_value_naming_another_workspace_is_refused(slack: Harness) -> None:
    await logged_in_t1(slack)
    forged = {
        "action_id": "resolve:B-1",
        "text": {"type": "plain_text", "text": "Resolve"},
        "value": json.dumps({"a": "resolve:B-1", "w": "T1", "c": "C1"}),
    }
    url, name = slack.new_response_url()
    await slack.interact(
        wire.block_actions(
            forged, "card|0|B-1|acts", team="T2", channel="C9", user="U2", response_url=url
        )
    )
    assert "belongs to another Slack workspace" in (await slack.last(name)).body["text"]
    assert slack.item("B-1").status is Status.OPEN


async def test_forged_home_button_is_refused(slack: Harness) -> None:
    await logged_in_t1(slack)
    forged = {
        "action_id": "resolve:B-1",
        "text": {"type": "plain_text", "text": "Resolve"},
        "value": json.dumps({"a": "resolve:B-1", "w": "T1", "c": "C1"}),
    }
    await slack.interact(
        wire.home_action(forged, "card|0|B-1|acts", {"id": "V1"}, team="T2", user="U2")
    )
    notice = (await slack.last("views.open")).body["view"]
    assert "another Slack workspace" in blocks_text(notice["blocks"])
    # Naming the clicker's own workspace with the other team's channel finds nothing there.
    forged["value"] = json.dumps({"a": "resolve:B-1", "w": "T2", "c": "C1"})
    await slack.interact(
        wire.home_action(forged, "card|0|B-1|acts", {"id": "V1"}, team="T2", user="U2")
    )
    notice = (await slack.last("views.open", 2)).body["view"]
    assert "There is no B-1" in blocks_text(notice["blocks"])
    assert slack.item("B-1").status is Status.OPEN


async def test_forged_form_from_another_workspace_changes_nothing(slack: Harness) -> None:
    await logged_in_t1(slack)
    view = {
        "id": "VFORGED",
        "type": "modal",
        "callback_id": "assign:B-1",
        "private_metadata": json.dumps({"k": "msg", "c": "C1", "t": "1.2"}),
        "blocks": [
            {
                "type": "input",
                "block_id": "owner",
                "element": {"type": "users_select", "action_id": "owner"},
            }
        ],
    }
    status, text = await slack.interact(
        wire.view_submission(view, {"owner": "U666"}, team="T2", user="U2")
    )
    answer = body_json(text)
    assert status == 200 and answer["response_action"] == "update"
    assert "There is no B-1" in blocks_text(answer["view"]["blocks"])
    assert slack.item("B-1").owner == "U2"


async def test_home_of_another_workspace_shows_nothing_of_this_one(slack: Harness) -> None:
    await logged_in_t1(slack)
    await slack.event(wire.home_opened("U2", team="T2"))
    view = (await slack.last("views.publish")).body["view"]
    assert "secret" not in json.dumps(view)
    assert "Nothing waits on <@U2>" in blocks_text(view["blocks"])
