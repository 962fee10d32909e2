"""App Home (what waits on me, across channels) and the "Log as ..." message shortcuts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.model import Kind, Status
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, body_json


async def home_of(slack: Harness, user: str, count: int = 1) -> dict[str, Any]:
    status, _ = await slack.event(wire.home_opened(user))
    assert status == 200
    publish = await slack.last("views.publish", count)
    assert publish.body["user_id"] == user
    return dict(publish.body["view"])


async def test_app_home_shows_what_waits_on_me_across_channels(slack: Harness) -> None:
    await slack.command("/blocker", "Firewall change <@U2>", channel="C1")
    await slack.command("/decision", "needed Pick SSO <@U2>", channel="C2")
    await slack.command("/change", "Add CRM impact cost +8k <@U2>", channel="C3")
    await slack.command("/blocker", "Someone else's <@U3>", channel="C1")
    await slack.command("/risk", "Vendor slip <@U2> review tomorrow", channel="C2")
    await slack.wait("chat.postMessage", 5)
    view = await home_of(slack, "U2")
    assert view["type"] == "home"
    text = blocks_text(view["blocks"])
    assert "4 items wait on <@U2>" in text
    for heading in (
        "Blockers you own (1)",
        "Decisions you must take (1)",
        "Change requests you must approve (1)",
        "Risks due for review (1)",
    ):
        assert heading in text
    assert "*B-1*  Firewall change" in text and "in <#C1>" in text
    assert "*D-1*  Pick SSO" in text and "in <#C2>" in text
    assert "Someone else's" not in text
    _, resolve = wire.find_button(view["blocks"], "resolve:B-1")
    assert json.loads(resolve["value"]) == {"a": "resolve:B-1", "w": "T1", "c": "C1"}


async def test_app_home_lists_the_stakeholder_updates_i_get(slack: Harness) -> None:
    await slack.command("/raid", "stakeholders add <@U2> weekly decisions", channel="C1")
    await slack.command("/raid", "stakeholders add <@U2> escalations", channel="C2")
    await slack.command("/raid", "stakeholders add <@U3> weekly", channel="C3")
    await slack.wait("chat.postMessage", 3)
    text = blocks_text((await home_of(slack, "U2"))["blocks"])
    assert "Stakeholder updates you get (2)" in text
    assert "<#C1>: weekly, decisions" in text
    assert "<#C2>: escalations" in text
    assert "<#C3>" not in text


async def test_app_home_button_acts_in_the_items_channel(slack: Harness) -> None:
    await slack.command("/blocker", "Firewall change <@U2>", channel="C7")
    await slack.wait("chat.postMessage")
    view = await home_of(slack, "U2")
    view["id"] = "VHOME1"
    block_id, button = wire.find_button(view["blocks"], "resolve:B-1")
    status, body = await slack.interact(wire.home_action(button, block_id, view, user="U2"))
    assert (status, body) == (200, "")
    republished = await slack.last("views.publish", 2)
    assert "Nothing waits on <@U2>" in blocks_text(republished.body["view"]["blocks"])
    told = await slack.last("chat.postMessage", 2)
    assert told.body["channel"] == "C7" and "Resolved B-1" in told.body["text"]
    assert slack.item("B-1", channel="C7").status is Status.RESOLVED


async def test_app_home_assign_opens_a_modal_and_republishes(slack: Harness) -> None:
    await slack.command("/blocker", "Firewall change <@U2>")
    await slack.wait("chat.postMessage")
    view = await home_of(slack, "U2")
    block_id, button = wire.find_button(view["blocks"], "assign:B-1")
    await slack.interact(wire.home_action(button, block_id, view, user="U2"))
    modal = (await slack.last("views.open")).body["view"]
    assert json.loads(modal["private_metadata"])["k"] == "home"
    status, text = await slack.interact(wire.view_submission(modal, {"owner": "U5"}, user="U2"))
    assert (status, body_json(text)) == (200, {})
    await slack.wait("views.publish", 2)
    assert slack.item("B-1").owner == "U5"


async def test_app_home_refusal_opens_a_notice(slack: Harness) -> None:
    await slack.command("/raid", "settings leads <@U1>")
    await slack.command("/blocker", "Firewall change <@U2>")
    await slack.wait("chat.postMessage", 2)
    view = await home_of(slack, "U2")
    block_id, button = wire.find_button(view["blocks"], "resolve:B-1")
    # U2 owns B-1; U4 pretends to click U2's Home (same workspace, not allowed to resolve).
    await slack.interact(wire.home_action(button, block_id, view, user="U4"))
    notice = (await slack.last("views.open")).body
    assert notice["trigger_id"] == "trig-3"
    assert "may resolve" in blocks_text(notice["view"]["blocks"])
    assert slack.item("B-1").status is Status.OPEN


@pytest.mark.parametrize(
    ("callback_id", "form_id"),
    [
        ("log_blocker", "new:blocker"),
        ("log_risk", "new:risk"),
        ("log_decision", "new:decision"),
        ("log_change", "new:change"),
    ],
)
async def test_each_shortcut_opens_its_form_prefilled(
    slack: Harness, callback_id: str, form_id: str
) -> None:
    status, body = await slack.interact(
        wire.message_shortcut(callback_id, "Staging DB is down &amp; nobody owns it")
    )
    assert (status, body) == (200, "")
    view = (await slack.last("views.open")).body["view"]
    assert view["callback_id"] == form_id
    title = next(b for b in view["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Staging DB is down & nobody owns it"


async def test_shortcut_keeps_the_permalink_and_answers_in_the_thread(slack: Harness) -> None:
    await slack.interact(
        wire.message_shortcut(
            "log_blocker",
            "Staging DB is down\nSince 9:00, all deploys fail.",
            message_ts="1699999999.000200",
        )
    )
    view = (await slack.last("views.open")).body["view"]
    details = next(b for b in view["blocks"] if b["block_id"] == "details")
    assert "all deploys fail" in details["element"]["initial_value"]
    permalink = (await slack.last("chat.getPermalink")).body
    assert permalink["message_ts"] == "1699999999.000200"
    status, text = await slack.interact(wire.view_submission(view, {"owner": "U2"}))
    assert (status, body_json(text)) == (200, {})
    post = await slack.last("chat.postMessage")
    assert post.body["thread_ts"] == "1699999999.000200"
    assert "https://test.slack.com/archives/C1/p1699999999000200" in blocks_text(
        post.body["blocks"]
    )
    item = slack.item("B-1")
    assert item.kind is Kind.BLOCKER and item.title == "Staging DB is down"
    assert item.source_url == "https://test.slack.com/archives/C1/p1699999999000200"


async def test_shortcut_in_a_thread_answers_in_that_thread(slack: Harness) -> None:
    await slack.interact(
        wire.message_shortcut(
            "log_risk",
            "Vendor may slip",
            message_ts="1699999999.000300",
            thread_ts="1699999999.000100",
        )
    )
    view = (await slack.last("views.open")).body["view"]
    await slack.interact(wire.view_submission(view, {}))
    post = await slack.last("chat.postMessage")
    assert post.body["thread_ts"] == "1699999999.000100"
    assert slack.item("R-1").title == "Vendor may slip"
