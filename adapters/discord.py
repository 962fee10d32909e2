"""Discord: raidline as a Discord application on discord.py, over the gateway.

- Slash commands with typed options (:func:`install_commands`): ``/blocker``, ``/risk``,
  ``/decision`` and ``/change`` submit the core's logging forms (``new:<kind>``) from their
  options, or open a modal for what is missing; ``/raid``, ``/standup`` and ``/digest`` are
  command groups whose subcommands become the core's text (``raid resolve B-3 merged``).
- Replies are rendered by :mod:`adapters.discord_render`; buttons and user selects carry the
  core's action ids in their custom ids and are routed by ``DynamicItem`` classes, so old
  messages keep working after a restart. Modal submissions are routed by their custom id too
  (``rl:f:<form_id>``), not by an in-memory modal object.
- Every interaction is answered within Discord's 3 seconds: when the core is slow the answer
  is deferred and sent when ready. discord.py honours 429s and resumes gateway sessions.
- Guilds are isolated: the channel of every request is the interaction's own guild and
  channel (a thread's parent), whatever a custom id or an option says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from re import Match
from typing import Any, cast

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web
from discord import app_commands
from discord.utils import MISSING

from adapters import discord_render as dr
from adapters.platform import EXIT_UNAVAILABLE, StartupError
from adapters.runtime.config import ConfigError, Settings
from bot.dispatcher import Core
from bot.domain.model import RESPONSES, ChannelKey, Item, Kind, Ref, Status
from bot.messages import Form, InputKind, Outgoing, Reply, Request, Tone, Visibility
from bot.views import items as views

log = logging.getLogger("raidline.discord")

#: No privileged intent: slash commands, components and modals arrive without any intent;
#: ``guilds`` keeps channels and threads cached so a thread maps to its parent channel.
INTENTS = discord.Intents.none()
INTENTS.guilds = True

#: View Channels, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links,
#: Attach Files, Read Message History: what the messages the bot sends on its own need.
#: Interaction answers need no channel permission.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
)

#: Commands that only read: the only ones a page button may run again.
_READ_ONLY_RAID = frozenset({"list", "show", "history", "help", "settings", "export"})

_PUBLIC_RAID = frozenset(
    {
        "resolve",
        "assign",
        "due",
        "note",
        "approve",
        "reject",
        "decide",
        "close",
        "occurred",
        "reopen",
        "withdraw",
        "implemented",
        "supersede",
    }
)

_CHANNEL_URL = "https://discord.com/channels/{guild}/{channel}"


class DiscordStartError(StartupError):
    """Discord could not be reached at start-up; ``str(error)`` is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_UNAVAILABLE)


# --- forms kept between a command and its modal ----------------------------------------------


@dataclass
class Pending:
    """A form in progress: typed options, what the modal said, and who may submit it."""

    channel: ChannelKey
    user: str
    form: Form
    typed: dict[str, str] = field(default_factory=dict)
    entered: dict[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    expires: float = 0.0


class _PendingForms:
    """Bounded, expiring store of forms waiting for their modal (15 minutes, like a token)."""

    ttl = 15 * 60.0
    size = 1000

    def __init__(self) -> None:
        self._items: OrderedDict[str, Pending] = OrderedDict()

    def put(self, pending: Pending) -> str:
        token = secrets.token_urlsafe(9)
        pending.expires = time.monotonic() + self.ttl
        self._items[token] = pending
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return token

    def get(self, token: str | None, channel: ChannelKey, user: str) -> Pending | None:
        """The form behind ``token`` if it belongs to this user in this channel."""
        if not token:
            return None
        pending = self._items.get(token)
        if pending is None or pending.expires < time.monotonic():
            self._items.pop(token, None)
            return None
        if pending.channel != channel or pending.user != user:
            log.warning("form token used from another channel or by another user; ignored")
            return None
        return pending

    def drop(self, token: str | None) -> None:
        if token:
            self._items.pop(token, None)


# --- the client ------------------------------------------------------------------------------


class _Tree(app_commands.CommandTree["RaidlineClient"]):
    async def interaction_check(self, interaction: discord.Interaction[RaidlineClient]) -> bool:
        if interaction.guild_id is None:
            if interaction.type is discord.InteractionType.application_command:
                await interaction.response.send_message(
                    "raidline works in server channels: use it in a channel of your server.",
                    ephemeral=True,
                )
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[RaidlineClient], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            return
        if isinstance(error, app_commands.TransformerError):
            text = f"I couldn't read `{error.value}` for that option; please pick a valid value."
        else:
            incident = secrets.token_hex(4)
            log.error(
                "unexpected error in a Discord command",
                exc_info=error,
                extra={"incident_id": incident},
            )
            text = (
                "Sorry, something went wrong on our side and nothing was changed. "
                f"If it happens again, tell your admin the incident id {incident}."
            )
        await _send_plain(interaction, text)


class RaidlineClient(discord.Client):
    def __init__(
        self, adapter: DiscordAdapter, *, guild_ready_timeout: float, **shards: Any
    ) -> None:
        super().__init__(
            intents=INTENTS,
            guild_ready_timeout=guild_ready_timeout,
            chunk_guilds_at_startup=False,
            max_messages=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            **shards,
        )
        self.adapter = adapter
        self.tree = _Tree(
            self,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton, PeopleSelect, PageButton, FixButton)
        install_commands(self.tree)
        await self.adapter.sync_commands()

    async def on_ready(self) -> None:
        self.adapter._ready.set()
        log.info("connected to Discord as %s in %d guild(s)", self.user, len(self.guilds))

    async def on_resumed(self) -> None:
        log.info("Discord gateway session resumed")

    async def on_interaction(self, interaction: discord.Interaction[RaidlineClient]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            data = cast(Mapping[str, Any], interaction.data or {})
            parsed = dr.parse_form_custom_id(str(data.get("custom_id", "")))
            if parsed is not None:
                await self.adapter.guarded(
                    interaction, self.adapter.on_modal_submit(interaction, *parsed, data)
                )


def _adapter(interaction: discord.Interaction[Any]) -> DiscordAdapter:
    return cast(RaidlineClient, interaction.client).adapter


async def _send_plain(interaction: discord.Interaction[Any], text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not answer a Discord interaction", exc_info=True)


# --- persistent components -------------------------------------------------------------------


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.ACTION_TEMPLATE
):
    """A button carrying a core action id: ``rl:a:resolve:B-3``."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )
        self.action_id = spec.custom_id.removeprefix(dr.ACTION_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> ActionButton:
        return cls(dr.ButtonSpec("…", match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter = _adapter(interaction)
        await adapter.guarded(interaction, adapter.on_action(interaction, self.action_id))


class PeopleSelect(
    discord.ui.DynamicItem[discord.ui.UserSelect[discord.ui.View]], template=dr.SELECT_TEMPLATE
):
    """A user select that submits its action with the chosen people: ``rl:u:owner:assign:B-3``."""

    def __init__(self, spec: dr.UserSelectSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.UserSelect(
                custom_id=spec.custom_id,
                placeholder=spec.placeholder,
                min_values=1,
                max_values=spec.max_values,
            ),
            row=row,
        )
        rest = spec.custom_id.removeprefix(dr.SELECT_PREFIX)
        self.field_name, _, self.action_id = rest.partition(":")

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> PeopleSelect:
        return cls(dr.UserSelectSpec(match.string, "…"))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        data = cast(Mapping[str, Any], interaction.data or {})
        people = " ".join(str(v) for v in data.get("values") or [])
        adapter = _adapter(interaction)
        await adapter.guarded(
            interaction,
            adapter.on_action(interaction, self.action_id, {self.field_name: people}),
        )


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.PAGE_TEMPLATE
):
    """Another page of a long private reply: runs the (read-only) command again."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> PageButton:
        button = cls(dr.ButtonSpec("…", match.string))
        button.page = int(match["page"])
        button.command = match["command"]
        button.text = match["text"]
        return button

    page = 0
    command = ""
    text = ""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter = _adapter(interaction)
        await adapter.guarded(
            interaction, adapter.on_page(interaction, self.page, self.command, self.text)
        )


class FixButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=dr.FIX_TEMPLATE
):
    """Reopens a refused form with what was typed, so nothing has to be typed twice."""

    def __init__(self, spec: dr.ButtonSpec, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id),
            row=row,
        )
        self.token = spec.custom_id.removeprefix(dr.FIX_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Match[str], /
    ) -> FixButton:
        return cls(dr.ButtonSpec("…", match.string))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter = _adapter(interaction)
        await adapter.guarded(interaction, adapter.on_fix(interaction, self.token))


def build_view(rows: Sequence[Sequence[dr.ComponentSpec]]) -> discord.ui.View | None:
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for r, row in enumerate(rows):
        for spec in row:
            item: discord.ui.Item[Any]
            if isinstance(spec, dr.UserSelectSpec):
                item = PeopleSelect(spec, row=r)
            elif spec.custom_id.startswith(dr.PAGE_PREFIX):
                item = PageButton(spec, row=r)
            elif spec.custom_id.startswith(dr.FIX_PREFIX):
                item = FixButton(spec, row=r)
            else:
                item = ActionButton(spec, row=r)
            view.add_item(item)
    return view


def build_modal(spec: dr.ModalSpec) -> discord.ui.Modal:
    modal = discord.ui.Modal(title=spec.title, custom_id=spec.custom_id, timeout=None)
    for inp in spec.inputs:
        component: discord.ui.Item[Any]
        if inp.kind in (InputKind.USER, InputKind.USERS):
            people = [int(p) for p in (inp.default or "").split() if p.isdecimal()]
            many = inp.kind is InputKind.USERS
            component = discord.ui.UserSelect(
                custom_id=inp.name,
                min_values=1 if inp.required else 0,
                max_values=dr.MAX_SELECT_VALUES if many else 1,
                required=inp.required,
                default_values=[discord.Object(id=p) for p in people[: 25 if many else 1]],
            )
        elif inp.kind is InputKind.CHOICE and inp.choices:
            component = discord.ui.Select(
                custom_id=inp.name,
                min_values=1 if inp.required else 0,
                max_values=1,
                required=inp.required,
                options=[
                    discord.SelectOption(
                        label=dr.clip(label, 100), value=value, default=value == inp.default
                    )
                    for value, label in inp.choices
                ],
            )
        else:
            long = inp.kind is InputKind.LONG_TEXT
            max_length = inp.max_length or dr.MAX_INPUT_VALUE
            component = discord.ui.TextInput(
                custom_id=inp.name,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                required=inp.required,
                default=(inp.default or "")[:max_length] or None,
                max_length=max_length,
                placeholder=inp.description,
            )
        modal.add_item(discord.ui.Label(text=inp.label, component=component))
    # raidline routes the submission by its custom id (see RaidlineClient.on_interaction), so
    # it works after a restart too; a stopped modal is not kept in discord.py's modal store.
    modal.stop()
    return modal


# --- command schema --------------------------------------------------------------------------

_LEVEL_CHOICES = [app_commands.Choice(name=c.label, value=c.value) for c in views.level_choices()]
_RESPONSE_CHOICES = [app_commands.Choice(name=r, value=r) for r in RESPONSES]
_LIST_CHOICES = [
    app_commands.Choice(name=n, value=n)
    for n in ("blockers", "risks", "decisions", "changes", "overdue", "mine")
]
_FORMAT_CHOICES = [
    app_commands.Choice(name="Markdown (.md)", value="md"),
    app_commands.Choice(name="CSV (.csv)", value="csv"),
    app_commands.Choice(name="JSON (.json)", value="json"),
]
_STATE_CHOICES = [
    app_commands.Choice(name="Already decided", value="decided"),
    app_commands.Choice(name="A decision is needed", value="needed"),
]
_DAY_CHOICES = [
    app_commands.Choice(name=d, value=d[:3].lower())
    for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
]
_MODE_CHOICES = [
    app_commands.Choice(name="a thread under the standup message", value="thread"),
    app_commands.Choice(name="a direct message to each member", value="dm"),
]
_ON_OFF = [app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]

_DATE = "a date: friday, Dec 5, in 2 weeks, 2026-12-05"
_ZONE = "an IANA time zone, e.g. Europe/London (default: the channel's)"


async def ref_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    return await _adapter(interaction).autocomplete(interaction, current)


def _people(*users: discord.User | discord.Member | None) -> str:
    return " ".join(dict.fromkeys(f"<@{u.id}>" for u in users if u is not None))


def _words(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _ref(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def _uid(user: discord.User | discord.Member | None) -> str | None:
    return str(user.id) if user is not None else None


@app_commands.describe(
    title="what is blocked, in a few words",
    owner="who unblocks it",
    due=f"when it must be unblocked: {_DATE}",
    waiting_on="who or what it waits on",
    details="anything else worth knowing",
)
async def blocker_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    owner: discord.User | None = None,
    due: str | None = None,
    waiting_on: str | None = None,
    details: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    typed = {
        "title": title,
        "owner": _uid(owner),
        "due": due,
        "waiting_on": waiting_on,
        "details": details,
    }
    await _adapter(interaction).log_item(interaction, Kind.BLOCKER, typed)


@app_commands.describe(
    title="what may go wrong",
    likelihood="how likely it is",
    impact="how bad it would be",
    owner="who watches it",
    review=f"next review: {_DATE}",
    response="how the team responds",
    mitigation="what is done about it",
)
@app_commands.choices(likelihood=_LEVEL_CHOICES, impact=_LEVEL_CHOICES, response=_RESPONSE_CHOICES)
async def risk_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    likelihood: str | None = None,
    impact: str | None = None,
    owner: discord.User | None = None,
    review: str | None = None,
    response: str | None = None,
    mitigation: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    typed = {
        "title": title,
        "likelihood": likelihood,
        "impact": impact,
        "owner": _uid(owner),
        "review": review,
        "response": response,
        "mitigation": mitigation,
    }
    await _adapter(interaction).log_item(interaction, Kind.RISK, typed)


@app_commands.describe(
    title="the decision taken, or the question to decide",
    state="already decided (default), or a decision is needed (default when `by` is given)",
    decider="who decides (or decided)",
    by=f"decide by: {_DATE}",
    rationale="why, or the context",
)
@app_commands.choices(state=_STATE_CHOICES)
async def decision_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    state: str | None = None,
    decider: discord.User | None = None,
    by: str | None = None,
    rationale: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    if title and not state:
        state = "needed" if by else "decided"
    typed = {
        "title": title,
        "state": state,
        "decider": _uid(decider),
        "by": by,
        "rationale": rationale,
    }
    await _adapter(interaction).log_item(interaction, Kind.DECISION, typed)


@app_commands.describe(
    title="what changes",
    impact="on scope, schedule, cost or quality, e.g. schedule +2 weeks, cost +8k",
    approver="who approves it",
    approver_2="a second approver",
    why="why the change is needed",
    details="anything else worth knowing",
)
async def change_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    impact: str | None = None,
    approver: discord.User | None = None,
    approver_2: discord.User | None = None,
    why: app_commands.Range[str, 1, 3000] | None = None,
    details: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    approvers = " ".join(dict.fromkeys(u for u in (_uid(approver), _uid(approver_2)) if u))
    typed = {
        "title": title,
        "impact": impact,
        "approvers": approvers,
        "why": why,
        "details": details,
    }
    await _adapter(interaction).log_item(interaction, Kind.CHANGE, typed)


async def _raid(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "raid", text)


_REF = "the item, e.g. B-3"


class RaidGroup(app_commands.Group):
    """``/raid``: list, show and change items; history, export, settings."""

    def __init__(self) -> None:
        super().__init__(
            name="raid",
            description="List, show and change items; history, export, settings",
            guild_only=True,
        )

    settings = app_commands.Group(
        name="settings", description="Show or change this channel's settings"
    )

    @app_commands.command(name="list", description="Open items, by kind, overdue or yours")
    @app_commands.rename(filter_="filter")
    @app_commands.describe(filter_="which items", include_closed="closed ones too")
    @app_commands.choices(filter_=_LIST_CHOICES)
    async def list_(
        self,
        interaction: discord.Interaction[Any],
        filter_: str | None = None,
        include_closed: bool = False,
    ) -> None:
        await _raid(interaction, _words("list", filter_, "all" if include_closed else None))

    @app_commands.command(name="show", description="One item with all its fields")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def show(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("show", _ref(ref)))

    @app_commands.command(name="resolve", description="Resolve a blocker")
    @app_commands.describe(ref=_REF, note="how it was resolved")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def resolve(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("resolve", _ref(ref), note))

    @app_commands.command(name="assign", description="Set the owner, decider or approvers")
    @app_commands.describe(ref=_REF, person="who", person_2="and who else (approvers)")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def assign(
        self,
        interaction: discord.Interaction[Any],
        ref: str,
        person: discord.User,
        person_2: discord.User | None = None,
    ) -> None:
        await _raid(interaction, _words("assign", _ref(ref), _people(person, person_2)))

    @app_commands.command(name="due", description="Set the due, review or decide-by date")
    @app_commands.describe(ref=_REF, date=_DATE)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def due(self, interaction: discord.Interaction[Any], ref: str, date: str) -> None:
        await _raid(interaction, _words("due", _ref(ref), date))

    @app_commands.command(name="note", description="Add a note to an item's history")
    @app_commands.describe(ref=_REF, text="the note")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def note(self, interaction: discord.Interaction[Any], ref: str, text: str) -> None:
        await _raid(interaction, _words("note", _ref(ref), text))

    @app_commands.command(name="approve", description="Approve a change request")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def approve(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("approve", _ref(ref), note))

    @app_commands.command(name="reject", description="Reject a change request or a decision")
    @app_commands.describe(ref=_REF, reason="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def reject(self, interaction: discord.Interaction[Any], ref: str, reason: str) -> None:
        await _raid(interaction, _words("reject", _ref(ref), reason))

    @app_commands.command(name="decide", description="Take a pending decision")
    @app_commands.describe(ref=_REF, outcome="what was decided", rationale="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def decide(
        self,
        interaction: discord.Interaction[Any],
        ref: str,
        outcome: app_commands.Range[str, 1, 300],
        rationale: str | None = None,
    ) -> None:
        # The form path keeps a comma in the outcome where the text grammar would split it.
        values = {"outcome": outcome, "rationale": rationale or ""}
        await _adapter(interaction).run_action(interaction, f"decide:{_ref(ref)}", values)

    @app_commands.command(name="close", description="Close a risk")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def close(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("close", _ref(ref), note))

    @app_commands.command(name="occurred", description="A risk happened: it becomes a blocker")
    @app_commands.describe(ref=_REF, note="what happened")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def occurred(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("occurred", _ref(ref), note))

    @app_commands.command(name="reopen", description="Reopen a resolved blocker or closed risk")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def reopen(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("reopen", _ref(ref)))

    @app_commands.command(name="withdraw", description="Take an item back (it stays in history)")
    @app_commands.describe(ref=_REF, reason="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def withdraw(
        self, interaction: discord.Interaction[Any], ref: str, reason: str | None = None
    ) -> None:
        await _raid(interaction, _words("withdraw", _ref(ref), reason))

    @app_commands.command(name="implemented", description="Mark a change request implemented")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def implemented(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("implemented", _ref(ref), note))

    @app_commands.command(name="supersede", description="Mark a decision superseded")
    @app_commands.describe(ref=_REF, by="the decision that replaces it")
    @app_commands.autocomplete(ref=ref_autocomplete, by=ref_autocomplete)
    async def supersede(
        self, interaction: discord.Interaction[Any], ref: str, by: str | None = None
    ) -> None:
        await _raid(interaction, _words("supersede", _ref(ref), f"by {_ref(by)}" if by else None))

    @app_commands.command(name="history", description="Who changed what, when")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def history(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("history", _ref(ref)))

    @app_commands.command(name="export", description="This channel's full log as a file")
    @app_commands.rename(fmt="format")
    @app_commands.describe(fmt="the file format")
    @app_commands.choices(fmt=_FORMAT_CHOICES)
    async def export(self, interaction: discord.Interaction[Any], fmt: str = "md") -> None:
        await _raid(interaction, _words("export", fmt))

    @app_commands.command(name="help", description="Every command with an example")
    @app_commands.describe(topic="a command, e.g. resolve or blocker")
    async def help(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await _raid(interaction, _words("help", topic))

    @settings.command(name="show", description="This channel's time zone, leads and nudges")
    async def settings_show(self, interaction: discord.Interaction[Any]) -> None:
        await _raid(interaction, "settings")

    @settings.command(name="timezone", description="The channel's time zone for dates")
    @app_commands.describe(zone="an IANA time zone, e.g. Europe/Berlin")
    async def settings_timezone(self, interaction: discord.Interaction[Any], zone: str) -> None:
        await _raid(interaction, _words("settings timezone", zone))

    @settings.command(name="leads", description="Who leads this channel (include yourself)")
    @app_commands.describe(
        lead="a lead", lead_2="another lead", lead_3="another lead", clear="no leads at all"
    )
    async def settings_leads(
        self,
        interaction: discord.Interaction[Any],
        lead: discord.User | None = None,
        lead_2: discord.User | None = None,
        lead_3: discord.User | None = None,
        clear: bool = False,
    ) -> None:
        who = "none" if clear else _people(lead, lead_2, lead_3)
        await _raid(interaction, _words("settings leads", who))

    @settings.command(name="nudges", description="Turn reminders about overdue items on or off")
    @app_commands.describe(state="on or off")
    @app_commands.choices(state=_ON_OFF)
    async def settings_nudges(self, interaction: discord.Interaction[Any], state: str) -> None:
        await _raid(interaction, _words("settings nudges", state))


async def _standup(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "standup", text)


class StandupGroup(app_commands.Group):
    """``/standup``: the channel's asynchronous standup."""

    def __init__(self) -> None:
        super().__init__(
            name="standup", description="The channel's asynchronous standup", guild_only=True
        )

    @app_commands.command(name="status", description="The standup's schedule and members")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "")

    @app_commands.command(name="schedule", description="When the standup opens")
    @app_commands.describe(
        days="weekdays, or days like mon,wed,fri",
        time="local time, e.g. 09:30",
        timezone=_ZONE,
    )
    async def schedule(
        self,
        interaction: discord.Interaction[Any],
        days: str,
        time: str,
        timezone: str | None = None,
    ) -> None:
        await _standup(interaction, _words("schedule", days, time, timezone))

    @app_commands.command(name="questions", description="The standup's questions")
    @app_commands.describe(questions="questions separated by |")
    async def questions(self, interaction: discord.Interaction[Any], questions: str) -> None:
        await _standup(interaction, _words("questions", questions))

    @app_commands.command(name="members", description="Who is asked")
    @app_commands.describe(
        member="a member",
        member_2="another member",
        member_3="another member",
        member_4="another member",
        member_5="another member",
    )
    async def members(
        self,
        interaction: discord.Interaction[Any],
        member: discord.User,
        member_2: discord.User | None = None,
        member_3: discord.User | None = None,
        member_4: discord.User | None = None,
        member_5: discord.User | None = None,
    ) -> None:
        who = _people(member, member_2, member_3, member_4, member_5)
        await _standup(interaction, _words("members", who))

    @app_commands.command(name="window", description="How long answers are collected")
    @app_commands.describe(duration="e.g. 2h or 90m")
    async def window(self, interaction: discord.Interaction[Any], duration: str) -> None:
        await _standup(interaction, _words("window", duration))

    @app_commands.command(name="mode", description="Answer in a thread or by direct message")
    @app_commands.describe(mode="thread or dm")
    @app_commands.choices(mode=_MODE_CHOICES)
    async def mode(self, interaction: discord.Interaction[Any], mode: str) -> None:
        await _standup(interaction, _words("mode", mode))

    @app_commands.command(name="skip", description="Skip a standup")
    @app_commands.describe(day="which day (default: today)")
    async def skip(self, interaction: discord.Interaction[Any], day: str = "today") -> None:
        await _standup(interaction, _words("skip", day))

    @app_commands.command(name="away", description="Away until a date: not asked meanwhile")
    @app_commands.describe(until=_DATE, who="who is away (default: you)")
    async def away(
        self,
        interaction: discord.Interaction[Any],
        until: str,
        who: discord.User | None = None,
    ) -> None:
        await _standup(interaction, _words("away", _people(who), "until", until))

    @app_commands.command(name="answer", description="Answer (or edit your answer to) the standup")
    async def answer(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "answer")

    @app_commands.command(name="now", description="Open a standup now")
    async def now(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "now")

    @app_commands.command(name="off", description="Stop the standups")
    async def off(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "off")


async def _digest(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "digest", text)


class DigestGroup(app_commands.Group):
    """``/digest``: what changed, what is blocked, what needs a decision."""

    def __init__(self) -> None:
        super().__init__(
            name="digest",
            description="What changed, what is blocked, what needs a decision",
            guild_only=True,
        )

    @app_commands.command(name="now", description="Post a digest now")
    async def now(self, interaction: discord.Interaction[Any]) -> None:
        await _digest(interaction, "")

    @app_commands.command(name="daily", description="Post a digest every day")
    @app_commands.describe(time="local time, e.g. 17:00", timezone=_ZONE)
    async def daily(
        self, interaction: discord.Interaction[Any], time: str, timezone: str | None = None
    ) -> None:
        await _digest(interaction, _words("daily", time, timezone))

    @app_commands.command(name="weekly", description="Post a digest once a week")
    @app_commands.describe(day="the day", time="local time, e.g. 16:00", timezone=_ZONE)
    @app_commands.choices(day=_DAY_CHOICES)
    async def weekly(
        self,
        interaction: discord.Interaction[Any],
        day: str,
        time: str,
        timezone: str | None = None,
    ) -> None:
        await _digest(interaction, _words("weekly", day, time, timezone))

    @app_commands.command(name="off", description="Stop the scheduled digests")
    async def off(self, interaction: discord.Interaction[Any]) -> None:
        await _digest(interaction, "off")


_LOG_COMMANDS: tuple[tuple[str, str, Any], ...] = (
    ("blocker", "Log something that stops the work", blocker_command),
    ("risk", "Log something that may go wrong", risk_command),
    ("decision", "Record a decision taken, or log one that is needed", decision_command),
    ("change", "Request a change that needs an explicit yes or no", change_command),
)


def install_commands(tree: app_commands.CommandTree[Any]) -> None:
    """The seven commands of SPEC §3, built fresh for this tree."""
    for name, description, callback in _LOG_COMMANDS:
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=name, description=description, callback=callback
        )
        command.guild_only = True
        tree.add_command(command)
    tree.add_command(RaidGroup())
    tree.add_command(StandupGroup())
    tree.add_command(DigestGroup())


def command_schema(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    return [c.to_dict(tree) for c in tree.get_commands()]


_SCHEMA_KEYS = frozenset(
    {
        "name",
        "description",
        "type",
        "options",
        "choices",
        "value",
        "required",
        "autocomplete",
        "min_length",
        "max_length",
        "min_value",
        "max_value",
        "channel_types",
        "default_member_permissions",
        "nsfw",
        "contexts",
        "integration_types",
    }
)


def _normalize(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: _normalize(v)
            for k, v in sorted(value.items())
            if k in _SCHEMA_KEYS and v not in (None, False, [], {})
        }
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def schema_hash(commands: Sequence[Mapping[str, Any]]) -> str:
    """A hash of what Discord shows of the commands, equal for ours and Discord's copy."""
    normal = sorted((_normalize(c) for c in commands), key=lambda c: str(c.get("name")))
    blob = json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- the adapter -----------------------------------------------------------------------------


def _stub_item(ref: Ref) -> Item:
    """An item with only a ref, to ask bot.views.items for the form an action opens."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return Item(
        channel=ChannelKey("discord", "", ""),
        kind=ref.kind,
        number=ref.number,
        status=Status.OPEN,
        title="",
        reporter="",
        created_at=epoch,
        updated_at=epoch,
    )


def rebuild_action_form(action_id: str) -> Form | None:
    """The form a button opens, from its action id alone (a click on a message sent before a
    restart). ``None`` for an action that needs no form."""
    verb, _, arg = action_id.partition(":")
    ref = Ref.parse(arg.split(":")[0]) if arg else None
    if ref is None:
        return None
    if verb == "decide":
        return views.decide_action(str(ref)).form
    if verb == "reject":
        return views.reject_action(str(ref)).form
    if verb == "due":
        return views.due_action(_stub_item(ref)).form
    if verb == "assign":
        return views.assign_action(_stub_item(ref)).form
    return None


class ShardedRaidlineClient(RaidlineClient, discord.AutoShardedClient):
    """The same client running the shards in DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT.

    Several processes split the guilds between them (Discord routes each guild's events to
    shard ``(guild_id >> 22) % shard_count``); each connects to the gateway URL Discord's
    ``GET /gateway/bot`` returns."""


def make_client(
    adapter: DiscordAdapter, settings: Settings, guild_ready_timeout: float
) -> RaidlineClient:
    if settings.discord_shard_count is None:
        return RaidlineClient(adapter, guild_ready_timeout=guild_ready_timeout)
    return ShardedRaidlineClient(
        adapter,
        guild_ready_timeout=guild_ready_timeout,
        shard_count=settings.discord_shard_count,
        shard_ids=list(settings.discord_shard_ids) or None,
    )


class DiscordAdapter:
    """raidline on Discord. See the module docstring."""

    name = "discord"

    #: Seconds the core may take before an interaction is deferred (Discord allows 3).
    defer_after = 1.5
    #: Seconds a click that opens a form may spend asking the core whether it is allowed.
    probe_timeout = 1.0
    #: Seconds autocomplete may take before answering with no suggestions.
    autocomplete_timeout = 2.0
    #: Seconds ``start()`` waits for READY.
    ready_timeout = 60.0
    #: Seconds discord.py waits after the last GUILD_CREATE before READY.
    guild_ready_timeout = 2.0
    #: Seconds before the first restart of a connection that failed unexpectedly.
    restart_delay = 1.0

    def __init__(self, settings: Settings, core: Core, web: web.Application | None = None) -> None:
        self.settings = settings
        self.core = core
        self.web = web  # unused: Discord talks over the gateway, not HTTP
        self.client: RaidlineClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._saved_urls: tuple[str, yarl.URL] | None = None
        self._pending = _PendingForms()
        self._forms: OrderedDict[str, Form] = OrderedDict()
        #: What the last command sync did per target ("global" or a guild id): synced/unchanged.
        self.sync_results: dict[str, str] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.client is not None:
            return
        token = self.settings.discord_bot_token
        if token is None:
            raise ConfigError("DISCORD_BOT_TOKEN: not set; the Discord adapter needs it")
        self._patch_urls()
        self._ready = asyncio.Event()
        client = make_client(self, self.settings, self.guild_ready_timeout)
        self.client = client
        try:
            await client.login(token.get_secret_value())
        except discord.LoginFailure:
            await self._abort()
            raise ConfigError(
                "DISCORD_BOT_TOKEN: Discord refused the token (401 Unauthorized); copy the bot "
                "token again from the Developer Portal (Bot > Reset Token)"
            ) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self._abort()
            raise DiscordStartError(
                f"can't reach the Discord API at {self.settings.discord_api_url} "
                f"({type(exc).__name__}: {_one_line(exc)})"
            ) from None
        self._task = asyncio.create_task(self._run_gateway(client), name="raidline-discord")
        self._task.add_done_callback(self._gateway_ended)
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            return
        ready.cancel()
        reason = f"no READY from the Discord gateway within {self.ready_timeout:g}s"
        if self._task in done and not self._task.cancelled() and self._task.exception():
            reason = _gateway_failure(self._task.exception())
        await self._abort()
        raise DiscordStartError(reason)

    async def stop(self) -> None:
        await self._abort()

    async def _abort(self) -> None:
        client, task = self.client, self._task
        self.client, self._task = None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        self._restore_urls()

    async def _run_gateway(self, client: RaidlineClient) -> None:
        """discord.py's connection loop (reconnects and resumes itself), restarted should it
        ever fail on something it does not handle, such as a malformed event."""
        failures = 0
        while True:
            began = time.monotonic()
            try:
                await client.connect(reconnect=True)
                return
            except Exception as exc:
                if client.is_closed():
                    raise  # closed on purpose, or a fatal close code (bad token, intents)
                if time.monotonic() - began > 60:
                    failures = 0  # it had been working: start the backoff again
                delay = min(self.restart_delay * 2**failures, 60.0)
                failures += 1
                log.error(
                    "the Discord connection failed (%s); connecting again in %.1fs",
                    _one_line(exc),
                    delay,
                    exc_info=exc,
                )
                if client.ws is not None:
                    with contextlib.suppress(Exception):
                        await client.ws.close(code=4000)
                await asyncio.sleep(delay)

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("the Discord connection ended: %s", _gateway_failure(task.exception()))

    @property
    def connected(self) -> bool:
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        ws = client.ws
        return ws is not None and ws.open

    def _patch_urls(self) -> None:
        if self._saved_urls is None:
            self._saved_urls = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.settings.discord_api_url.rstrip("/")
        if self.settings.discord_gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
                self.settings.discord_gateway_url
            )

    def _restore_urls(self) -> None:
        if self._saved_urls is not None:
            base, gateway = self._saved_urls
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
            self._saved_urls = None

    # -- command sync -------------------------------------------------------------------------

    async def sync_commands(self) -> None:
        """Sync the command schema, only where Discord's copy differs (compared by hash).

        To the guilds in DISCORD_GUILD_IDS (instant) when set, else globally.
        """
        client = self.client
        if client is None or client.application_id is None:
            return
        tree = client.tree
        local_hash = schema_hash(command_schema(tree))
        targets: list[discord.Object | None] = [
            discord.Object(id=g) for g in self.settings.discord_guild_ids
        ] or [None]
        for guild in targets:
            where = "global" if guild is None else str(guild.id)
            try:
                if guild is None:
                    remote = await client.http.get_global_commands(client.application_id)
                else:
                    tree.copy_global_to(guild=guild)
                    remote = await client.http.get_guild_commands(client.application_id, guild.id)
                if schema_hash(cast(Sequence[Mapping[str, Any]], remote)) == local_hash:
                    self.sync_results[where] = "unchanged"
                    log.info("Discord commands unchanged (%s); not synced", where)
                    continue
                await tree.sync(guild=guild)
                self.sync_results[where] = "synced"
                log.info("Discord commands synced (%s, schema %s)", where, local_hash[:12])
            except discord.Forbidden:
                self.sync_results[where] = "forbidden"
                log.error(
                    "can't sync Discord commands to guild %s: invite the bot with the "
                    "applications.commands scope",
                    where,
                )
            except discord.HTTPException as exc:
                self.sync_results[where] = "failed"
                log.error("Discord command sync failed (%s): %s", where, _one_line(exc))

    # -- interactions: entry points -----------------------------------------------------------

    async def guarded(self, interaction: discord.Interaction[Any], work: Any) -> None:
        """Run a handler; an unexpected error gets an apology with an incident id."""
        try:
            await work
        except Exception:
            incident = secrets.token_hex(4)
            log.exception(
                "unexpected error handling a Discord interaction",
                extra={"incident_id": incident},
            )
            await _send_plain(
                interaction,
                "Sorry, something went wrong on our side and nothing was changed. "
                f"If it happens again, tell your admin the incident id {incident}.",
            )

    async def log_item(
        self, interaction: discord.Interaction[Any], kind: Kind, options: Mapping[str, str | None]
    ) -> None:
        """``/blocker`` & co.: submit the typed options as the kind's form, or open a modal."""
        key = await self._channel(interaction)
        if key is None:
            return
        user = str(interaction.user.id)
        typed = {k: v.strip() for k, v in options.items() if v and v.strip()}
        form_reply = await self.core.handle(Request(key, user, command=kind.value, text=""))
        form = form_reply.form
        if form is None:
            await self._deliver(interaction, form_reply, edit=False, deferred=None)
            return
        self._remember_form(form)
        missing = [
            f for f in form.fields if f.required and f.default is None and f.name not in typed
        ]
        if missing:
            token = self._pending.put(Pending(key, user, form, typed)) if typed else None
            spec = dr.modal_spec(form, dr.form_custom_id(form.form_id, token), given=typed)
            await interaction.response.send_modal(build_modal(spec))
            return
        request = Request(key, user, action_id=form.form_id, values=typed)
        pending = Pending(key, user, form, typed)
        await self._answer(
            interaction, request, edit=False, public=True, form=form, pending=pending
        )

    async def run_text(
        self, interaction: discord.Interaction[Any], command: str, text: str
    ) -> None:
        """``/raid``, ``/standup`` and ``/digest`` subcommands: the core's text grammar."""
        key = await self._channel(interaction)
        if key is None:
            return
        request = Request(
            key,
            str(interaction.user.id),
            command=command,
            text=text,
            source_url=self._source_url(interaction),
        )
        await self._answer(
            interaction, request, edit=False, public=_guess_public(command, text), origin=request
        )

    async def run_action(
        self, interaction: discord.Interaction[Any], action_id: str, values: Mapping[str, str]
    ) -> None:
        """A subcommand that maps onto an action (``/raid decide``): a new message."""
        key = await self._channel(interaction)
        if key is None:
            return
        request = Request(key, str(interaction.user.id), action_id=action_id, values=values)
        await self._answer(interaction, request, edit=False, public=True)

    async def autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """This channel's refs matching what was typed, open items first."""
        key = _channel_key(interaction)
        if key is None:
            return []
        try:
            suggestions = await asyncio.wait_for(
                self.core.autocomplete(key, current, limit=dr.MAX_AUTOCOMPLETE),
                timeout=self.autocomplete_timeout,
            )
        except TimeoutError:
            return []
        return [
            app_commands.Choice(name=dr.choice_name(s.label), value=s.ref)
            for s in suggestions[: dr.MAX_AUTOCOMPLETE]
        ]

    async def on_action(
        self,
        interaction: discord.Interaction[Any],
        action_id: str,
        values: Mapping[str, str] | None = None,
    ) -> None:
        """A button or select on a message: run its action, or open the form it needs."""
        key = await self._channel(interaction)
        if key is None:
            return
        user = str(interaction.user.id)
        form = None if values is not None else self._action_form(action_id)
        if form is not None:
            if any(f.required for f in form.fields):
                refusal = await self._probe(Request(key, user, action_id=action_id))
                if refusal is not None:
                    await self._deliver(interaction, refusal, edit=False, deferred=None)
                    return
            spec = dr.modal_spec(form, dr.form_custom_id(form.form_id))
            await interaction.response.send_modal(build_modal(spec))
            return
        request = Request(key, user, action_id=action_id, values=dict(values or {}))
        await self._answer(interaction, request, edit=True, public=True)

    async def on_modal_submit(
        self,
        interaction: discord.Interaction[Any],
        form_id: str,
        token: str | None,
        data: Mapping[str, Any],
    ) -> None:
        key = await self._channel(interaction)
        if key is None:
            return
        user = str(interaction.user.id)
        entered = dr.modal_values(data.get("components") or [])
        pending = self._pending.get(token, key, user)
        typed = dict(pending.typed) if pending else {}
        form = pending.form if pending else await self._form(form_id, key, user)
        # A form opened from an item's button edits that message; a new item is a new message.
        edit = interaction.message is not None and not form_id.startswith("new:")
        request = Request(key, user, action_id=form_id, values={**typed, **entered})
        retry = Pending(key, user, form, typed, entered) if form is not None else None
        ok = await self._answer(
            interaction, request, edit=edit, public=True, form=form, pending=retry
        )
        if ok:
            self._pending.drop(token)

    async def on_fix(self, interaction: discord.Interaction[Any], token: str) -> None:
        """ "Fix it" on a refused form: the modal again, filled with what was typed."""
        key = await self._channel(interaction)
        if key is None:
            return
        pending = self._pending.get(token, key, str(interaction.user.id))
        if pending is None:
            await _send_plain(
                interaction, "That form has expired; run the command again to start over."
            )
            return
        given = [k for k in pending.typed if k not in pending.errors]
        values = {**pending.typed, **pending.entered}
        spec = dr.modal_spec(
            pending.form,
            dr.form_custom_id(pending.form.form_id, token),
            given=given,
            values=values,
            prefer=pending.errors,
        )
        await interaction.response.send_modal(build_modal(spec))

    async def on_page(
        self, interaction: discord.Interaction[Any], page: int, command: str, text: str
    ) -> None:
        key = await self._channel(interaction)
        if key is None:
            return
        words = text.split()
        read_only = command == "help" or (
            command == "raid"
            and (not words or words[0] in _READ_ONLY_RAID)
            and not (words and words[0] == "settings" and len(words) > 1)
        )
        if not read_only:
            await _send_plain(interaction, "That button does nothing.")
            return
        request = Request(key, str(interaction.user.id), command=command, text=text)
        await self._answer(interaction, request, edit=True, public=False, origin=request, page=page)

    # -- interactions: answering --------------------------------------------------------------

    async def _channel(self, interaction: discord.Interaction[Any]) -> ChannelKey | None:
        key = _channel_key(interaction)
        if key is None:
            await _send_plain(
                interaction,
                "raidline works in server channels: use it in a channel of your server.",
            )
        return key

    def _source_url(self, interaction: discord.Interaction[Any]) -> str | None:
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and interaction.guild_id is not None:
            return _CHANNEL_URL.format(guild=interaction.guild_id, channel=channel.id)
        return None

    def _remember_form(self, form: Form) -> None:
        self._forms[form.form_id] = form
        self._forms.move_to_end(form.form_id)
        while len(self._forms) > 2000:
            self._forms.popitem(last=False)

    def _remember_forms(self, reply: Reply) -> None:
        for action, _ in dr.collect_actions(reply):
            if action.form is not None:
                self._remember_form(action.form)

    def _action_form(self, action_id: str) -> Form | None:
        return self._forms.get(action_id) or rebuild_action_form(action_id)

    async def _form(self, form_id: str, key: ChannelKey, user: str) -> Form | None:
        """The form behind a modal's custom id, also when this process never showed it."""
        form = self._action_form(form_id)
        verb, _, kind = form_id.partition(":")
        if form is None and verb == "new" and kind in {k.value for k in Kind}:
            form = (await self.core.handle(Request(key, user, command=kind, text=""))).form
            if form is not None:
                self._remember_form(form)
        return form

    async def _probe(self, request: Request) -> Reply | None:
        """Before opening a form: the core's refusal if the click is not allowed at all.

        The request carries no values, so the core stops at a missing field (nothing saved)
        unless the rules refuse first (e.g. rejecting a change request one does not approve).
        """
        try:
            reply = await asyncio.wait_for(self.core.handle(request), timeout=self.probe_timeout)
        except TimeoutError:
            return None
        if reply.tone is Tone.ERROR and not reply.field_errors:
            return reply
        return None

    async def _answer(
        self,
        interaction: discord.Interaction[Any],
        request: Request,
        *,
        edit: bool,
        public: bool,
        origin: Request | None = None,
        form: Form | None = None,
        pending: Pending | None = None,
        page: int = 0,
    ) -> bool:
        """Ask the core and answer; defer first when the core is slow. True when not refused."""
        work = asyncio.ensure_future(self.core.handle(request))
        done, _ = await asyncio.wait({work}, timeout=self.defer_after)
        deferred: str | None = None
        if not done:
            if edit:
                await interaction.response.defer()
                deferred = "update"
            else:
                await interaction.response.defer(thinking=True, ephemeral=not public)
                deferred = "public" if public else "private"
        reply = await work
        if reply.form is not None and deferred is None and not reply.field_errors:
            self._remember_form(reply.form)
            spec = dr.modal_spec(reply.form, dr.form_custom_id(reply.form.form_id))
            await interaction.response.send_modal(build_modal(spec))
            return True
        extra: list[dr.ComponentSpec] = []
        if reply.field_errors and pending is not None:
            pending.errors = tuple(reply.field_errors)
            token = self._pending.put(pending)
            extra.append(
                dr.ButtonSpec("Fix it", dr.fix_custom_id(token), discord.ButtonStyle.primary)
            )
        origin_pair = (origin.command, origin.text) if origin is not None else None
        await self._deliver(
            interaction,
            reply,
            edit=edit,
            deferred=deferred,
            origin=origin_pair,
            form=form,
            extra=extra,
            page=page,
        )
        return not dr.is_refusal(reply)

    async def _deliver(
        self,
        interaction: discord.Interaction[Any],
        reply: Reply,
        *,
        edit: bool,
        deferred: str | None,
        origin: tuple[str, str] | None = None,
        form: Form | None = None,
        extra: Sequence[dr.ComponentSpec] = (),
        page: int = 0,
    ) -> None:
        self._remember_forms(reply)
        rendered = dr.render(reply, page=page, origin=origin, form=form, extra=extra)
        message = interaction.message
        in_place = (
            edit
            and not dr.is_refusal(reply)
            and (
                reply.visibility is Visibility.CHANNEL
                or (message is not None and message.flags.ephemeral)
            )
        )
        mentions = (
            discord.AllowedMentions.none()
            if rendered.ephemeral
            else discord.AllowedMentions(everyone=False, roles=False, users=True)
        )
        view = build_view(rendered.rows)
        files = rendered.discord_files()
        content = rendered.content or None
        if in_place:
            if deferred is None:
                await interaction.response.edit_message(
                    content=content,
                    embeds=rendered.embeds,
                    view=view,
                    attachments=files if files else MISSING,
                    allowed_mentions=mentions,
                )
            else:
                await interaction.edit_original_response(
                    content=content,
                    embeds=rendered.embeds,
                    view=view,
                    attachments=files if files else MISSING,
                    allowed_mentions=mentions,
                )
            return
        if deferred is None:
            await interaction.response.send_message(
                content=content,
                embeds=rendered.embeds,
                view=view if view is not None else MISSING,
                files=files if files else MISSING,
                ephemeral=rendered.ephemeral,
                allowed_mentions=mentions,
            )
        elif deferred in ("public", "private") and (deferred == "private") == rendered.ephemeral:
            await interaction.edit_original_response(
                content=content,
                embeds=rendered.embeds,
                view=view,
                attachments=files if files else MISSING,
                allowed_mentions=mentions,
            )
        else:
            if deferred == "public":
                # Deferred in the channel but the answer is private (a refusal): take the
                # "thinking…" message away and answer privately.
                with contextlib.suppress(discord.HTTPException):
                    await interaction.delete_original_response()
            elif deferred == "private":
                await interaction.edit_original_response(content="Posted in the channel.")
            await interaction.followup.send(
                content=content or MISSING,
                embeds=rendered.embeds,
                view=view if view is not None else MISSING,
                files=files if files else MISSING,
                ephemeral=rendered.ephemeral,
                allowed_mentions=mentions,
            )
        if not rendered.ephemeral:
            # A public reply longer than one message: the rest follows, nothing is dropped.
            for n in range(1, rendered.pages):
                later = dr.render_all(reply)[n]
                await interaction.followup.send(
                    content=later.content or MISSING,
                    embeds=later.embeds,
                    allowed_mentions=mentions,
                )

    # -- messages the bot sends on its own ----------------------------------------------------

    async def send(self, message: Outgoing) -> str | None:
        """Post to a channel (or a DM, or under a message's thread); returns the message id.

        discord.py waits out 429s itself; any other failure raises so the caller can retry.
        """
        client = self.client
        if client is None:
            raise RuntimeError("the Discord adapter is not started")
        target: discord.abc.Messageable
        if message.to_user:
            user = await client.fetch_user(int(message.to_user))
            target = await user.create_dm()
        elif message.thread:
            target = await self._thread(client, message)
        else:
            target = client.get_partial_messageable(
                int(message.channel.channel), guild_id=_int(message.channel.workspace)
            )
        first: str | None = None
        mentions = discord.AllowedMentions(everyone=False, roles=False, users=True)
        for n, part in enumerate(dr.render_all(message.reply)):
            view = build_view(part.rows)
            files = part.discord_files()
            # Without a run key, a random nonce, as discord.py would make up itself.
            nonce: str | int = _nonce(message.key, n) or secrets.randbits(64)
            sent = await target.send(
                content=part.content or None,
                embeds=part.embeds,
                view=view if view is not None else MISSING,
                files=files if files else MISSING,
                allowed_mentions=mentions,
                nonce=nonce,
            )
            self._remember_forms(message.reply)
            first = first or str(sent.id)
        return first

    async def _thread(self, client: RaidlineClient, message: Outgoing) -> discord.abc.Messageable:
        """The thread under message ``message.thread``: the existing one, or a new one."""
        thread_id = int(message.thread or 0)
        existing = client.get_channel(thread_id)
        if isinstance(existing, discord.Thread):
            return existing
        try:
            channel = await client.fetch_channel(thread_id)
        except discord.NotFound:
            channel = None
        if isinstance(channel, discord.Thread):
            return channel
        parent = client.get_partial_messageable(
            int(message.channel.channel), guild_id=_int(message.channel.workspace)
        )
        name = dr.clip(
            message.reply.text.splitlines()[0] if message.reply.text else "raidline", 100
        )
        return await parent.get_partial_message(thread_id).create_thread(name=name)


# --- helpers ---------------------------------------------------------------------------------


def _nonce(key: str | None, part: int) -> str | None:
    """A message nonce for one part of a scheduled message (at most 25 characters).

    discord.py sends it with ``enforce_nonce``, so Discord drops a second message with the same
    nonce sent within a few minutes: a run re-sent after a crash is posted once.
    """
    if key is None:
        return None
    return hashlib.sha256(f"{key}#{part}".encode()).hexdigest()[:25]


def _channel_key(interaction: discord.Interaction[Any]) -> ChannelKey | None:
    """The interaction's own guild and channel (a thread's parent); None outside a guild."""
    if interaction.guild_id is None:
        return None
    channel = interaction.channel
    channel_id: int | None
    if isinstance(channel, discord.Thread):
        channel_id = channel.parent_id
    else:
        channel_id = interaction.channel_id
    if channel_id is None:
        return None
    return ChannelKey("discord", str(interaction.guild_id), str(channel_id))


def _guess_public(command: str, text: str) -> bool:
    """Whether the answer will most likely be seen by the channel (to defer the right way)."""
    words = text.split()
    first = words[0].lower() if words else ""
    if command == "raid":
        if first == "settings":
            return len(words) > 1
        return first in _PUBLIC_RAID
    if command in ("standup", "digest"):
        return bool(words)
    return True


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _gateway_failure(exc: BaseException | None) -> str:
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return "Discord refused a privileged intent; raidline needs none, so this is a bug"
    if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
        return "the Discord gateway refused DISCORD_BOT_TOKEN (close code 4004); check the token"
    if exc is None:
        return "the Discord connection ended"
    return f"the Discord gateway connection failed ({type(exc).__name__}: {_one_line(exc)})"


def invite_url(application_id: int) -> str:
    """The invite URL: the bot and its slash commands, with the permissions raidline uses."""
    return discord.utils.oauth_url(
        application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands")
    )


__all__ = [
    "INTENTS",
    "PERMISSIONS",
    "DiscordAdapter",
    "DiscordStartError",
    "RaidlineClient",
    "invite_url",
    "schema_hash",
]
