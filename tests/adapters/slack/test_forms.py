"""Commands with no text open modals; field errors come back on the field; valid forms save."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.domain.model import Status
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, body_json


async def open_form(slack: Harness, command: str) -> dict[str, Any]:
    status, body, _ = await slack.command(command)
    assert (status, body) == (200, "")
    opened = await slack.last("views.open")
    assert opened.body["trigger_id"] == "trig-1"
    return dict(opened.body["view"])


def elements(view: dict[str, Any]) -> dict[str, str]:
    return {b["block_id"]: b["element"]["type"] for b in view["blocks"]}


async def submit(
    slack: Harness, view: dict[str, Any], values: dict[str, Any], **kw: Any
) -> tuple[int, dict[str, Any]]:
    status, text = await slack.interact(wire.view_submission(view, values, **kw))
    return status, body_json(text)


async def test_blocker_form_fields_and_metadata(slack: Harness) -> None:
    view = await open_form(slack, "/blocker")
    assert view["type"] == "modal" and view["callback_id"] == "new:blocker"
    assert view["title"]["text"] == "Log a blocker"
    assert elements(view) == {
        "title": "plain_text_input",
        "owner": "users_select",
        "due": "plain_text_input",
        "waiting_on": "plain_text_input",
        "details": "plain_text_input",
    }
    due = next(b for b in view["blocks"] if b["block_id"] == "due")
    assert "friday" in due["element"]["placeholder"]["text"]
    assert json.loads(view["private_metadata"])["c"] == "C1"


async def test_blocker_form_error_on_the_field_saves_nothing(slack: Harness) -> None:
    view = await open_form(slack, "/blocker")
    status, body = await submit(slack, view, {"title": "Creds", "due": "next sprint"})
    assert status == 200
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["due"]
    assert "next sprint" in body["errors"]["due"]
    assert slack.items() == []
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_blocker_form_valid_is_saved_and_posted(slack: Harness) -> None:
    view = await open_form(slack, "/blocker")
    status, body = await submit(slack, view, {"title": "Creds", "owner": "U2", "due": "friday"})
    assert (status, body) == (200, {})
    post = await slack.last("chat.postMessage")
    assert post.body["channel"] == "C1"
    assert "*B-1*  Creds" in blocks_text(post.body["blocks"])
    assert slack.item("B-1").owner == "U2"


async def test_risk_form_selects_and_date_error(slack: Harness) -> None:
    view = await open_form(slack, "/risk")
    kinds = elements(view)
    assert kinds["likelihood"] == kinds["impact"] == kinds["response"] == "static_select"
    assert kinds["owner"] == "users_select"
    likelihood = next(b for b in view["blocks"] if b["block_id"] == "likelihood")
    assert likelihood["element"]["initial_option"]["value"] == "3"
    _, body = await submit(slack, view, {"title": "Vendor slip", "review": "12/05"})
    assert body["response_action"] == "errors" and "review" in body["errors"]
    assert slack.items() == []
    _, body = await submit(
        slack, view, {"title": "Vendor slip", "likelihood": "5", "response": "mitigate"}
    )
    assert body == {}
    await slack.wait("chat.postMessage")
    risk = slack.item("R-1")
    assert (risk.likelihood, risk.impact, risk.response) == (5, 3, "mitigate")


async def test_decision_form_error_then_decided(slack: Harness) -> None:
    view = await open_form(slack, "/decision")
    assert elements(view)["decider"] == "users_select"
    _, body = await submit(slack, view, {"title": "Pick SSO", "by": "next sprint"})
    assert list(body["errors"]) == ["by"]
    _, body = await submit(slack, view, {"title": "Use Okta", "state": "decided", "decider": "U4"})
    assert body == {}
    await slack.wait("chat.postMessage")
    # U1 submitted it: naming U4 as having decided makes it U4's decision to take
    d1 = slack.item("D-1")
    assert (d1.status, d1.owner, d1.decided_by, d1.reporter) == (
        Status.PENDING, "U4", None, "U1"
    )  # fmt: skip


async def test_change_form_multi_user_approvers_and_impact_error(slack: Harness) -> None:
    view = await open_form(slack, "/change")
    assert elements(view)["approvers"] == "multi_users_select"
    _, body = await submit(slack, view, {"title": "Add CRM", "impact": "lots"})
    assert list(body["errors"]) == ["impact"]
    _, body = await submit(
        slack, view, {"title": "Add CRM", "impact": "cost +8k", "approvers": ["U5", "U6"]}
    )
    assert body == {}
    await slack.wait("chat.postMessage")
    assert slack.item("C-1").approvers == ("U5", "U6")


@pytest.mark.parametrize(
    ("action", "values", "field"),
    [
        ("assign:B-1", {}, "owner"),
        ("due:B-1", {"due": "next sprint"}, "due"),
    ],
)
async def test_button_forms_with_errors(
    slack: Harness, action: str, values: dict[str, Any], field: str
) -> None:
    await slack.command("/blocker", "Waiting on creds")
    post = await slack.last("chat.postMessage")
    block_id, button = wire.find_button(post.body["blocks"], action)
    await slack.interact(
        wire.block_actions(
            button,
            block_id,
            message_blocks=post.body["blocks"],
            message_ts=post.body.get("ts", "1"),
        )
    )
    view = (await slack.last("views.open")).body["view"]
    assert view["callback_id"] == action
    _, body = await submit(slack, view, values)
    assert body["response_action"] == "errors" and list(body["errors"]) == [field]
    assert slack.item("B-1").owner is None and slack.item("B-1").due_at is None


async def test_decide_and_reject_forms_with_errors(slack: Harness) -> None:
    await slack.command("/decision", "needed Pick the SSO vendor")
    post = await slack.last("chat.postMessage")
    for action, field in (("decide:D-1", "outcome"), ("reject:D-1", "reason")):
        block_id, button = wire.find_button(post.body["blocks"], action)
        count = len(slack.fake.calls_to("views.open"))
        await slack.interact(
            wire.block_actions(button, block_id, message_blocks=post.body["blocks"])
        )
        view = (await slack.last("views.open", count + 1)).body["view"]
        _, body = await submit(slack, view, {})
        assert body["response_action"] == "errors" and list(body["errors"]) == [field]
    assert slack.item("D-1").status is Status.PENDING


async def test_slow_submission_is_acked_in_time_and_answered_after(
    slack: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("adapters.slack.listeners.SUBMIT_BUDGET", 0.2)
    view = await open_form(slack, "/blocker")
    slack.fake.timezones["U8"] = "Europe/Berlin"
    slack.fake.delays["users.info"] = 0.6  # U8's time zone is not cached yet
    started = time.monotonic()
    status, body = await submit(slack, view, {"title": "Slow save"}, user="U8")
    assert time.monotonic() - started < 0.5
    assert status == 200 and body["response_action"] == "update"
    assert "Still working on it" in blocks_text(body["view"]["blocks"])
    post = await slack.last("chat.postMessage")
    assert "*B-1*  Slow save" in blocks_text(post.body["blocks"])


async def test_milestone_form_plans_it_and_refuses_an_unsafe_link(slack: Harness) -> None:
    view = await open_form(slack, "/milestone")
    assert view["callback_id"] == "new:milestone"
    assert view["title"]["text"] == "Plan a milestone"
    assert elements(view) == {
        "title": "plain_text_input",
        "due": "plain_text_input",
        "owner": "users_select",
        "links": "plain_text_input",
        "details": "plain_text_input",
    }
    status, body = await submit(slack, view, {"title": "Go live", "links": "javascript:alert(1)"})
    assert body["response_action"] == "errors" and list(body["errors"]) == ["links"]
    assert slack.items() == []
    status, body = await submit(
        slack, view, {"title": "Go live", "due": "friday", "owner": "U2", "links": "OPS-7"}
    )
    assert (status, body) == (200, {})
    post = await slack.last("chat.postMessage")
    assert "*M-1*  Go live" in blocks_text(post.body["blocks"])
    milestone = slack.item("M-1")
    assert (milestone.owner, milestone.links) == ("U2", ("OPS-7",))
