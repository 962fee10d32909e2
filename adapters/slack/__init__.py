"""Slack: slash commands, buttons, modals, message shortcuts and App Home on slack-bolt.

``app`` (Bolt, OAuth, routes, Socket Mode, the edge error handler), ``inbound`` (payloads ->
requests), ``listeners``, ``outbound`` (replies -> Web API calls), ``blocks`` (Block Kit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.slack.adapter import SlackAdapter
    from adapters.slack.app import BOT_SCOPES, SlackStartError
    from adapters.slack.inbound import COMMANDS, SHORTCUTS


def __getattr__(name: str) -> Any:
    """The face's names, imported when first asked for: ``adapters.slack.signing`` (the
    command line's ``sign-request``) must not load slack-bolt into a console that never
    talks to Slack (memory and start-up time)."""
    if name == "SlackAdapter":
        from adapters.slack.adapter import SlackAdapter

        return SlackAdapter
    if name in ("BOT_SCOPES", "SlackStartError"):
        from adapters.slack import app

        return getattr(app, name)
    if name in ("COMMANDS", "SHORTCUTS"):
        from adapters.slack import inbound

        return getattr(inbound, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BOT_SCOPES",
    "COMMANDS",
    "SHORTCUTS",
    "SlackAdapter",
    "SlackStartError",
]
