"""slack-manifest.yml (Socket Mode) and slack-manifest-http.yml (HTTP) declare exactly what the
adapter serves, and differ only in how Slack reaches raidline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.slack import BOT_SCOPES, COMMANDS, SHORTCUTS
from bot.commands.registry import COMMANDS as CORE_COMMANDS

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "slack-manifest.yml"
HTTP_MANIFEST = ROOT / "slack-manifest-http.yml"
#: Where the HTTP manifest sends Slack: a placeholder the README says to replace.
PUBLIC = "https://raidline.example.com"


def _scalar(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1]:
        return text[1:-1]
    return {"true": True, "false": False}.get(text, text)


def parse_yaml(text: str) -> Any:
    """Block-style YAML as the manifest uses it: maps, lists, scalars, comments."""
    lines = [
        (len(raw) - len(raw.lstrip(" ")), raw.strip())
        for raw in text.splitlines()
        if raw.strip() and not raw.strip().startswith("#")
    ]

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items: list[Any] = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                rest = lines[i][1][2:]
                if (": " in rest or rest.endswith(":")) and not rest.startswith(("'", '"')):
                    # a map whose first key sits on the dash line
                    lines[i] = (indent + 2, rest)
                    value, i = block(i, indent + 2)
                    items.append(value)
                else:
                    items.append(_scalar(rest))
                    i += 1
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            key, _, rest = lines[i][1].partition(": ")
            key = key.removesuffix(":")
            i += 1
            if rest.strip():
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            elif i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                mapping[key], i = block(i, indent)
            else:
                mapping[key] = None
        return mapping, i

    return block(0, 0)[0]


@pytest.mark.parametrize("path", [MANIFEST, HTTP_MANIFEST], ids=lambda p: p.name)
def test_manifest_matches_the_adapter(path: Path) -> None:
    manifest = parse_yaml(path.read_text())
    features = manifest["features"]
    commands = {c["command"]: c for c in features["slash_commands"]}
    assert list(commands) == [f"/{name}" for name in COMMANDS]
    assert set(COMMANDS) <= set(CORE_COMMANDS) | {"standup", "digest"}
    for command in commands.values():
        # Mentions must arrive as <@U123>, channels as <#C123>.
        assert command["should_escape"] is True
        assert len(command["description"]) <= 100
    shortcuts = {s["callback_id"]: s for s in features["shortcuts"]}
    assert set(shortcuts) == set(SHORTCUTS)
    assert all(s["type"] == "message" and len(s["name"]) <= 24 for s in shortcuts.values())
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    settings = manifest["settings"]
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert settings["interactivity"]["is_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] is True


def test_the_socket_mode_manifest_needs_no_address() -> None:
    manifest = parse_yaml(MANIFEST.read_text())
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "https://" not in "".join(
        line for line in MANIFEST.read_text().splitlines() if not line.startswith("#")
    )


def test_the_http_manifest_sends_everything_to_the_events_url() -> None:
    manifest = parse_yaml(HTTP_MANIFEST.read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    events = f"{PUBLIC}/slack/events"
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {events}
    assert settings["event_subscriptions"]["request_url"] == events
    assert settings["interactivity"]["request_url"] == events
    assert manifest["oauth_config"]["redirect_urls"] == [f"{PUBLIC}/slack/oauth_redirect"]


def test_the_two_manifests_differ_only_in_how_slack_reaches_raidline() -> None:
    def what(path: Path) -> dict[str, Any]:
        manifest = parse_yaml(path.read_text())
        for command in manifest["features"]["slash_commands"]:
            command.pop("url", None)
        manifest["oauth_config"].pop("redirect_urls", None)
        for part in ("event_subscriptions", "interactivity"):
            manifest["settings"][part].pop("request_url", None)
        manifest["settings"].pop("socket_mode_enabled")
        return dict(manifest)

    assert what(MANIFEST) == what(HTTP_MANIFEST)
