"""Block Kit rendering of the core's replies, and the way back from Slack payloads.

Pure functions only: no network, no Bolt. Everything a Slack user sees from raidline is built
here, inside Slack's limits (50 blocks per message, 100 per view, 3,000 characters per text
block, 10 fields per section, 25 buttons per actions block, 2,000 characters per button
value, 24 characters per modal title).

Block ids carry what the adapter needs to update a message in place later: a card's blocks
are ``card|<n>|<ref>|<part>``, the headline is ``head`` or ``head|<ref>`` and reply-level
buttons are ``acts`` or ``acts|<ref>``. Slack returns these ids with every click, so a click on
a week-old message can still replace just the card it belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.model import ChannelKey
from bot.messages import (
    Action,
    Card,
    Choice,
    Form,
    FormField,
    InputKind,
    Reply,
    Section,
    Tone,
)
from bot.text.markup import ANGLE_RE, live_markup

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS_PER_SECTION = 10
MAX_BUTTONS_PER_BLOCK = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_VIEW_TITLE = 24
MAX_METADATA = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
#: field values up to this long (and on one line) go into the two-column ``fields`` grid
SHORT_FIELD = 120

_KIND_LABEL = {
    "blocker": ":construction: Blocker",
    "risk": ":warning: Risk",
    "decision": ":scales: Decision",
    "change": ":arrows_counterclockwise: Change request",
}

# Only the markup Slack itself makes of a real mention or a plain URL stays live (see
# :mod:`bot.text.markup`): ``<@U1>``, ``<#C1>``, ``<https://x>``. Everything else people typed,
# special mentions (``<!channel>``, ``<!here>``, ``<!subteam^...>``) and masked links
# (``<https://evil.example|Approve here>``) included, is escaped and shown as typed.
# A card links to its message only when it has one (a standup's "track it" item has a marker).
_URL_RE = re.compile(r"https?://[^<>\s|]+")


# --- text ---------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for mrkdwn (Slack's documented escaping).

    Kept live: people ``<@U1>``, channels ``<#C1>`` and plain links ``<https://x>``, labels
    dropped (``<@U1|dana>`` -> ``<@U1>``). A masked link whose label is not its own address, a
    special mention and any other markup is shown literally.
    """
    out: list[str] = []
    pos = 0
    for m in ANGLE_RE.finditer(text):
        live = live_markup(m.group(1))
        if live is None:
            continue
        out.append(_escape_plain(text[pos : m.start()]))
        out.append(live)
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` typed by people as entities; the core wants them raw."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, MAX_TEXT)}


def plain_text(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def message_text(reply: Reply) -> str:
    """The notification and accessibility text of a message (Slack's ``text`` argument)."""
    text = escape(reply.text)
    if reply.tone is Tone.ERROR:
        text = ":warning: " + text
    return truncate(text, MAX_TEXT)


# --- buttons ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ButtonValue:
    """What a button carries: the core's action id, its form, and for App Home its channel."""

    action_id: str
    form: Form | None = None
    workspace: str | None = None
    channel: str | None = None


def encode_form(form: Form, *, hints: bool = True) -> dict[str, Any]:
    fields = []
    for f in form.fields:
        entry: dict[str, Any] = {"n": f.name, "l": f.label, "k": f.kind.value}
        if f.required:
            entry["r"] = 1
        if f.default is not None:
            entry["d"] = f.default
        if f.hint and hints:
            entry["h"] = f.hint
        if f.max_length is not None:
            entry["m"] = f.max_length
        if f.choices:
            entry["c"] = [[c.value, c.label] for c in f.choices]
        fields.append(entry)
    return {"i": form.form_id, "t": form.title, "s": form.submit_label, "x": fields}


def decode_form(data: Mapping[str, Any]) -> Form:
    fields = tuple(
        FormField(
            name=str(f["n"]),
            label=str(f.get("l") or f["n"]),
            kind=InputKind(f.get("k", "text")),
            required=bool(f.get("r")),
            default=f.get("d"),
            hint=f.get("h"),
            choices=tuple(Choice(str(v), str(label)) for v, label in f.get("c", ())),
            max_length=f.get("m"),
        )
        for f in data.get("x", ())
    )
    return Form(
        str(data["i"]), str(data.get("t") or data["i"]), fields, str(data.get("s") or "Save")
    )


def encode_button_value(value: ButtonValue) -> str:
    """The button's ``value``: the bare action id when that says everything, else JSON."""
    if value.form is None and value.workspace is None and value.channel is None:
        return value.action_id
    data: dict[str, Any] = {"a": value.action_id}
    if value.workspace is not None:
        data["w"] = value.workspace
    if value.channel is not None:
        data["c"] = value.channel
    if value.form is not None:
        # Shrink until it fits: without hints, then without the form (the adapter then builds
        # a plain form from the field names the core asks for).
        for hints in (True, False):
            data["f"] = encode_form(value.form, hints=hints)
            text = json.dumps(data, separators=(",", ":"))
            if len(text) <= MAX_BUTTON_VALUE:
                return text
        del data["f"]
    return json.dumps(data, separators=(",", ":"))


def decode_button_value(value: str | None, action_id: str) -> ButtonValue:
    """Read a button's value back; anything unreadable falls back to the action id alone."""
    if not value:
        return ButtonValue(action_id)
    if not value.startswith("{"):
        return ButtonValue(value)
    try:
        data = json.loads(value)
        form = decode_form(data["f"]) if isinstance(data.get("f"), dict) else None
        return ButtonValue(
            action_id=str(data.get("a") or action_id),
            form=form,
            workspace=str(data["w"]) if data.get("w") is not None else None,
            channel=str(data["c"]) if data.get("c") is not None else None,
        )
    except (ValueError, KeyError, TypeError):
        return ButtonValue(action_id)


def button(action: Action, *, origin: ChannelKey | None = None) -> Block:
    """A button; with ``origin`` its value names the item's workspace and channel."""
    workspace = origin.workspace if origin else None
    channel = origin.channel if origin else None
    element: Block = {
        "type": "button",
        "text": plain_text(action.label, MAX_BUTTON_TEXT),
        "action_id": truncate(action.action_id, MAX_ACTION_ID),
        "value": encode_button_value(
            ButtonValue(action.action_id, action.form, workspace, channel)
        ),
    }
    if action.style:
        element["style"] = action.style
    return element


def _actions_blocks(
    actions: Sequence[Action], block_id: str, *, origin: ChannelKey | None = None
) -> list[Block]:
    blocks: list[Block] = []
    for start in range(0, len(actions), MAX_BUTTONS_PER_BLOCK):
        part = actions[start : start + MAX_BUTTONS_PER_BLOCK]
        suffix = "" if start == 0 else f"|{start}"
        # Slack wants action ids unique within a block.
        seen: set[str] = set()
        elements = []
        for a in part:
            if a.action_id in seen:
                continue
            seen.add(a.action_id)
            elements.append(button(a, origin=origin))
        blocks.append({"type": "actions", "block_id": block_id + suffix, "elements": elements})
    return blocks


# --- cards --------------------------------------------------------------------------------


def card_blocks(card: Card, index: int, *, origin: ChannelKey | None = None) -> list[Block]:
    """One item: ref and title, kind and state, its fields, and its buttons.

    A card that names its channel (App Home) says which channel it is in, and its buttons
    carry that channel; ``origin`` does the same for a message shown outside its channel (a
    direct message).
    """
    prefix = f"card|{index}|{card.ref}"
    title = f"*{card.ref}*  {escape(card.title)}"
    if card.url and _URL_RE.fullmatch(card.url):
        title += f"  <{card.url}|:link: message>"
    blocks: list[Block] = [{"type": "section", "block_id": f"{prefix}|head", "text": mrkdwn(title)}]
    state = [_KIND_LABEL.get(card.kind, card.kind.capitalize()), f"*{escape(card.status)}*"]
    if card.overdue:
        state.append(":red_circle: *OVERDUE*")
    if card.channel is not None:
        state.append(f"in <#{card.channel.channel}>")
    blocks.append(
        {"type": "context", "block_id": f"{prefix}|state", "elements": [mrkdwn(" · ".join(state))]}
    )
    short = [f for f in card.fields if len(f.value) <= SHORT_FIELD and "\n" not in f.value]
    long = [f for f in card.fields if f not in short]
    for n in range(0, len(short), MAX_FIELDS_PER_SECTION):
        part = short[n : n + MAX_FIELDS_PER_SECTION]
        blocks.append(
            {
                "type": "section",
                "block_id": f"{prefix}|fields|{n}",
                "fields": [
                    mrkdwn(truncate(f"*{escape(f.label)}*\n{escape(f.value)}", MAX_FIELD_TEXT))
                    for f in part
                ],
            }
        )
    for n, f in enumerate(long):
        blocks.append(
            {
                "type": "section",
                "block_id": f"{prefix}|long|{n}",
                "text": mrkdwn(f"*{escape(f.label)}*\n{escape(f.value)}"),
            }
        )
    if card.actions:
        blocks.extend(
            _actions_blocks(card.actions, f"{prefix}|acts", origin=card.channel or origin)
        )
    return blocks


def parse_block_id(block_id: str) -> tuple[str, int | None, str | None]:
    """``card|3|B-7|head`` -> ("card", 3, "B-7"); ``head|B-7`` -> ("head", None, "B-7")."""
    parts = block_id.split("|")
    if parts[0] == "card" and len(parts) >= 3 and parts[1].isdigit():
        return "card", int(parts[1]), parts[2]
    if parts[0] in ("head", "acts"):
        return parts[0], None, parts[1] if len(parts) > 1 and parts[1] else None
    return parts[0], None, None


def card_refs(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The refs of the item cards in a message, in order, without repeats."""
    refs: list[str] = []
    for b in blocks:
        kind, _, ref = parse_block_id(str(b.get("block_id", "")))
        if kind == "card" and ref and ref not in refs:
            refs.append(ref)
    return refs


# --- whole messages -------------------------------------------------------------------------


def _head_block(reply: Reply) -> Block:
    block_id = f"head|{reply.item_ref}" if reply.item_ref else "head"
    return {"type": "section", "block_id": block_id, "text": mrkdwn(message_text(reply))}


@dataclass
class _Group:
    """A part of a message that may be shown in part: a heading, then units (a block of
    lines, or a card's blocks) that are kept or left off whole, in order."""

    block_id: str
    prefix: list[Block]
    units: list[list[Block]]
    #: per unit: (lines, cards) it holds, to say what was left off
    counts: list[tuple[int, int]]
    taken: int = 0


def _line_chunks(lines: Iterable[str], limit: int = MAX_TEXT) -> list[tuple[str, int]]:
    """Lines joined into texts of at most ``limit`` characters (a single long line is cut),
    each with the number of lines it holds."""
    chunks: list[tuple[str, int]] = []
    current, count = "", 0
    for raw in lines:
        line = truncate(raw, limit)
        candidate = f"{current}\n{line}" if count else line
        if count and len(candidate) > limit:
            chunks.append((current, count))
            current, count = line, 1
        else:
            current, count = candidate, count + 1
    if count:
        chunks.append((current, count))
    return chunks


def _section_group(
    section: Section, index: int, first_card: int, origin: ChannelKey | None, home: bool
) -> _Group:
    prefix: list[Block] = [{"type": "divider", "block_id": f"sec|{index}|div"}]
    if section.heading:
        prefix.append(
            {
                "type": "section",
                "block_id": f"sec|{index}|head",
                "text": mrkdwn(f"*{escape(section.heading)}*"),
            }
        )
    group = _Group(f"sec|{index}|more", prefix, [], [])
    chunks = _line_chunks(f"• {escape(line)}" for line in section.lines)
    for n, (chunk, count) in enumerate(chunks):
        group.units.append(
            [{"type": "section", "block_id": f"sec|{index}|lines|{n}", "text": mrkdwn(chunk)}]
        )
        group.counts.append((count, 0))
    for n, card in enumerate(section.cards):
        group.units.append(card_blocks(card, first_card + n, origin=origin))
        group.counts.append((0, 1))
    if home and not section.cards and not section.lines:
        prefix.append(
            {
                "type": "context",
                "block_id": f"sec|{index}|empty",
                "elements": [mrkdwn("_Nothing here._")],
            }
        )
    return group


def _tail_blocks(
    reply: Reply, actor: str | None, origin: ChannelKey | None, max_actions: int | None = None
) -> list[Block]:
    blocks: list[Block] = []
    actions = reply.actions if max_actions is None else reply.actions[:max_actions]
    if actions:
        block_id = f"acts|{reply.item_ref}" if reply.item_ref else "acts"
        blocks.extend(_actions_blocks(actions, block_id, origin=origin))
    notes: list[str] = []
    if reply.usage and reply.usage not in reply.text:
        notes.append(f"Usage: `{escape(reply.usage)}`")
    if reply.incident_id and reply.incident_id not in reply.text:
        notes.append(f"Incident id: `{reply.incident_id}`")
    if actor:
        notes.append(f"by <@{actor}>")
    if notes:
        blocks.append(
            {"type": "context", "block_id": "notes", "elements": [mrkdwn(n) for n in notes]}
        )
    return blocks


#: Buttons kept at the end of a reply too long for one message (two actions blocks).
MAX_TAIL_BUTTONS = 2 * MAX_BUTTONS_PER_BLOCK


def message_blocks(
    reply: Reply,
    *,
    actor: str | None = None,
    origin: ChannelKey | None = None,
    home: bool = False,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
) -> list[Block]:
    """The whole reply as blocks: headline, cards, sections (with dividers), buttons, notes.

    ``actor`` adds "by @someone" (posts made for a person). ``origin``: the message is shown
    outside the items' channel (a direct message), so its buttons carry the channel. ``home``
    marks empty sections (App Home). A reply that does not fit in ``max_blocks`` shows the
    first cards and lines of every part, each part saying how many more it has and where to
    see them ("…and 37 more items: `/raid list`"); the buttons and notes at the end (e.g.
    "More") are kept, at most :data:`MAX_TAIL_BUTTONS` buttons.
    """
    head = [_head_block(reply)]
    groups: list[_Group] = []
    if reply.cards:
        groups.append(
            _Group(
                "more",
                [],
                [card_blocks(card, n, origin=origin) for n, card in enumerate(reply.cards)],
                [(0, 1)] * len(reply.cards),
            )
        )
    first_card = len(reply.cards)
    for i, section in enumerate(reply.sections):
        groups.append(_section_group(section, i, first_card, origin, home))
        first_card += len(section.cards)
    tail = _tail_blocks(reply, actor, origin)
    size = len(head) + len(tail) + sum(len(g.prefix) + sum(map(len, g.units)) for g in groups)
    if size <= max_blocks:
        body = [b for g in groups for b in [*g.prefix, *(x for u in g.units for x in u)]]
        return head + body + tail
    buttons_left_off = max(0, len(reply.actions) - MAX_TAIL_BUTTONS)
    if buttons_left_off:
        tail = _tail_blocks(reply, actor, origin, MAX_TAIL_BUTTONS)
    return _fit(head, groups, tail, max_blocks, home, buttons_left_off)


def _fit(
    head: list[Block],
    groups: list[_Group],
    tail: list[Block],
    limit: int,
    home: bool,
    buttons_left_off: int,
) -> list[Block]:
    """Every part gets its heading and, in turns, its next card or block of lines while room
    is left, so one long part never crowds out the others; one block is kept for the note."""
    room = limit - len(head) - len(tail) - 1
    shown: list[_Group] = []
    for g in groups:
        cost = len(g.prefix) + (1 if g.units else 0)  # its "…and N more" line, until complete
        if cost > room:
            break
        shown.append(g)
        room -= cost
    progress = True
    while progress:
        progress = False
        for g in shown:
            if g.taken >= len(g.units):
                continue
            unit = g.units[g.taken]
            cost = len(unit) - (1 if g.taken == len(g.units) - 1 else 0)
            if cost <= room:
                g.taken += 1
                room -= cost
                progress = True
    out = list(head)
    for g in shown:
        out.extend(g.prefix)
        for unit in g.units[: g.taken]:
            out.extend(unit)
        if g.taken < len(g.units):
            out.append(_more_block(g, home))
    notes: list[str] = []
    parts_left_off = len(groups) - len(shown)
    if parts_left_off:
        what = "part" if parts_left_off == 1 else "parts"
        notes.append(f"{parts_left_off} more {what} not shown")
    if buttons_left_off:
        what = "button" if buttons_left_off == 1 else "buttons"
        notes.append(f"{buttons_left_off} more {what} not shown")
    if notes:
        text = "; ".join(notes) + f": a Slack message holds {limit} blocks."
        out.append({"type": "context", "block_id": "more|rest", "elements": [mrkdwn(f"_{text}_")]})
    return out + tail


def _more_block(group: _Group, home: bool) -> Block:
    """``…and 37 more items: `/raid list` `` under a part shown in part."""
    lines = sum(n for n, _ in group.counts[group.taken :])
    cards = sum(n for _, n in group.counts[group.taken :])
    what: list[str] = []
    if lines:
        what.append(f"{lines} more line{'s' if lines != 1 else ''}")
    if cards:
        what.append(f"{cards} more item{'s' if cards != 1 else ''}")
    text = "…and " + " and ".join(what)
    if cards:
        text += ": `/raid list mine` in their channels" if home else ": `/raid list`"
    else:
        text += " not shown here."
    return {"type": "context", "block_id": group.block_id, "elements": [mrkdwn(text)]}


def home_view(reply: Reply) -> dict[str, Any]:
    """The App Home tab: what waits on the person; each card names its channel."""
    return {
        "type": "home",
        "callback_id": "raidline_home",
        "blocks": message_blocks(reply, home=True, max_blocks=MAX_VIEW_BLOCKS),
    }


def updated_message(
    original: Sequence[Mapping[str, Any]] | None,
    original_refs: Sequence[str],
    reply: Reply,
    *,
    actor: str | None = None,
    origin: ChannelKey | None = None,
) -> list[Block] | None:
    """The blocks that replace a channel message after a click, or ``None`` to leave it.

    A message about the changed item(s) only is replaced by the reply. A message showing
    several items (a digest, a risk and the blocker it became) keeps everything else and only
    swaps the changed item's card, dropping follow-up buttons tied to that item. A message
    that does not show the changed item (a standup summary whose "track it" logged a new
    blocker) is left as it is: ``None``.
    """
    new_refs = [c.ref for c in reply.cards]
    if not new_refs or not original_refs:
        return None
    if set(original_refs) <= set(new_refs):
        return message_blocks(reply, actor=actor, origin=origin)
    if original is None or not set(original_refs) & set(new_refs):
        return None
    out: list[Block] = []
    replaced: set[str] = set()
    for block in original:
        kind, index, ref = parse_block_id(str(block.get("block_id", "")))
        if kind == "acts" and ref in new_refs:
            continue
        if kind == "card" and ref in new_refs and index is not None:
            if ref not in replaced:
                card = next(c for c in reply.cards if c.ref == ref)
                out.extend(card_blocks(card, index, origin=origin))
                replaced.add(ref)
            continue
        out.append(dict(block))
    return out[:MAX_MESSAGE_BLOCKS]


# --- modals -------------------------------------------------------------------------------


def _element(f: FormField) -> Block:
    action_id = f.name
    if f.kind is InputKind.USER:
        el: Block = {"type": "users_select", "action_id": action_id}
        if f.default:
            el["initial_user"] = f.default
        return el
    if f.kind is InputKind.USERS:
        el = {"type": "multi_users_select", "action_id": action_id}
        if f.default:
            el["initial_users"] = f.default.split()
        return el
    if f.kind is InputKind.CHOICE:
        options = [
            {
                "text": plain_text(c.label, MAX_OPTION_TEXT),
                "value": truncate(c.value, MAX_OPTION_VALUE),
            }
            for c in f.choices[:100]
        ]
        el = {"type": "static_select", "action_id": action_id, "options": options}
        for option, choice in zip(options, f.choices, strict=False):
            if f.default is not None and choice.value == f.default:
                el["initial_option"] = option
        return el
    # TEXT, LONG_TEXT and DATE: dates stay text so the core's words work ("friday", "Dec 5").
    el = {"type": "plain_text_input", "action_id": action_id}
    if f.kind is InputKind.LONG_TEXT:
        el["multiline"] = True
    if f.max_length:
        el["max_length"] = min(f.max_length, MAX_TEXT)
    if f.default:
        el["initial_value"] = truncate(f.default, el.get("max_length", MAX_TEXT))
    if f.kind is InputKind.DATE:
        el["placeholder"] = plain_text(f.hint or "e.g. friday, Dec 5, in 2 weeks", MAX_PLACEHOLDER)
    return el


def form_view(form: Form, *, metadata: str = "", prefill: Mapping[str, str] | None = None) -> Block:
    """A modal for a core form: ``callback_id`` is the form id, one input block per field."""
    prefill = prefill or {}
    blocks: list[Block] = []
    for f in form.fields:
        if prefill.get(f.name):
            f = replace(f, default=prefill[f.name])
        block: Block = {
            "type": "input",
            "block_id": f.name,
            "optional": not f.required,
            "label": plain_text(f.label, MAX_FIELD_TEXT),
            "element": _element(f),
        }
        if f.hint:
            block["hint"] = plain_text(f.hint, MAX_FIELD_TEXT)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": truncate(form.form_id, MAX_ACTION_ID),
        "title": plain_text(form.title, MAX_VIEW_TITLE),
        "submit": plain_text(form.submit_label, MAX_VIEW_TITLE),
        "close": plain_text("Cancel", MAX_VIEW_TITLE),
        "private_metadata": metadata[:MAX_METADATA],
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


def notice_view(reply: Reply, title: str = "raidline") -> Block:
    """A modal that only says something (a refusal after a form, an error on App Home)."""
    return {
        "type": "modal",
        "callback_id": "raidline_notice",
        "title": plain_text(title, MAX_VIEW_TITLE),
        "close": plain_text("Close", MAX_VIEW_TITLE),
        "blocks": message_blocks(reply, max_blocks=MAX_VIEW_BLOCKS),
    }


def form_values(state: Mapping[str, Any]) -> dict[str, str]:
    """A submitted modal's ``view.state.values`` -> field name -> text (people as ids)."""
    values: dict[str, str] = {}
    for block_id, actions in state.items():
        if not isinstance(actions, Mapping):
            continue
        for element in actions.values():
            values[str(block_id)] = _element_value(element)
    return values


def _element_value(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind == "users_select":
        return str(element.get("selected_user") or "")
    if kind == "multi_users_select":
        return " ".join(element.get("selected_users") or ())
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option") or {}
        return str(option.get("value") or "")
    if kind == "datepicker":
        return str(element.get("selected_date") or "")
    if kind == "conversations_select":
        return str(element.get("selected_conversation") or "")
    return str(element.get("value") or "")


def view_errors(field_errors: Mapping[str, str], view: Mapping[str, Any]) -> dict[str, str]:
    """Field errors keyed by the view's input block ids; unknown fields go to the first input."""
    inputs = [
        str(b.get("block_id"))
        for b in view.get("blocks", ())
        if isinstance(b, Mapping) and b.get("type") == "input"
    ]
    errors: dict[str, str] = {}
    for name, message in field_errors.items():
        target = name if name in inputs else (inputs[0] if inputs else name)
        errors[target] = truncate(
            f"{errors[target]} {message}" if target in errors else message, MAX_FIELD_TEXT
        )
    return errors


def prefill_from_message(form: Form, text: str) -> dict[str, str]:
    """A message shortcut's text as defaults: the first line as title, the rest as details."""
    text = unescape(text).strip()
    if not text:
        return {}
    names = {f.name: f for f in form.fields}
    first = text.splitlines()[0].strip()
    title_field = names.get("title")
    limit = title_field.max_length if title_field and title_field.max_length else 300
    prefill = {"title": truncate(first, limit)}
    if (first != text or len(first) > limit) and "details" in names:
        prefill["details"] = truncate(text, names["details"].max_length or MAX_TEXT)
    return prefill


def generic_form(form_id: str, title: str, field_names: Iterable[str]) -> Form:
    """A plain text form for a button whose own form did not fit into its value."""
    fields = tuple(
        FormField(name, name.replace("_", " ").capitalize(), InputKind.TEXT, True)
        for name in field_names
    )
    return Form(form_id, title, fields)


__all__ = [
    "Block",
    "ButtonValue",
    "button",
    "card_blocks",
    "card_refs",
    "decode_button_value",
    "encode_button_value",
    "escape",
    "form_values",
    "form_view",
    "generic_form",
    "home_view",
    "message_blocks",
    "message_text",
    "notice_view",
    "parse_block_id",
    "prefill_from_message",
    "unescape",
    "updated_message",
    "view_errors",
]
