"""Slack payloads -> core requests, without Bolt or a network; and the one edge guard."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.slack import blocks as kit
from adapters.slack import inbound
from adapters.slack.app import guard
from adapters.slack.inbound import Origin, Where
from bot import errors
from bot.domain.model import ChannelKey
from bot.messages import Reply, Request, Tone


def test_the_workspace_is_the_team_or_else_the_enterprise() -> None:
    assert inbound.workspace_of({"team_id": "T1", "enterprise_id": "E1"}) == "T1"
    assert inbound.workspace_of({"team_id": None, "enterprise_id": "E1"}) == "E1"
    assert inbound.workspace_of({}) is None


def test_a_slash_command_becomes_a_request_with_unescaped_text() -> None:
    body = {
        "command": "/blocker",
        "text": "API &lt;down&gt; &amp; out",
        "channel_id": "C1",
        "user_id": "U1",
        "response_url": "https://hooks/r",
    }
    where = inbound.command_where(body, "T1")
    assert where == Where("T1", "C1", "U1", "https://hooks/r")
    assert inbound.command_request(body, where, "Europe/Berlin") == Request(
        ChannelKey("slack", "T1", "C1"),
        "U1",
        command="blocker",
        text="API <down> & out",
        user_timezone="Europe/Berlin",
    )


def test_a_message_shortcut_opens_its_kinds_form_in_the_messages_thread() -> None:
    body = {
        "callback_id": "log_risk",
        "channel": {"id": "C1"},
        "user": {"id": "U1"},
        "trigger_id": "tr",
        "message": {"ts": "2.0", "thread_ts": "1.0", "text": "vendor may slip"},
    }
    shortcut = inbound.shortcut_from(body, "T1")
    assert shortcut is not None
    assert shortcut.request == Request(ChannelKey("slack", "T1", "C1"), "U1", command="risk")
    assert shortcut.message_ts == "2.0" and shortcut.message_text == "vendor may slip"
    origin = shortcut.origin("https://permalink")
    assert (origin.kind, origin.ts, origin.source_url) == ("shortcut", "1.0", "https://permalink")
    assert inbound.shortcut_from({**body, "channel": {}}, "T1") is None
    assert inbound.shortcut_from(body, None) is None


def _click_body(value: str, **extra: Any) -> dict[str, Any]:
    return {
        "user": {"id": "U1"},
        "actions": [{"action_id": "resolve:B-1", "value": value, "text": {"text": "Resolve"}}],
        "container": {"type": "message", "channel_id": "D9", "message_ts": "5.0"},
        "channel": {"id": "D9"},
        "message": {"ts": "5.0", "blocks": [{"type": "section", "block_id": "head"}]},
        "trigger_id": "tr",
        **extra,
    }


def test_a_click_on_a_message_answers_where_it_was_clicked() -> None:
    click = inbound.click_from(_click_body("resolve:B-1"), "T1")
    assert click is not None and click.refusal is None and not click.names_channel
    assert click.where == Where("T1", "D9", "U1", None, message_channel="D9")
    assert (click.message_ts, click.home, click.label) == ("5.0", False, "Resolve")
    assert inbound.click_request(click.where, click.value.action_id, None) == Request(
        ChannelKey("slack", "T1", "D9"), "U1", action_id="resolve:B-1"
    )


def test_a_dm_button_names_its_channel_and_only_inside_the_clickers_workspace() -> None:
    value = kit.encode_button_value(kit.ButtonValue("resolve:B-1", workspace="T1", channel="C1"))
    click = inbound.click_from(_click_body(value), "T1")
    assert click is not None and click.refusal is None
    assert click.where.key == ChannelKey("slack", "T1", "C1") and click.where.conversation == "D9"
    assert click.where.away == ChannelKey("slack", "T1", "C1")

    foreign = inbound.click_from(_click_body(value), "T2")
    assert foreign is not None and foreign.channel is None and foreign.names_channel
    assert foreign.refusal == "That button belongs to another Slack workspace; nothing was changed."


def test_a_click_without_action_team_or_user_is_ignored() -> None:
    assert inbound.click_from(_click_body("x", actions=[]), "T1") is None
    assert inbound.click_from(_click_body("x"), None) is None
    assert inbound.click_from(_click_body("x", user={}), "T1") is None


def test_a_submission_takes_its_channel_from_the_modals_origin_never_its_workspace() -> None:
    origin = Origin("shortcut", "C1", ts="1.0", response_url="https://hooks/r", source_url="u")
    view = {
        "id": "V1",
        "callback_id": "log:blocker",
        "private_metadata": origin.encode(),
        "state": {"values": {"title": {"title": {"type": "plain_text_input", "value": "x"}}}},
    }
    submission = inbound.submission_from({"user": {"id": "U1"}, "view": view}, "T1")
    assert submission is not None
    assert submission.where == Where("T1", "C1", "U1", "https://hooks/r", thread_ts="1.0")
    assert submission.request("UTC") == Request(
        ChannelKey("slack", "T1", "C1"),
        "U1",
        action_id="log:blocker",
        values={"title": "x"},
        user_timezone="UTC",
        source_url="u",
    )
    unknown = {"user": {"id": "U1"}, "view": {**view, "private_metadata": "not ours"}}
    assert inbound.submission_from(unknown, "T1") is None


def test_app_home_opened_names_its_user_only_on_the_home_tab() -> None:
    assert inbound.home_opener({"user": "U1", "tab": "home"}) == "U1"
    assert inbound.home_opener({"user": "U1"}) == "U1"
    assert inbound.home_opener({"user": "U1", "tab": "messages"}) is None
    assert inbound.home_opener({"tab": "home"}) is None


async def test_the_guard_logs_an_incident_and_tells_the_one_apology(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[Reply] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def tell(reply: Reply) -> None:
        told.append(reply)

    with caplog.at_level(logging.ERROR, "raidline.slack"):
        await guard(fail, tell, what="in a test", user="U1")
        await guard(fail, None, what="with no one to tell")
    [reply] = told
    assert reply.tone is Tone.ERROR and reply.incident_id is not None
    assert reply.text == errors.apology(reply.incident_id)
    incidents = [getattr(r, "incident_id", None) for r in caplog.records]
    assert incidents[0] == reply.incident_id and incidents[1] is not None
