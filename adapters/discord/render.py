"""Reply -> Discord message: embeds, component specs, files, modals; inside Discord's limits.

Nothing here talks to Discord, so every rule is unit-testable without a connection:

- a card is one embed (title ``B-3 · title``, colour by state, the item's date as Discord
  timestamp markup so every reader sees their own local time), a section is one or more
  embeds, ``Reply.text`` is the message content;
- buttons and user selects are described by :class:`ButtonSpec` / :class:`UserSelectSpec`
  whose ``custom_id`` carries the core's ``action_id`` (``rl:a:resolve:B-3``), so a click on
  an old message still routes after a restart; the adapter turns the specs into
  ``discord.ui.DynamicItem`` objects;
- long replies are cut into pages that each fit Discord's limits (2,000 characters of
  content, 10 embeds and 6,000 characters of embeds per message, 25 fields per embed, 5 action
  rows); private replies page with buttons, public ones are sent page after page;
- a :class:`~bot.messages.Form` becomes a :class:`ModalSpec` of at most five inputs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from re import Match
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import discord

from bot.domain.kinds import KINDS
from bot.domain.model import ChannelKey
from bot.messages import (
    Action,
    Card,
    File,
    Form,
    FormField,
    InputKind,
    Reply,
    Section,
    Tone,
    Visibility,
)
from bot.messages import (
    Field as CardField,
)

#: The platform name of Discord's channel keys.
PLATFORM = "discord"

# --- Discord's limits ------------------------------------------------------------------------

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_BUTTON_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_SELECT_PLACEHOLDER = 150
MAX_SELECT_VALUES = 25
MAX_SELECT_OPTIONS = 25
MAX_MODAL_INPUTS = 5
MAX_MODAL_TITLE = 45
MAX_LABEL_TEXT = 45
MAX_LABEL_DESCRIPTION = 100
MAX_INPUT_PLACEHOLDER = 100
MAX_INPUT_VALUE = 4000
MAX_AUTOCOMPLETE = 25
MAX_CHOICE_NAME = 100

#: Leave room for the page footer inside the 6,000 characters of a message's embeds.
_PAGE_BUDGET = MAX_EMBED_TOTAL - 200
#: One card's embed stays well inside a message's 6,000 characters.
_CARD_BUDGET = 5000
#: A section's lines go into descriptions of at most this size.
_CHUNK = 2800

# --- colours ---------------------------------------------------------------------------------

BLURPLE = 0x5865F2
GREEN = 0x2ECC71
RED = 0xE74C3C
ORANGE = 0xE67E22
GOLD = 0xF1C40F
BLUE = 0x3498DB
GREY = 0x95A5A6
DARK_RED = 0x992D22

STATUS_COLOURS: Mapping[str, int] = {
    "open": ORANGE,
    "needs a decision": GOLD,
    "pending": GOLD,
    "proposed": GOLD,
    "approved": BLUE,
    "resolved": GREEN,
    "closed": GREEN,
    "decided": GREEN,
    "implemented": GREEN,
    "occurred": DARK_RED,
    "rejected": GREY,
    "withdrawn": GREY,
    "superseded": GREY,
}
TONE_COLOURS: Mapping[Tone, int] = {Tone.ERROR: RED, Tone.SUCCESS: GREEN, Tone.INFO: BLURPLE}

# --- custom ids ------------------------------------------------------------------------------
#
# Every component raidline sends has a custom id starting with ``rl``; the rest is everything
# needed to act on a click, so no state is kept between a message and its clicks (the "fix it"
# button of a refused form is the one in-memory exception).
#
# A component on a message outside its channel (a direct message: a nudge, a standup prompt)
# also carries its *place*, the guild and channel it acts on, right after ``rl``:
# ``rl@<guild>.<channel>:a:resolve:B-3`` with both ids in base 36 (13 characters at most for a
# 64-bit snowflake), so a placed id is at most 28 characters longer than the plain one. A click
# in a direct message has no guild of its own; the place says which, and the click is taken
# only from a member of that guild who can see that channel (see
# :meth:`adapters.discord.interactions.Interactions.where`). Ids without a place (every
# message sent before places existed, and every message in a server channel) act on the
# channel they are clicked in.

ACTION_PREFIX = "rl:a:"  # a button: rl:a:<action_id>
SELECT_PREFIX = "rl:u:"  # a user select: rl:u:<field>:<action_id>
PAGE_PREFIX = "rl:p:"  # a page button of a text command: rl:p:<page>:<command>:<text>
#: a page button of a slash command: rl:o:<page>:<command>:<subcommand>:<options, url-encoded>
OPTIONS_PAGE_PREFIX = "rl:o:"
FORM_PREFIX = "rl:f:"  # a modal: rl:f:<form_id>[|<token>]
FIX_PREFIX = "rl:x:"  # reopen a refused form with what was typed: rl:x:<token>

#: The optional place of a custom id: ``@<guild>.<channel>`` in base 36, after ``rl``.
PLACE_TEMPLATE = r"(?:@(?P<place_guild>[0-9a-z]{1,13})\.(?P<place_channel>[0-9a-z]{1,13}))?"
_MAX_SNOWFLAKE = 2**64 - 1

ACTION_TEMPLATE = rf"rl{PLACE_TEMPLATE}:a:(?P<action>.+)"
SELECT_TEMPLATE = rf"rl{PLACE_TEMPLATE}:u:(?P<field>[a-z_]+):(?P<action>.+)"
PAGE_TEMPLATE = rf"rl{PLACE_TEMPLATE}:p:(?P<page>\d+):(?P<command>[a-z]+):(?P<text>.*)"
OPTIONS_PAGE_TEMPLATE = (
    rf"rl{PLACE_TEMPLATE}:o:(?P<page>\d+):(?P<command>[a-z]+):(?P<subcommand>[a-z_ ]*)"
    r":(?P<options>.*)"
)
FIX_TEMPLATE = rf"rl{PLACE_TEMPLATE}:x:(?P<token>[A-Za-z0-9_-]+)"
_FORM_RE = re.compile(rf"rl{PLACE_TEMPLATE}:f:(?P<form>[^|]+)(?:\|(?P<token>[A-Za-z0-9_-]+))?")
_PLACED_RE = re.compile(rf"rl{PLACE_TEMPLATE}(?P<rest>:.*)", re.DOTALL)

_DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS36[digit] + out
        if number == 0:
            return out


def _snowflake(text: str) -> int | None:
    return int(text) if text.isdecimal() and 0 < int(text) <= _MAX_SNOWFLAKE else None


def place_code(place: ChannelKey) -> str | None:
    """``@<guild>.<channel>`` for a Discord channel; None for a key that is not one."""
    guild, channel = _snowflake(place.workspace), _snowflake(place.channel)
    if place.platform != PLATFORM or guild is None or channel is None:
        return None
    return f"@{_base36(guild)}.{_base36(channel)}"


def placed(custom_id: str, place: ChannelKey | None) -> str | None:
    """``custom_id`` carrying ``place`` (unchanged without one); None when it would not fit."""
    code = place_code(place) if place is not None else None
    if code is None or not custom_id.startswith("rl:"):
        return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None
    out = "rl" + code + custom_id[2:]
    return out if len(out) <= MAX_CUSTOM_ID else None


def place_of(match: Match[str]) -> ChannelKey | None:
    """The place a custom id (matched by one of the templates above) carries, if any."""
    guild, channel = match.group("place_guild"), match.group("place_channel")
    if guild is None or channel is None:
        return None
    return ChannelKey(PLATFORM, str(int(guild, 36)), str(int(channel, 36)))


def split_place(custom_id: str) -> tuple[ChannelKey | None, str]:
    """``rl@1a.2b:a:resolve:B-3`` -> (its place, ``rl:a:resolve:B-3``); others unchanged."""
    m = _PLACED_RE.fullmatch(custom_id)
    if m is None:
        return None, custom_id
    return place_of(m), "rl" + m.group("rest")


def action_custom_id(action_id: str) -> str | None:
    custom_id = ACTION_PREFIX + action_id
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def select_custom_id(field_name: str, action_id: str) -> str | None:
    custom_id = f"{SELECT_PREFIX}{field_name}:{action_id}"
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def page_custom_id(page: int, command: str, text: str) -> str | None:
    custom_id = f"{PAGE_PREFIX}{page}:{command}:{text}"
    if len(custom_id) > MAX_CUSTOM_ID or "\n" in text:
        return None
    return custom_id


@dataclass(frozen=True)
class TypedOrigin:
    """A slash command with its typed options, as the core received it."""

    command: str
    subcommand: str
    options: Mapping[str, str]


#: What produced a private reply, to run again for another of its pages: a text command
#: ``(command, text)``, or a slash command's typed options.
Origin = tuple[str, str] | TypedOrigin


def origin_page_custom_id(page: int, origin: Origin) -> str | None:
    if isinstance(origin, tuple):
        return page_custom_id(page, *origin)
    options = urlencode(origin.options, quote_via=quote)
    custom_id = f"{OPTIONS_PAGE_PREFIX}{page}:{origin.command}:{origin.subcommand}:{options}"
    return custom_id if len(custom_id) <= MAX_CUSTOM_ID else None


def parse_page_options(encoded: str) -> dict[str, str]:
    """The options of an ``rl:o:`` page button."""
    return dict(parse_qsl(encoded, keep_blank_values=True))


def form_custom_id(form_id: str, token: str | None = None, place: ChannelKey | None = None) -> str:
    """A modal's custom id; with ``place`` when it is opened outside its channel (a DM)."""
    custom_id = placed(FORM_PREFIX + form_id + (f"|{token}" if token else ""), place)
    if custom_id is None:
        raise ValueError(f"form id {form_id!r} is too long for a Discord custom id")
    return custom_id


@dataclass(frozen=True)
class FormId:
    """A modal's custom id, read: its form, its pending-form token, and its place."""

    form_id: str
    token: str | None = None
    place: ChannelKey | None = None


def parse_form_custom_id(custom_id: str) -> FormId | None:
    """``rl:f:new:risk|tok`` -> FormId("new:risk", "tok"); ``None`` for a custom id not ours."""
    m = _FORM_RE.fullmatch(custom_id)
    if not m:
        return None
    return FormId(m.group("form"), m.group("token"), place_of(m))


def fix_custom_id(token: str) -> str:
    return FIX_PREFIX + token


# --- text helpers ----------------------------------------------------------------------------

_SLACK_BOLD_RE = re.compile(r"(?<![\w*~`])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")


def discord_markdown(text: str) -> str:
    """The core writes Slack-style ``*bold*``; Discord reads one star as italics."""
    return _SLACK_BOLD_RE.sub(r"**\1**", text)


# What people type is shown as typed: only what Discord makes of a real mention (``<@123>``,
# ``<#123>``) and plain URLs stay live. Masked links ``[label](url)`` lose their link (the
# ``(`` is escaped, so Discord shows the brackets and the address as typed), ``@everyone`` and
# ``@here`` get a zero-width space after the ``@``, role pings ``<@&123>`` likewise (the
# adapter's ``allowed_mentions`` pings no one anyway; this keeps them from even looking live),
# and quotes and headings at the start of a line are escaped.
_MASKED_LINK_RE = re.compile(r"\]\s*\(")
_EVERYONE_RE = re.compile(r"@(everyone|here)", re.IGNORECASE)
_ROLE_RE = re.compile(r"<@&")
_LINE_MARKUP_RE = re.compile(r"^(\s*)(#{1,3}\s|-#\s|>)", re.MULTILINE)


def inert(text: str) -> str:
    """Text that mixes raidline's markup with people's words, with no link, ping or block
    markup coming from the words: ``[Approve](https://evil.example)`` shows as typed."""
    text = _MASKED_LINK_RE.sub(lambda m: m.group(0)[:-1] + "\\(", text)
    text = _EVERYONE_RE.sub("@\u200b\\1", text)
    text = _ROLE_RE.sub("<@\u200b&", text)
    return _LINE_MARKUP_RE.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def user_text(text: str) -> str:
    """What a person typed (a title, a field's value), every markdown character shown as typed;
    people mentioned ``<@123>`` stay mentions."""
    return inert(discord.utils.escape_markdown(text))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def timestamp(dt: datetime, style: str = "f") -> str:
    """Discord timestamp markup: every reader sees it in their own time zone."""
    return f"<t:{int(dt.timestamp())}:{style}>"


def when_markup(dt: datetime, *, overdue: bool = False) -> str:
    text = f"{timestamp(dt, 'f')} ({timestamp(dt, 'R')})"
    return text + (" — **OVERDUE**" if overdue else "")


# --- components ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonSpec:
    label: str
    custom_id: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


@dataclass(frozen=True)
class UserSelectSpec:
    custom_id: str
    placeholder: str
    max_values: int = 1


ComponentSpec = ButtonSpec | UserSelectSpec

_STYLES: Mapping[str | None, discord.ButtonStyle] = {
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
    None: discord.ButtonStyle.secondary,
}


def single_user_field(action: Action) -> FormField | None:
    """An action whose form only asks for people is a user select right on the message."""
    form = action.form
    if form is None or len(form.fields) != 1:
        return None
    only = form.fields[0]
    return only if only.kind in (InputKind.USER, InputKind.USERS) else None


def _component_for(action: Action, label: str) -> ComponentSpec | None:
    people = single_user_field(action)
    if people is not None:
        custom_id = select_custom_id(people.name, action.action_id)
        if custom_id is None:
            return None
        what = people.label.lower()
        placeholder = f"{action.label}: choose the {what}…"
        return UserSelectSpec(
            custom_id,
            clip(placeholder, MAX_SELECT_PLACEHOLDER),
            MAX_SELECT_VALUES if people.kind is InputKind.USERS else 1,
        )
    custom_id = action_custom_id(action.action_id)
    if custom_id is None:
        return None
    return ButtonSpec(
        clip(label, MAX_BUTTON_LABEL),
        custom_id,
        _STYLES.get(action.style, discord.ButtonStyle.secondary),
    )


def layout(components: Sequence[ComponentSpec], rows: int = MAX_ROWS) -> list[list[ComponentSpec]]:
    """Buttons five to a row, then each select on its own row; what does not fit is dropped."""
    buttons = [c for c in components if isinstance(c, ButtonSpec)]
    selects = [c for c in components if isinstance(c, UserSelectSpec)]
    out: list[list[ComponentSpec]] = []
    for i in range(0, len(buttons), MAX_BUTTONS_PER_ROW):
        out.append(list(buttons[i : i + MAX_BUTTONS_PER_ROW]))
    out.extend([s] for s in selects)
    return out[:rows]


def collect_actions(reply: Reply) -> list[tuple[Action, str]]:
    """Every action of the reply's cards, then its own, once each, with the label to show."""
    cards = [*reply.cards, *(c for s in reply.sections for c in s.cards)]
    with_actions = [c for c in cards if c.actions]
    several = len({c.ref for c in with_actions}) > 1
    seen: set[str] = set()
    out: list[tuple[Action, str]] = []
    for c in with_actions:
        for action in c.actions:
            if action.action_id not in seen:
                seen.add(action.action_id)
                out.append((action, f"{action.label} {c.ref}" if several else action.label))
    for action in reply.actions:
        if action.action_id not in seen:
            seen.add(action.action_id)
            out.append((action, action.label))
    return out


def component_specs(reply: Reply) -> list[ComponentSpec]:
    specs: list[ComponentSpec] = []
    for action, label in collect_actions(reply):
        spec = _component_for(action, label)
        if spec is not None:
            specs.append(spec)
    return specs


# --- embeds ----------------------------------------------------------------------------------

_DATE_LABELS = frozenset(spec.date_label for spec in KINDS.values() if spec.date_label)
_LONG_FIELDS = frozenset(
    {"Details", "Mitigation", "Rationale", "Outcome", "Why", "Resolution", "Decision note"}
)


def card_colour(card: Card) -> int:
    if card.overdue:
        return RED
    return STATUS_COLOURS.get(card.status.lower(), BLURPLE)


def _field_value(card: Card, f: CardField) -> str:
    if f.label in _DATE_LABELS and card.due_at is not None:
        return when_markup(card.due_at, overdue=card.overdue)
    return user_text(f.value)


def card_embed(card: Card) -> discord.Embed:
    kind = card.kind.replace("_", " ")
    state = f"**{kind[:1].upper() + kind[1:]}** · {inert(card.status)}"
    if card.overdue:
        state += " · **OVERDUE**"
    url = card.url if card.url and card.url.startswith(("https://", "http://")) else None
    embed = discord.Embed(
        title=clip(f"{card.ref} · {user_text(card.title)}", MAX_TITLE),
        description=state,
        colour=card_colour(card),
        url=url,
    )
    fields = list(card.fields)
    for n, f in enumerate(fields):
        value = clip(_field_value(card, f) or "—", MAX_FIELD_VALUE)
        name = clip(f.label or "—", MAX_FIELD_NAME)
        left = len(fields) - n
        full = len(embed) + len(name) + len(value) > _CARD_BUDGET
        if left > 1 and (len(embed.fields) == MAX_FIELDS - 1 or full):
            embed.add_field(name="…", value=f"{left} more fields: `/raid show {card.ref}`")
            break
        if full:
            value = clip(value, max(1, _CARD_BUDGET - len(embed) - len(name)))
        embed.add_field(
            name=name, value=value, inline=f.label not in _LONG_FIELDS and len(value) <= 60
        )
    return embed


def _chunks(lines: Iterable[str], limit: int = _CHUNK) -> list[str]:
    """Lines joined into texts of at most ``limit`` characters (a longer line is clipped)."""
    out: list[str] = []
    current = ""
    for raw in lines:
        line = clip(raw, limit)
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def section_embeds(section: Section, colour: int) -> list[discord.Embed]:
    embeds: list[discord.Embed] = []
    chunks = _chunks(inert(discord_markdown(line)) for line in section.lines)
    for i, chunk in enumerate(chunks or ([""] if not section.cards else [])):
        heading = inert(section.heading)
        heading = heading if i == 0 else f"{heading} (continued)"
        embeds.append(
            discord.Embed(title=clip(heading, MAX_TITLE), description=chunk or None, colour=colour)
        )
    if section.cards and not section.lines and section.heading:
        embeds.append(discord.Embed(title=clip(inert(section.heading), MAX_TITLE), colour=colour))
    embeds.extend(card_embed(c) for c in section.cards)
    return embeds


def reply_embeds(reply: Reply, form: Form | None = None) -> list[discord.Embed]:
    colour = TONE_COLOURS[reply.tone]
    embeds = [card_embed(c) for c in reply.cards]
    for section in reply.sections:
        embeds.extend(section_embeds(section, colour))
    if reply.field_errors:
        labels = {f.name: f.label for f in form.fields} if form else {}
        errors = discord.Embed(title="Nothing was saved. Please fix:", colour=RED)
        for name, message in list(reply.field_errors.items())[:MAX_FIELDS]:
            errors.add_field(
                name=clip(labels.get(name, name.replace("_", " ").capitalize()), MAX_FIELD_NAME),
                value=clip(inert(discord_markdown(message)) or "—", MAX_FIELD_VALUE),
                inline=False,
            )
        embeds.append(errors)
    if reply.usage:
        embeds.append(
            discord.Embed(
                title="Usage",
                description=clip(f"`{inert(reply.usage)}`", MAX_DESCRIPTION),
                colour=colour,
            )
        )
    return embeds


def paginate(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Embeds packed into pages of at most 10 embeds and ~6,000 characters each."""
    pages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        n = len(embed)
        if current and (len(current) >= MAX_EMBEDS or size + n > _PAGE_BUDGET):
            pages.append(current)
            current, size = [], 0
        current.append(embed)
        size += n
    if current:
        pages.append(current)
    return pages or [[]]


# --- the whole message -----------------------------------------------------------------------


@dataclass
class Rendered:
    """One Discord message: what to send, and whether only the requester sees it."""

    content: str
    embeds: list[discord.Embed]
    rows: list[list[ComponentSpec]]
    files: tuple[File, ...] = ()
    ephemeral: bool = False
    page: int = 0
    pages: int = 1

    @property
    def components(self) -> list[ComponentSpec]:
        return [c for row in self.rows for c in row]

    def discord_files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(f.content), filename=f.filename) for f in self.files]


def is_refusal(reply: Reply) -> bool:
    return reply.tone is Tone.ERROR or bool(reply.field_errors)


def is_ephemeral(reply: Reply) -> bool:
    """Creates and changes are seen by the channel; lists, help and errors by the requester."""
    return reply.visibility is Visibility.PRIVATE or is_refusal(reply)


def render(
    reply: Reply,
    *,
    page: int = 0,
    origin: Origin | None = None,
    form: Form | None = None,
    extra: Sequence[ComponentSpec] = (),
    place: ChannelKey | None = None,
) -> Rendered:
    """Page ``page`` of ``reply``.

    ``origin`` is what produced a private reply (a text or slash command); with it a reply too long
    for one message gets Previous/Next buttons that run the command again for another page.
    ``form`` names the fields of ``reply.field_errors``; ``extra`` adds components (a "fix it"
    button for a refused form). ``place``: the channel the components act on, for a message
    outside it (a direct message); every custom id then carries it.
    """
    ephemeral = is_ephemeral(reply)
    pages = paginate(reply_embeds(reply, form))
    page = max(0, min(page, len(pages) - 1))
    embeds = pages[page]
    content = inert(discord_markdown(reply.text))
    if reply.incident_id and reply.incident_id not in content:
        content += f"\nIncident id: {reply.incident_id}"
    content = clip(content, MAX_CONTENT)
    specs: list[ComponentSpec] = [*component_specs(reply), *extra]
    paging: list[ComponentSpec] = []
    if len(pages) > 1:
        footer = f"Page {page + 1} of {len(pages)}"
        if embeds:
            embeds[-1].set_footer(text=footer)
        if origin is not None and ephemeral:
            last = len(pages) - 1
            prev_id = origin_page_custom_id(page - 1, origin) if page > 0 else None
            next_id = origin_page_custom_id(page + 1, origin) if page < last else None
            if prev_id:
                paging.append(ButtonSpec("◀ Previous", prev_id))
            if next_id:
                paging.append(ButtonSpec("Next ▶", next_id))
    specs, paging = with_place(specs, place), with_place(paging, place)
    rows = layout(specs, MAX_ROWS - (1 if paging else 0))
    if paging:
        rows.append(paging)
    # Files go with the first page only.
    return Rendered(
        content=content,
        embeds=embeds,
        rows=rows,
        files=reply.files if page == 0 else (),
        ephemeral=ephemeral,
        page=page,
        pages=len(pages),
    )


def with_place(specs: Sequence[ComponentSpec], place: ChannelKey | None) -> list[ComponentSpec]:
    """The components with ``place`` in their custom ids; one that would not fit is dropped."""
    out: list[ComponentSpec] = []
    for spec in specs:
        custom_id = placed(spec.custom_id, place)
        if custom_id is not None:
            out.append(replace(spec, custom_id=custom_id))
    return out


def render_all(reply: Reply, place: ChannelKey | None = None) -> list[Rendered]:
    """Every page of a reply, for messages the bot sends on its own (no page buttons).

    ``place``: the channel the buttons act on, for a direct message (see :func:`placed`)."""
    first = render(reply, place=place)
    out = [first]
    for n in range(1, first.pages):
        later = render(reply, page=n, place=place)
        later.rows = []
        later.content = clip(f"{inert(discord_markdown(reply.text))} (part {n + 1})", MAX_CONTENT)
        out.append(later)
    if len(out) > 1:
        # The buttons belong on the last part, under everything they act on.
        out[-1].rows, first.rows = first.rows, []
    return out


# --- autocomplete ----------------------------------------------------------------------------


def choice_name(label: str) -> str:
    return clip(label, MAX_CHOICE_NAME)


# --- modals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """One input of a modal: a text box, a select of choices, or a user select."""

    name: str
    label: str
    kind: InputKind
    required: bool
    default: str | None = None
    description: str | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)


@dataclass(frozen=True)
class ModalSpec:
    custom_id: str
    title: str
    inputs: tuple[InputSpec, ...] = field(default_factory=tuple)


def choose_fields(
    form: Form, given: Collection[str] = (), prefer: Collection[str] = ()
) -> tuple[FormField, ...]:
    """At most five of the form's fields that ``given`` (typed options) does not cover.

    ``prefer`` (fields a refusal named) come first, then required fields, then optional ones;
    they are shown in the form's order. A risk (7 fields) typed as ``/risk`` asks title,
    likelihood, impact, owner and next review; its response and mitigation come from the
    typed options.
    """
    open_fields = [f for f in form.fields if f.name not in given or f.name in prefer]
    chosen = [f for f in open_fields if f.name in prefer]
    chosen += [f for f in open_fields if f.required and f.name not in prefer]
    chosen += [f for f in open_fields if not f.required and f.name not in prefer]
    keep = {f.name for f in chosen[:MAX_MODAL_INPUTS]}
    return tuple(f for f in open_fields if f.name in keep)


def modal_spec(
    form: Form,
    custom_id: str,
    *,
    given: Collection[str] = (),
    values: Mapping[str, str] | None = None,
    prefer: Collection[str] = (),
) -> ModalSpec:
    """The modal for ``form``; ``values`` pre-fills it (a refused form opened again)."""
    values = values or {}
    inputs: list[InputSpec] = []
    for f in choose_fields(form, given, prefer):
        default = values.get(f.name) if values.get(f.name) else f.default
        max_length = min(f.max_length or MAX_INPUT_VALUE, MAX_INPUT_VALUE)
        inputs.append(
            InputSpec(
                name=f.name,
                label=clip(f.label, MAX_LABEL_TEXT),
                kind=f.kind,
                required=f.required,
                default=default,
                description=clip(f.hint, MAX_LABEL_DESCRIPTION) if f.hint else None,
                max_length=max_length,
                choices=tuple((c.value, c.label) for c in f.choices[:MAX_SELECT_OPTIONS]),
            )
        )
    return ModalSpec(custom_id, clip(form.title, MAX_MODAL_TITLE), tuple(inputs))


def modal_values(components: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A modal submission's values by custom id: text as typed, selections space-separated.

    Handles labels (type 18) around text inputs and selects, and the older action rows.
    """
    values: dict[str, str] = {}
    for component in components:
        kind = component.get("type")
        if kind == 1:
            values.update(modal_values(component.get("components") or []))
        elif kind == 18:
            inner = component.get("component")
            if isinstance(inner, Mapping):
                values.update(modal_values([inner]))
        else:
            custom_id = component.get("custom_id")
            if not isinstance(custom_id, str):
                continue
            if "value" in component:
                values[custom_id] = str(component.get("value") or "")
            elif "values" in component:
                values[custom_id] = " ".join(str(v) for v in component.get("values") or [])
    return values


__all__ = [
    "ButtonSpec",
    "InputSpec",
    "ModalSpec",
    "Rendered",
    "UserSelectSpec",
    "choose_fields",
    "modal_spec",
    "modal_values",
    "render",
    "render_all",
]
