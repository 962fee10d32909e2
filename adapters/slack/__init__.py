"""Slack: slash commands, buttons, modals, message shortcuts and App Home on slack-bolt.

``app`` (Bolt, OAuth, routes, Socket Mode, the edge error handler), ``inbound`` (payloads ->
requests), ``listeners``, ``outbound`` (replies -> Web API calls), ``blocks`` (Block Kit).
"""

from adapters.slack.adapter import SlackAdapter
from adapters.slack.app import BOT_SCOPES, SlackStartError
from adapters.slack.inbound import COMMANDS, SHORTCUTS

__all__ = [
    "BOT_SCOPES",
    "COMMANDS",
    "SHORTCUTS",
    "SlackAdapter",
    "SlackStartError",
]
