"""The neutral message model: what adapters send into the core and what it answers.

Adapters turn platform traffic into a :class:`Request` and render a :class:`Reply`. People are
written ``<@id>`` inside texts (Slack and Discord render that natively; the console shows
``@id``). Buttons carry a stable ``action_id`` such as ``resolve:B-3`` that comes back as a
request, so a click on an old message still works after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from bot.domain.model import ChannelKey


@dataclass(frozen=True)
class Request:
    """One thing a user did: typed a command, clicked a button, or submitted a form.

    ``command`` is the command name without a slash (``blocker``, ``raid``...). A typed
    command has either ``text`` or typed ``options``; a click or a form submission has
    ``action_id`` (and ``values`` for a form: field name -> text; people as ids, several
    people separated by spaces).

    ``options`` are a platform's typed command options, named as in the core's command table
    (:data:`bot.commands.registry.COMMANDS`), with ``subcommand`` the path of the subcommand
    (``resolve``, ``settings timezone``). Values are text: user ids, ref text, date text,
    choice values, ``true``/``false`` for flags; an option not given is left out.

    ``user_is_admin``: the platform says the user administers the workspace (a Slack workspace
    admin or owner, a Discord member with Manage Server); such a person may always set a
    channel's leads. Adapters that cannot tell leave it False.

    ``channel_name``: the channel's name (Slack's ``channel_name``, a Discord channel's name),
    for texts read outside the chat (the calendar feed); None when the platform gave none.
    """

    channel: ChannelKey
    user: str
    command: str = ""
    text: str = ""
    subcommand: str | None = None
    options: Mapping[str, str] | None = None
    action_id: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    user_timezone: str | None = None
    source_url: str | None = None
    user_is_admin: bool = False
    #: files that came with the request, by file name (a register attached to ``/raid
    #: import``); the adapter has downloaded or read them
    attachments: Mapping[str, bytes] = field(default_factory=dict)
    #: the channel's name as the platform shows it (``apollo``), when the platform said
    channel_name: str | None = None


class Visibility(StrEnum):
    CHANNEL = "channel"  # creates and changes: the team sees them
    PRIVATE = "private"  # lists, help and errors: only the requester


class Tone(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    ERROR = "error"


class InputKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    USER = "user"  # one person
    USERS = "users"  # several people
    DATE = "date"  # free date text, parsed by the core (``friday``, ``Dec 5``...)
    CHOICE = "choice"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: InputKind = InputKind.TEXT
    required: bool = False
    default: str | None = None
    hint: str | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class Form:
    """A form to fill in. Its submission comes back as a Request with ``action_id=form_id``."""

    form_id: str
    title: str
    fields: tuple[FormField, ...]
    submit_label: str = "Save"


@dataclass(frozen=True)
class Action:
    """A button. If it has a ``form``, clicking opens that form first (e.g. Assign asks who)."""

    label: str
    action_id: str
    style: Literal["primary", "danger"] | None = None
    form: Form | None = None


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Card:
    """One item as shown to a user: its ref, title, state, fields and what can be done."""

    ref: str
    kind: str
    title: str
    status: str
    fields: tuple[Field, ...] = ()
    actions: tuple[Action, ...] = ()
    overdue: bool = False
    due_at: datetime | None = None
    created_at: datetime | None = None
    url: str | None = None
    #: the item's channel, set where cards of several channels are shown together (App Home)
    channel: ChannelKey | None = None


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()  # items shown under this heading (App Home, digests)


@dataclass(frozen=True)
class File:
    filename: str
    content: bytes
    mime_type: str
    title: str = ""


@dataclass(frozen=True)
class Reply:
    """What the core answers. ``text`` is always a complete plain-text summary."""

    text: str
    visibility: Visibility = Visibility.PRIVATE
    tone: Tone = Tone.INFO
    cards: tuple[Card, ...] = ()
    sections: tuple[Section, ...] = ()
    actions: tuple[Action, ...] = ()  # follow-ups and pagination ("More")
    form: Form | None = None  # open this form (a command with no text)
    files: tuple[File, ...] = ()
    field_errors: Mapping[str, str] = field(default_factory=dict)
    usage: str | None = None
    incident_id: str | None = None
    #: the ref of the item this reply created or changed, so adapters can update messages
    item_ref: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message the bot sends on its own (standups, nudges, digests), through an adapter."""

    channel: ChannelKey
    reply: Reply
    to_user: str | None = None  # a direct message to this person instead of the channel
    thread: str | None = None  # the platform's message ref to reply under (Slack ts, Discord id)
    #: the run this message delivers; adapters that can use it to drop a repeated send of the
    #: same run (a retry after a crash) do so (Discord: the message nonce)
    key: str | None = None
    #: an earlier attempt of this run started to send it and did not finish, so it may have
    #: been posted: adapters that can find their earlier message look before posting again
    resend: bool = False
    #: edit, not post: the platform's ref of a message the bot posted in ``channel`` earlier
    #: (Slack ts, Discord message id), replaced in place by ``reply`` (Slack chat.update,
    #: Discord message edit); sending returns the same ref
    edit: str | None = None


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete choice for a ref."""

    ref: str
    label: str
