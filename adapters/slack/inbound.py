"""Slack payloads -> the core's :class:`~bot.messages.Request`: pure functions, no network.

The workspace of every request is the verified payload's team id (or the enterprise id of an
org-wide install that carries no team id) and its channel is the payload's channel. Nothing a
button or form carries can name another workspace: buttons on App Home and in direct messages
carry their item's channel and are refused when their workspace is not the clicker's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.runtime.config import SLASH_COMMANDS
from adapters.slack import blocks as kit
from bot.domain.model import ChannelKey
from bot.messages import Request

PLATFORM = "slack"

#: The slash commands of SPEC §3, as declared in slack-manifest.yml (and
#: slack-manifest-http.yml); RAIDLINE_COMMAND_NAMES may give them other names in Slack.
COMMANDS = SLASH_COMMANDS
#: Message shortcuts (callback id -> the logging command whose form they open).
SHORTCUTS = {
    "log_blocker": "blocker",
    "log_risk": "risk",
    "log_decision": "decision",
    "log_change": "change",
}


@dataclass(frozen=True)
class Origin:
    """Where a modal came from, kept in its ``private_metadata`` (Slack returns it unchanged).

    ``kind``: ``cmd`` (a command with no text), ``shortcut`` (a message shortcut), ``msg`` (a
    button on a message) or ``home`` (a button on App Home). ``channel`` is the items'
    channel; ``message_channel`` the conversation of the clicked message when that differs
    (a direct message). The workspace is never stored here: it always comes from the verified
    submission.
    """

    kind: str
    channel: str
    ts: str | None = None  # msg: the message; shortcut: the thread to answer in
    ephemeral: bool = False
    response_url: str | None = None
    source_url: str | None = None
    message_channel: str | None = None
    refs: tuple[str, ...] = ()  # msg: the item cards the message shows

    def encode(self) -> str:
        data: dict[str, Any] = {"k": self.kind, "c": self.channel}
        optional: dict[str, Any] = {
            "t": self.ts,
            "e": 1 if self.ephemeral else None,
            "r": self.response_url,
            "u": self.source_url,
            "mc": self.message_channel,
            "f": ",".join(self.refs) or None,
        }
        data.update({k: v for k, v in optional.items() if v})
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Origin | None:
        try:
            data = json.loads(text or "")
            return cls(
                kind=str(data["k"]),
                channel=str(data["c"]),
                ts=data.get("t"),
                ephemeral=bool(data.get("e")),
                response_url=data.get("r"),
                source_url=data.get("u"),
                message_channel=data.get("mc"),
                refs=tuple(r for r in str(data.get("f") or "").split(",") if r),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class Where:
    """Who acted where, from the verified payload: enough to answer them.

    ``channel`` is the items' channel (the core's channel key); ``message_channel`` is where
    the person clicked when that is elsewhere (a direct message from raidline).
    """

    workspace: str
    channel: str
    user: str
    response_url: str | None = None
    thread_ts: str | None = None
    message_channel: str | None = None

    @property
    def key(self) -> ChannelKey:
        return ChannelKey(PLATFORM, self.workspace, self.channel)

    @property
    def conversation(self) -> str:
        """Where the clicked message is."""
        return self.message_channel or self.channel

    @property
    def away(self) -> ChannelKey | None:
        """The items' channel when the message is elsewhere: its buttons must name it."""
        if self.message_channel and self.message_channel != self.channel:
            return self.key
        return None


def workspace_of(context: Mapping[str, Any]) -> str | None:
    """The workspace key: the team id, or the enterprise id of an org-wide install."""
    team = context.get("team_id")
    enterprise = context.get("enterprise_id")
    return str(team or enterprise) if (team or enterprise) else None


def click_request(where: Where, action_id: str, tz: str | None, *, admin: bool = False) -> Request:
    """A click goes to the core with no values; field errors mean "ask for the form".

    ``admin``: users.info says the clicker is a workspace admin or owner."""
    return Request(
        where.key, where.user, action_id=action_id, user_timezone=tz, user_is_admin=admin
    )


# -- slash commands ---------------------------------------------------------------------------


def command_where(body: Mapping[str, Any], workspace: str) -> Where:
    return Where(
        workspace=workspace,
        channel=str(body.get("channel_id", "")),
        user=str(body.get("user_id", "")),
        response_url=body.get("response_url"),
    )


#: What Slack sends as ``channel_name`` where a conversation has no name of its own.
_UNNAMED = frozenset({"directmessage", "privategroup", "mpdm"})


def channel_name(body: Mapping[str, Any]) -> str | None:
    """The channel's name from a slash command (``apollo``); None for direct messages."""
    name = str(body.get("channel_name") or "").strip()
    return name if name and name not in _UNNAMED else None


def command_request(
    body: Mapping[str, Any],
    where: Where,
    tz: str | None,
    *,
    admin: bool = False,
    names: Mapping[str, str] | None = None,
) -> Request:
    """``admin``: users.info says the user is a workspace admin or owner. ``names``: the name
    Slack sends (``/team-standup``) -> raidline's command (``standup``), when renamed."""
    sent = str(body.get("command", ""))
    return Request(
        where.key,
        where.user,
        command=(names or {}).get(sent, sent.lstrip("/")),
        text=kit.unescape(str(body.get("text") or "")),
        user_timezone=tz,
        user_is_admin=admin,
        channel_name=channel_name(body),
    )


# -- message shortcuts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortcut:
    """A message shortcut: open the logging form of ``command`` about ``message``."""

    where: Where
    command: str
    trigger_id: str | None
    message: Mapping[str, Any]

    @property
    def request(self) -> Request:
        return Request(self.where.key, self.where.user, command=self.command)

    @property
    def message_ts(self) -> str | None:
        return self.message.get("ts")

    @property
    def message_text(self) -> str:
        return str(self.message.get("text") or "")

    def origin(self, permalink: str | None) -> Origin:
        return Origin(
            "shortcut",
            self.where.channel,
            ts=self.message.get("thread_ts") or self.message_ts,
            response_url=self.where.response_url,
            source_url=permalink,
        )


def shortcut_from(body: Mapping[str, Any], workspace: str | None) -> Shortcut | None:
    """None when the payload names no team, channel or user."""
    channel = (body.get("channel") or {}).get("id")
    user = (body.get("user") or {}).get("id")
    if workspace is None or not channel or not user:
        return None
    return Shortcut(
        where=Where(workspace, str(channel), str(user), body.get("response_url")),
        command=SHORTCUTS.get(str(body.get("callback_id")), "blocker"),
        trigger_id=body.get("trigger_id"),
        message=body.get("message") or {},
    )


# -- button clicks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """A button click (block_actions) on a message or on App Home.

    ``channel`` is the items' channel, or None when the click cannot be taken: a button of
    another workspace, or one that names no channel.
    """

    where: Where
    channel: str | None
    value: kit.ButtonValue
    action: Mapping[str, Any]
    home: bool
    trigger_id: str | None
    message_ts: str | None
    ephemeral: bool
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names_channel(self) -> bool:
        """The button names the items' workspace or channel (App Home, direct messages)."""
        return self.value.workspace is not None or self.value.channel is not None

    @property
    def refusal(self) -> str | None:
        """Why the click is refused, or None."""
        if self.channel is not None:
            return None
        why = (
            "That button belongs to another Slack workspace"
            if self.value.workspace is not None
            else "That button doesn't say which channel it is about"
        )
        return f"{why}; nothing was changed."

    @property
    def label(self) -> str:
        return str((self.action.get("text") or {}).get("text") or "raidline")

    def origin(self) -> Origin:
        """Where a form opened by this click came from."""
        return Origin(
            "home" if self.home else "msg",
            self.where.channel,
            ts=self.message_ts,
            ephemeral=self.ephemeral,
            response_url=self.where.response_url,
            message_channel=self.where.message_channel,
            refs=tuple(kit.card_refs(self.blocks)),
        )


def click_from(body: Mapping[str, Any], workspace: str | None) -> Click | None:
    """None when the payload has no action, team or user."""
    actions = body.get("actions") or []
    user = (body.get("user") or {}).get("id")
    if not actions or workspace is None or not user:
        return None
    action = actions[0]
    value = kit.decode_button_value(action.get("value"), str(action.get("action_id", "")))
    container = body.get("container") or {}
    conversation = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    channel = conversation
    if value.workspace is not None or value.channel is not None:
        # App Home and direct messages show items of a channel elsewhere; the button
        # names it, and is taken only inside the clicker's own (verified) workspace.
        channel = value.channel if value.workspace == workspace else None
    return Click(
        where=Where(
            workspace,
            str(channel or conversation or ""),
            str(user),
            body.get("response_url"),
            message_channel=str(conversation) if conversation else None,
        ),
        channel=channel,
        value=value,
        action=action,
        home=container.get("type") == "view",
        trigger_id=body.get("trigger_id"),
        message_ts=container.get("message_ts") or message.get("ts"),
        ephemeral=bool(container.get("is_ephemeral")),
        blocks=list(message.get("blocks") or []),
    )


# -- modal submissions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A submitted modal (view_submission) and where the modal came from."""

    where: Where
    origin: Origin
    action_id: str
    values: dict[str, str]
    view: Mapping[str, Any]

    def request(self, tz: str | None, *, admin: bool = False) -> Request:
        return Request(
            self.where.key,
            self.where.user,
            action_id=self.action_id,
            values=self.values,
            user_timezone=tz,
            source_url=self.origin.source_url,
            user_is_admin=admin,
        )


def submission_from(body: Mapping[str, Any], workspace: str | None) -> Submission | None:
    """None when the modal is not raidline's, or the payload names no team or user."""
    view = body.get("view") or {}
    origin = Origin.decode(view.get("private_metadata"))
    user = (body.get("user") or {}).get("id")
    if origin is None or workspace is None or not user:
        return None
    return Submission(
        where=Where(
            workspace,
            origin.channel,
            str(user),
            origin.response_url,
            thread_ts=origin.ts if origin.kind == "shortcut" else None,
        ),
        origin=origin,
        action_id=str(view.get("callback_id", "")),
        values=kit.form_values((view.get("state") or {}).get("values") or {}),
        view=view,
    )


# -- App Home ---------------------------------------------------------------------------------


def home_opener(event: Mapping[str, Any]) -> str | None:
    """The person who opened the App Home tab, or None for another tab or no user."""
    if event.get("tab", "home") != "home":
        return None
    user = event.get("user")
    return str(user) if user else None
