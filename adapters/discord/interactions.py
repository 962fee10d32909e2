"""Interactions in, answers out: a slash command, click or modal becomes a core request.

- Every interaction is answered within Discord's 3 seconds: when the core is slow the answer
  is deferred and sent when ready.
- Guilds are isolated: the channel of every request is the interaction's own guild and
  channel (a thread's parent), whatever a custom id or an option says. The one exception is a
  direct message, which has no guild: there a button's custom id names its guild and channel,
  and the click is taken only from a current member of that guild who can see that channel
  (:meth:`Interactions.where`).
- One edge error handler: :func:`answer_error`, used by the command tree's ``on_error`` and by
  :meth:`Interactions.guarded`, through which every click and modal submission goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from discord.utils import MISSING

from adapters.discord import render as dr
from adapters.discord.components import build_modal, build_view
from bot.commands.registry import COMMANDS, Command
from bot.dispatcher import Core
from bot.domain.limits import MAX_IMPORT_BYTES
from bot.domain.model import ChannelKey
from bot.errors import apology, report_incident
from bot.messages import Form, Reply, Request, Tone, Visibility
from bot.text.sheets import too_big

log = logging.getLogger("raidline.discord")

#: Commands that only read: the only ones a page button may run again.
_READ_ONLY_RAID = frozenset({"list", "show", "history", "help", "settings", "export"})
_READ_ONLY_SUBCOMMANDS = frozenset({"list", "show", "history", "help", "settings show", "export"})

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


class PendingForms:
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


# --- the edge: errors and plain answers ------------------------------------------------------

GUILD_ONLY = "raidline works in server channels: use it in a channel of your server."
#: Answers to a component that names no channel, or one that may not be used (nothing changes).
NO_PLACE = (
    "That button doesn't say which server channel it is about, so it only works there; "
    "nothing was changed. Use raidline's commands in the channel."
)
OTHER_CHANNEL = "That button belongs to another channel; nothing was changed."
NOT_IN_GUILD = "That button belongs to a server raidline is not in; nothing was changed."
NO_SUCH_CHANNEL = "That button names a channel that is not in its server; nothing was changed."
NOT_A_MEMBER = "Only members of that button's server can use it; nothing was changed."
CANNOT_SEE = "You can't see the channel that button is about; nothing was changed."
CANNOT_CHECK = (
    "I couldn't check with Discord that you are a member of that button's server; "
    "nothing was changed. Please try again."
)


async def send_plain(interaction: discord.Interaction[Any], text: str) -> None:
    """A private line of text, as the answer or as a follow-up when already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not answer a Discord interaction", exc_info=True)


async def answer_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """The one edge error handler: call it while handling ``error`` (in an ``except``).

    A refused check needs no answer; an option discord.py could not convert is the user's to
    fix; anything else is logged with an incident id and answered with the apology.
    """
    if isinstance(error, app_commands.CheckFailure):
        return
    if isinstance(error, app_commands.TransformerError):
        text = f"I couldn't read `{error.value}` for that option; please pick a valid value."
    else:
        text = apology(report_incident(log, "handling a Discord interaction"))
    await send_plain(interaction, text)


class Tree(app_commands.CommandTree[Any]):
    """The command tree: guild channels only, and errors through :func:`answer_error`."""

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild_id is None:
            if interaction.type is discord.InteractionType.application_command:
                await interaction.response.send_message(GUILD_ONLY, ephemeral=True)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await answer_error(interaction, error)


def _form_values(spec: Command, options: Mapping[str, str]) -> dict[str, str]:
    """A logging command's options as its form's values: each fills the field the table names
    (``approver`` and ``approver_2`` both fill ``approvers``)."""
    values: dict[str, str] = {}
    for option in spec.options:
        value = options.get(option.name, "").strip()
        if value:
            name = option.field or option.name
            joined = f"{values[name]} {value}" if name in values else value
            values[name] = " ".join(dict.fromkeys(joined.split())) if name in values else value
    return values


def is_admin(interaction: discord.Interaction[Any]) -> bool:
    """Whether the member may manage the server (Manage Server, or Administrator, or the
    owner), from the permissions Discord resolved into the interaction itself: no cache."""
    if interaction.guild_id is None:
        return False
    permissions = interaction.permissions
    return bool(permissions.manage_guild or permissions.administrator)


def channel_key(interaction: discord.Interaction[Any]) -> ChannelKey | None:
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


@dataclass(frozen=True)
class Where:
    """Who acts on which channel, checked (see :meth:`Interactions.where`).

    ``direct``: the interaction is in a direct message and ``key`` is the place its component
    carried; whatever the answer shows carries that place again, so its buttons work there too.
    """

    key: ChannelKey
    user: str
    admin: bool
    direct: bool = False

    @property
    def place(self) -> ChannelKey | None:
        return self.key if self.direct else None


def _is_command(interaction: discord.Interaction[Any]) -> bool:
    return interaction.type in (
        discord.InteractionType.application_command,
        discord.InteractionType.autocomplete,
    )


async def _member_check(
    interaction: discord.Interaction[Any], place: ChannelKey
) -> tuple[str | None, bool]:
    """Whether the person clicking in a direct message may act on ``place``: (why not, or
    None; whether they may manage that server).

    The guild must be one the bot is in (its cache, or Discord's API when another process runs
    that guild's shard), the channel one of that guild's, the person a member of it right now
    (asked of Discord's API: raidline keeps no member list) who can see the channel.
    """
    client = interaction.client
    guild_id, channel_id = int(place.workspace), int(place.channel)
    guild = client.get_guild(guild_id)
    channel: Any
    if guild is not None:
        channel = guild.get_channel(channel_id)
    else:
        try:
            guild = await client.fetch_guild(guild_id, with_counts=False)
        except (discord.NotFound, discord.Forbidden):
            return NOT_IN_GUILD, False
        try:
            channel = await guild.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden, discord.InvalidData):
            channel = None
    if not isinstance(channel, discord.abc.GuildChannel) or channel.guild.id != guild_id:
        return NO_SUCH_CHANNEL, False
    try:
        member = await guild.fetch_member(interaction.user.id)
    except discord.NotFound:
        return NOT_A_MEMBER, False
    if not channel.permissions_for(member).view_channel:
        return CANNOT_SEE, False
    permissions = member.guild_permissions
    return None, bool(permissions.manage_guild or permissions.administrator)


def _channel_name(interaction: discord.Interaction[Any]) -> str | None:
    """The name of the channel a command was typed in (a thread's own name); None in DMs."""
    name = getattr(interaction.channel, "name", None)
    return name if isinstance(name, str) and name else None


def _guess_public(command: str, subcommand: str, options: Mapping[str, str] | None = None) -> bool:
    """Whether the answer will most likely be seen by the channel (to defer the right way).
    An import's dry run is private; what it imported (``apply: True``) the channel sees."""
    if command == "raid" and subcommand == "import":
        return (options or {}).get("apply") == "true"
    if command == "raid":
        if subcommand.startswith("settings"):
            return subcommand != "settings show"
        return subcommand in _PUBLIC_RAID
    if command == "standup":
        return subcommand != "status"
    if command == "digest":
        return subcommand != "now"
    return True


# --- answering -------------------------------------------------------------------------------


async def deliver(
    interaction: discord.Interaction[Any],
    reply: Reply,
    *,
    edit: bool,
    deferred: str | None,
    origin: dr.Origin | None = None,
    form: Form | None = None,
    extra: Sequence[dr.ComponentSpec] = (),
    page: int = 0,
    place: ChannelKey | None = None,
) -> None:
    """Send a reply as the interaction's answer: in place, new, or after a deferral.

    ``place``: the channel the reply's components act on when it is answered outside it (a
    direct message), so its buttons keep working there."""
    rendered = dr.render(reply, page=page, origin=origin, form=form, extra=extra, place=place)
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


class Interactions:
    """The entry points of commands, clicks and modals; what the client routes to."""

    #: Seconds the core may take before an interaction is deferred (Discord allows 3).
    defer_after = 1.5
    #: Seconds a click that opens a form may spend asking the core whether it is allowed.
    probe_timeout = 1.0
    #: Seconds autocomplete may take before answering with no suggestions.
    autocomplete_timeout = 2.0
    #: Seconds a click in a direct message may spend asking Discord whether the clicker is a
    #: member of the guild its button names (it is answered within Discord's 3 seconds).
    member_timeout = 1.0

    def __init__(self, core: Core) -> None:
        self.core = core
        self._pending = PendingForms()
        #: forms the core opened with a reply (a standup's answer form), by form id
        self._opened: OrderedDict[str, Form] = OrderedDict()

    async def guarded(self, interaction: discord.Interaction[Any], work: Awaitable[None]) -> None:
        """Run a handler; an unexpected error gets an apology with an incident id."""
        try:
            await work
        except Exception as exc:
            await answer_error(interaction, exc)

    async def run_command(
        self,
        interaction: discord.Interaction[Any],
        command: str,
        subcommand: str | None,
        options: Mapping[str, str],
        files: Sequence[discord.Attachment] = (),
    ) -> None:
        """A slash command with its typed options (see :mod:`adapters.discord.commands`);
        attached ``files`` are downloaded and handed over as the request's attachments.

        Discord allows 3 seconds for an interaction's first answer and a download may take
        longer, so a command with files is deferred ("thinking…") before they are fetched."""
        where = await self.where(interaction)
        if where is None:
            return
        for file in files:
            if file.size > MAX_IMPORT_BYTES:
                await send_plain(interaction, too_big(file.filename))
                return
        public = _guess_public(command, subcommand or "", options)
        deferred: str | None = None
        attachments: dict[str, bytes] = {}
        if files:
            await interaction.response.defer(thinking=True, ephemeral=not public)
            deferred = "public" if public else "private"
            for file in files:
                try:
                    attachments[file.filename] = await file.read()
                except discord.HTTPException:
                    log.warning("could not download a Discord attachment", exc_info=True)
                    refusal = Reply(
                        text=f"I couldn't download {file.filename} from Discord, so nothing "
                        "was read. Please attach it again and send the command once more.",
                        tone=Tone.ERROR,
                    )
                    await deliver(interaction, refusal, edit=False, deferred=deferred)
                    return
        spec = COMMANDS[command]
        if subcommand is None and spec.form is not None:
            await self._log(interaction, where, spec, spec.form, options)
            return
        request = Request(
            where.key,
            where.user,
            command=command,
            subcommand=subcommand,
            options=options,
            source_url=self._source_url(interaction),
            user_is_admin=where.admin,
            attachments=attachments,
            channel_name=_channel_name(interaction),
        )
        origin = dr.TypedOrigin(command, subcommand or "", options)
        await self._answer(
            interaction,
            where,
            request,
            edit=False,
            public=public,
            origin=origin,
            deferred=deferred,
        )

    async def _log(
        self,
        interaction: discord.Interaction[Any],
        where: Where,
        spec: Command,
        form: Form,
        options: Mapping[str, str],
    ) -> None:
        """``/blocker`` & co.: the typed options, or the kind's form for what is missing."""
        key, user = where.key, where.user
        given = _form_values(spec, options)
        missing = [
            f for f in form.fields if f.required and f.default is None and f.name not in given
        ]
        if missing:
            token = self._pending.put(Pending(key, user, form, given)) if given else None
            custom_id = dr.form_custom_id(form.form_id, token, where.place)
            modal = dr.modal_spec(form, custom_id, given=given)
            await interaction.response.send_modal(build_modal(modal))
            return
        request = Request(key, user, command=spec.name, options=options, user_is_admin=where.admin)
        pending = Pending(key, user, form, given)
        await self._answer(
            interaction, where, request, edit=False, public=True, form=form, pending=pending
        )

    async def autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """This channel's refs matching what was typed, open items first."""
        key = channel_key(interaction)
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
        *,
        place: ChannelKey | None = None,
    ) -> None:
        """A button or select on a message: run its action, or open the form it needs."""
        where = await self.where(interaction, place)
        if where is None:
            return
        form = None if values is not None else self.core.form_for(action_id)
        if form is not None:
            if any(f.required for f in form.fields):
                probe = Request(
                    where.key, where.user, action_id=action_id, user_is_admin=where.admin
                )
                refusal = await self._probe(probe)
                if refusal is not None:
                    await deliver(interaction, refusal, edit=False, deferred=None)
                    return
            custom_id = dr.form_custom_id(form.form_id, place=where.place)
            await interaction.response.send_modal(build_modal(dr.modal_spec(form, custom_id)))
            return
        request = Request(
            where.key,
            where.user,
            action_id=action_id,
            values=dict(values or {}),
            user_is_admin=where.admin,
        )
        await self._answer(interaction, where, request, edit=True, public=True)

    async def on_modal_submit(
        self,
        interaction: discord.Interaction[Any],
        form_id: str,
        token: str | None,
        data: Mapping[str, Any],
        *,
        place: ChannelKey | None = None,
    ) -> None:
        where = await self.where(interaction, place)
        if where is None:
            return
        key, user = where.key, where.user
        entered = dr.modal_values(data.get("components") or [])
        pending = self._pending.get(token, key, user)
        typed = dict(pending.typed) if pending else {}
        form = pending.form if pending else self._form(form_id)
        # A form opened from an item's button edits that message; a new item is a new message.
        edit = interaction.message is not None and not form_id.startswith("new:")
        request = Request(
            key,
            user,
            action_id=form_id,
            values={**typed, **entered},
            user_is_admin=where.admin,
        )
        retry = Pending(key, user, form, typed, entered) if form is not None else None
        ok = await self._answer(
            interaction, where, request, edit=edit, public=True, form=form, pending=retry
        )
        if ok:
            self._pending.drop(token)

    async def on_fix(
        self, interaction: discord.Interaction[Any], token: str, *, place: ChannelKey | None = None
    ) -> None:
        """ "Fix it" on a refused form: the modal again, filled with what was typed."""
        where = await self.where(interaction, place)
        if where is None:
            return
        pending = self._pending.get(token, where.key, where.user)
        if pending is None:
            await send_plain(
                interaction, "That form has expired; run the command again to start over."
            )
            return
        given = [k for k in pending.typed if k not in pending.errors]
        values = {**pending.typed, **pending.entered}
        spec = dr.modal_spec(
            pending.form,
            dr.form_custom_id(pending.form.form_id, token, where.place),
            given=given,
            values=values,
            prefer=pending.errors,
        )
        await interaction.response.send_modal(build_modal(spec))

    async def on_page(
        self,
        interaction: discord.Interaction[Any],
        page: int,
        origin: dr.Origin,
        *,
        place: ChannelKey | None = None,
    ) -> None:
        """Another page of a private reply: its (read-only) command again."""
        where = await self.where(interaction, place)
        if where is None:
            return
        key, user = where.key, where.user
        if isinstance(origin, dr.TypedOrigin):
            read_only = origin.command == "raid" and origin.subcommand in _READ_ONLY_SUBCOMMANDS
            request = Request(
                key,
                user,
                command=origin.command,
                subcommand=origin.subcommand,
                options=origin.options,
            )
        else:
            # A button on a message sent for a text command (before slash commands were typed).
            command, text = origin
            words = text.split()
            read_only = command == "help" or (
                command == "raid"
                and (not words or words[0] in _READ_ONLY_RAID)
                and not (words and words[0] == "settings" and len(words) > 1)
            )
            request = Request(key, user, command=command, text=text)
        if not read_only:
            await send_plain(interaction, "That button does nothing.")
            return
        await self._answer(
            interaction, where, request, edit=True, public=False, origin=origin, page=page
        )

    # -- who acts where -----------------------------------------------------------------------

    async def where(
        self, interaction: discord.Interaction[Any], place: ChannelKey | None = None
    ) -> Where | None:
        """Who acts on which channel; None (and the person told why) when they may not.

        In a server the channel is the interaction's own; a component that carries a place
        must carry that one. In a direct message the place the component carries names the
        channel, taken only from a member of its guild who can see it.
        """
        user = str(interaction.user.id)
        if interaction.guild_id is not None:
            key = channel_key(interaction)
            if key is None:
                await send_plain(interaction, GUILD_ONLY)
                return None
            if place is not None and place != key:
                await send_plain(interaction, OTHER_CHANNEL)
                return None
            return Where(key, user, is_admin(interaction))
        if place is None:
            await send_plain(interaction, GUILD_ONLY if _is_command(interaction) else NO_PLACE)
            return None
        try:
            async with asyncio.timeout(self.member_timeout):
                refusal, admin = await _member_check(interaction, place)
        except (TimeoutError, discord.HTTPException):
            log.warning("could not check a direct-message click with Discord", exc_info=True)
            refusal, admin = CANNOT_CHECK, False
        if refusal is not None:
            log.info("refused a direct-message click for %s: %s", place, refusal)
            await send_plain(interaction, refusal)
            return None
        return Where(place, user, admin, direct=True)

    def _source_url(self, interaction: discord.Interaction[Any]) -> str | None:
        channel = interaction.channel
        if isinstance(channel, discord.Thread) and interaction.guild_id is not None:
            return _CHANNEL_URL.format(guild=interaction.guild_id, channel=channel.id)
        return None

    def _form(self, form_id: str) -> Form | None:
        """The form behind a modal's custom id, also when this process never showed it."""
        return self._opened.get(form_id) or self.core.form_for(form_id)

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
        where: Where,
        request: Request,
        *,
        edit: bool,
        public: bool,
        origin: dr.Origin | None = None,
        form: Form | None = None,
        pending: Pending | None = None,
        page: int = 0,
        deferred: str | None = None,
    ) -> bool:
        """Ask the core and answer; defer first when the core is slow (unless ``deferred``
        says how the interaction already was). True when not refused."""
        work = asyncio.ensure_future(self.core.handle(request))
        if deferred is None:
            done, _ = await asyncio.wait({work}, timeout=self.defer_after)
            if not done:
                if edit:
                    await interaction.response.defer()
                    deferred = "update"
                else:
                    await interaction.response.defer(thinking=True, ephemeral=not public)
                    deferred = "public" if public else "private"
        reply = await work
        if reply.form is not None and deferred is None and not reply.field_errors:
            self._opened[reply.form.form_id] = reply.form
            while len(self._opened) > 2000:
                self._opened.popitem(last=False)
            custom_id = dr.form_custom_id(reply.form.form_id, place=where.place)
            spec = dr.modal_spec(reply.form, custom_id)
            await interaction.response.send_modal(build_modal(spec))
            return True
        extra: list[dr.ComponentSpec] = []
        if reply.field_errors and pending is not None:
            pending.errors = tuple(reply.field_errors)
            token = self._pending.put(pending)
            extra.append(
                dr.ButtonSpec("Fix it", dr.fix_custom_id(token), discord.ButtonStyle.primary)
            )
        await deliver(
            interaction,
            reply,
            edit=edit,
            deferred=deferred,
            origin=origin,
            form=form,
            extra=extra,
            page=page,
            place=where.place,
        )
        return not dr.is_refusal(reply)
