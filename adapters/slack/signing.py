"""Slash commands signed as Slack signs them, for ``raidline sign-request``.

Slack signs each HTTP request with the app's signing secret: ``X-Slack-Signature`` is ``v0=``
and the hex HMAC-SHA256 of ``v0:<timestamp>:<body>``, and ``X-Slack-Request-Timestamp`` the
timestamp (raidline refuses one more than five minutes away). ``raidline sign-request`` builds
such a request for a slash command and prints it as a curl command, so that raidline's HTTP
mode can be tried from a terminal, without Slack calling in from the internet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import shlex
from collections.abc import Mapping
from urllib.parse import urlencode

#: Where the HTTP mode takes Slack's requests (on RAIDLINE_HTTP_PORT).
EVENTS_PATH = "/slack/events"
FORM = "application/x-www-form-urlencoded"
#: The ids ``raidline sign-request`` uses unless told others: a workspace, channel and person
#: no real workspace has.
LOCAL_TEAM = "T0LOCAL"
LOCAL_CHANNEL = "C0LOCAL"
LOCAL_USER = "U0LOCAL"


def signature_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers Slack sends with ``body``, signed with ``secret`` at ``timestamp``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(
    command: str,
    text: str = "",
    *,
    team: str = LOCAL_TEAM,
    channel: str = LOCAL_CHANNEL,
    user: str = LOCAL_USER,
    response_url: str = "",
    trigger_id: str | None = None,
) -> bytes:
    """A slash command's form body, with the fields Slack sends."""
    fields = {
        "token": "unused",  # Slack's legacy verification token; the signature replaces it
        "team_id": team,
        "team_domain": "local",
        "channel_id": channel,
        "channel_name": "local",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0LOCAL",
        "is_enterprise_install": "false",
        "response_url": response_url,
        # a fresh one each time: two identical requests in one second would be one replay
        "trigger_id": trigger_id or f"local.{secrets.token_hex(8)}",
    }
    return urlencode(fields).encode()


def curl_command(url: str, body: bytes, headers: Mapping[str, str]) -> str:
    """One shell line that sends ``body`` with ``headers`` to ``url``."""
    parts = ["curl", "-sS", "-i", "-X", "POST", url, "-H", f"Content-Type: {FORM}"]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", body.decode()]
    return shlex.join(parts)
