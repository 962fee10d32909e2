"""Plain-text rendering of a Reply: the console, notifications and plain-text fallbacks.

The output reads well in an 80-column terminal: long lines wrap with their indentation kept,
people ``<@id>`` show as ``@id``. Colour is opt-in (the console turns it on for a terminal).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable

from bot.messages import Action, Card, Reply, Section, Tone
from bot.text.markup import ANGLE_RE, live_markup

WIDTH = 80
FIELD_INDENT = "    "

# Chat emphasis (Slack ``*bold*``, Discord ``**bold**``) reads as noise in a terminal.
_BOLD_MARK_RE = re.compile(r"(?<![\w*])\*{1,2}(?=\S)([^*\n]*?\S)\*{1,2}(?![\w*])")

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_UNDERLINE = "\x1b[4m"
_CODE_RE = re.compile(r"`([^`\n]+)`")
#: Stands for a space that must not break a line while wrapping (a control character, which
#: typed text never keeps).
_KEEP = "\x1f"
_DIM = "\x1b[2m"
_RED = "\x1b[31m"
_GREEN = "\x1b[32m"
_TONE_COLOUR = {Tone.ERROR: _RED, Tone.SUCCESS: _GREEN}


def plain_mentions(text: str) -> str:
    """Chat markup to console text: ``<@U1>`` -> ``@U1``, ``<#C1>`` -> ``#C1``, ``<https://x>``
    -> ``https://x``; labels are dropped (``<@U1|ana>`` -> ``@U1``). Anything else is shown as
    typed: ``<https://evil.example|Approve here>`` and ``<!channel>`` stay exactly that."""
    return ANGLE_RE.sub(lambda m: _console(m.group(0), live_markup(m.group(1))), text)


def _console(typed: str, live: str | None) -> str:
    if live is None:
        return typed
    inner = live[1:-1]
    if inner.startswith("mailto:"):
        return inner.split("|", 1)[0].removeprefix("mailto:")
    return inner


def plain(text: str) -> str:
    """Chat text to terminal text: mentions as ``@id`` and no emphasis marks."""
    return _BOLD_MARK_RE.sub(r"\1", plain_mentions(text))


def styled(text: str, *, color: bool) -> str:
    """raidline's own chat text for a terminal: without colour as :func:`plain`; with colour
    ``*bold*`` is bold and ```code``` underlined, without the marks."""
    if not color:
        return plain(text)
    text = _BOLD_MARK_RE.sub(lambda m: f"{_BOLD}{m.group(1)}{_RESET}", plain_mentions(text))
    return _CODE_RE.sub(lambda m: f"{_UNDERLINE}{m.group(1)}{_RESET}", text)


def wrap(text: str, width: int = WIDTH) -> str:
    """Wrap every line longer than ``width``; continuation lines hang under the line's start."""
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line.rstrip())
            continue
        indent = line[: len(line) - len(line.lstrip())]
        bullet = re.match(r"^(\s*(?:[-*•]|\d+[.)])\s+)", line)
        # Continuation lines hang under the text (bullets) or two columns further in.
        follow = " " * len(bullet.group(1)) if bullet else (indent + "  " if indent else "")
        # A `code span` (a command to type) is never split across lines.
        kept = _CODE_RE.sub(lambda m: m.group(0).replace(" ", _KEEP), line.strip())
        out.append(
            textwrap.fill(
                kept,
                width=width,
                initial_indent=indent,
                subsequent_indent=follow,
                break_long_words=False,
                break_on_hyphens=False,
            ).replace(_KEEP, " ")
        )
    return "\n".join(out)


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and code else text


def render_card(card: Card, *, color: bool = False) -> str:
    """``B-3  Title`` then ``    blocker · open · OVERDUE`` then one indented line per field."""
    head = f"{_paint(card.ref, _BOLD, color)}  {plain_mentions(card.title)}"
    state = [card.kind, card.status] if card.kind else [card.status]
    if card.overdue:
        state.append(_paint("OVERDUE", _RED, color))
    lines = [head, FIELD_INDENT + " · ".join(s for s in state if s)]
    for field in card.fields:
        value = plain_mentions(field.value).strip()
        if "\n" in value:
            lines.append(f"{FIELD_INDENT}{field.label}:")
            lines.extend(FIELD_INDENT + "  " + part for part in value.splitlines())
        else:
            lines.append(f"{FIELD_INDENT}{field.label}: {value}")
    if card.url:
        lines.append(f"{FIELD_INDENT}{card.url}")
    return "\n".join(lines)


def render_section(section: Section, *, color: bool = False) -> str:
    lines = [_paint(plain(section.heading), _BOLD, color)] if section.heading else []
    lines.extend("  " + styled(line, color=color) for line in section.lines)
    if not section.lines:
        lines.append("  (none)")
    return "\n".join(lines)


def render_text(reply: Reply, *, color: bool = False, width: int = WIDTH) -> str:
    """The whole reply as plain text: headline, cards, sections, usage, incident id.

    Actions, forms, files and field errors are not included: the caller offers or asks
    them (see :func:`numbered_actions`); ``reply.text`` already summarises field errors.
    """
    blocks: list[str] = []
    headline = plain(reply.text).strip()
    tone = _TONE_COLOUR.get(reply.tone, "")
    if headline and color and not tone:
        blocks.append(styled(reply.text.strip(), color=True))
    elif headline:
        blocks.append(_paint(headline, tone, color))
    blocks.extend(render_card(card, color=color) for card in reply.cards)
    blocks.extend(render_section(section, color=color) for section in reply.sections)
    tail: list[str] = []
    if reply.usage and reply.usage not in reply.text:
        tail.append(f"Usage: {plain(reply.usage)}")
    if reply.incident_id and reply.incident_id not in reply.text:
        tail.append(f"Incident id: {reply.incident_id}")
    if tail:
        blocks.append("\n".join(tail))
    return "\n\n".join(wrap(block, width) for block in blocks)


def numbered_actions(actions: Iterable[Action]) -> str:
    """``  1) Take it myself`` — one line per action, numbered from 1."""
    return "\n".join(
        f"  {number}) {plain(action.label)}" for number, action in enumerate(actions, start=1)
    )
