"""Slack's wire format: signing, and payloads shaped like Slack's own.

Slash commands are form-encoded fields; interactivity is one form field ``payload=<json>``;
Events API requests are JSON. Every request is signed like Slack signs it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from adapters.slack.signing import signature_headers

SECRET = "test-signing-secret"


def sign(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    return signature_headers(body, secret, int(time.time()) if ts is None else ts)


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def slash(
    command: str,
    text: str = "",
    *,
    team: str = "T1",
    channel: str = "C1",
    user: str = "U1",
    response_url: str = "",
    trigger_id: str = "trig-1",
    channel_name: str = "project",
) -> bytes:
    fields = {
        "token": "legacy-verification-token",
        "team_id": team,
        "team_domain": "test",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def interactive(payload: Mapping[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _team(team: str) -> dict[str, str]:
    return {"id": team, "domain": "test"}


def _user(user: str, team: str) -> dict[str, str]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}


def find_button(blocks: Sequence[Mapping[str, Any]], action_id: str) -> tuple[str, dict[str, Any]]:
    """The (block_id, button) of the first button with this action id."""
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", ()):
            if element.get("action_id") == action_id:
                return str(block["block_id"]), dict(element)
    raise AssertionError(f"no button {action_id} in {json.dumps(blocks)[:500]}")


def block_actions(
    button: Mapping[str, Any],
    block_id: str,
    *,
    team: str = "T1",
    channel: str = "C1",
    user: str = "U1",
    message_blocks: Sequence[Mapping[str, Any]] | None = None,
    message_ts: str = "1700000000.000100",
    ephemeral: bool = False,
    response_url: str = "",
    trigger_id: str = "trig-2",
) -> dict[str, Any]:
    """A click on a message button, as Slack sends it."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": "project"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "block_id": block_id,
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button.get("value"),
                "style": button.get("style"),
                "action_ts": str(time.time()),
            }
        ],
        "state": {"values": {}},
    }
    if not ephemeral:
        payload["message"] = {
            "type": "message",
            "user": "UBOTT1",
            "ts": message_ts,
            "bot_id": "BBOTT1",
            "text": "raidline",
            "blocks": list(message_blocks or []),
        }
    return payload


def home_action(
    button: Mapping[str, Any],
    block_id: str,
    view: Mapping[str, Any],
    *,
    team: str = "T1",
    user: str = "U1",
    trigger_id: str = "trig-3",
) -> dict[str, Any]:
    """A click on an App Home button: no channel, no response_url."""
    return {
        "type": "block_actions",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": view.get("id", "VHOME")},
        "trigger_id": trigger_id,
        "view": dict(view),
        "actions": [
            {
                "type": "button",
                "block_id": block_id,
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button.get("value"),
                "action_ts": str(time.time()),
            }
        ],
    }


def _state_value(element: Mapping[str, Any], value: str | list[str] | None) -> dict[str, Any]:
    kind = element["type"]
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(value or [])}
    if kind == "static_select":
        if value is None:
            return {"type": kind, "selected_option": None}
        option = next(o for o in element["options"] if o["value"] == value)
        return {"type": kind, "selected_option": option}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    return {"type": kind, "value": value}


def view_submission(
    view: Mapping[str, Any],
    values: Mapping[str, str | list[str] | None],
    *,
    team: str = "T1",
    user: str = "U1",
) -> dict[str, Any]:
    """Submitting a modal raidline opened (``view`` as it reached views.open)."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", ()):
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        if value is None and element["type"] == "static_select" and "initial_option" in element:
            value = element["initial_option"]["value"]
        if value is None and "initial_value" in element:
            value = element["initial_value"]
        state[block["block_id"]] = {element["action_id"]: _state_value(element, value)}
    submitted = dict(view)
    submitted.setdefault("id", "VSUB1")
    submitted["state"] = {"values": state}
    submitted["team_id"] = team
    return {
        "type": "view_submission",
        "team": _team(team),
        "user": _user(user, team),
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": "trig-4",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def message_shortcut(
    callback_id: str,
    text: str,
    *,
    team: str = "T1",
    channel: str = "C1",
    user: str = "U1",
    message_ts: str = "1699999999.000200",
    thread_ts: str | None = None,
    response_url: str = "",
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "message", "user": "U2", "ts": message_ts, "text": text}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": "trig-5",
        "message_ts": message_ts,
        "response_url": response_url,
        "team": _team(team),
        "channel": {"id": channel, "name": "project"},
        "user": _user(user, team),
        "message": message,
        "token": "legacy-verification-token",
        "action_ts": str(time.time()),
    }


# Slack's event ids are unique per delivery; a timestamp alone is not (two events can share a
# millisecond), and raidline rightly drops a repeated event_id as a retry.
_EVENT_SERIAL = itertools.count(1)


def event_callback(event: Mapping[str, Any], *, team: str = "T1") -> bytes:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": "A1",
            "event": dict(event),
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}x{next(_EVENT_SERIAL)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": f"UBOT{team}", "is_bot": True}],
        }
    ).encode()


def home_opened(user: str = "U1", *, team: str = "T1") -> bytes:
    return event_callback(
        {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"}, team=team
    )
