"""Every size limit on what users type (SPEC §6), in one place.

The text parser, the forms, a platform's typed options and the clicks all check against this
table, so a field has the same limit whatever the surface. Fields are named as the typed calls
(:mod:`bot.commands.calls`) and the logging forms name them; a refusal names the field and
states its limit.

Short texts (one line: a title, what a blocker waits on, an impact, an outcome) have the title
limit; long texts (details, mitigation, rationale, notes, reasons, standup answers) have the
details limit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import UsageError

MAX_TITLE_CHARS = 300
"""A title, and every other short text."""
MAX_DETAILS_CHARS = 3000
"""The details, and every other long text."""
MAX_COMMAND_CHARS = 4000
"""A whole typed command (its text, or its options put together)."""
MAX_MENTIONS = 20
"""People named in one command or form."""
MAX_PERSON_CHARS = 64
"""A person's id (Slack ids have 9-11 characters, Discord's 17-20)."""
MAX_IMPORT_ROWS = 500
"""Rows of one imported register (``raidline import-csv``, ``/raid import``)."""
MAX_IMPORT_BYTES = 1_000_000
"""Bytes of one imported register file."""
MAX_QUESTION_CHARS = 150
"""One standup question (it becomes a form label)."""
MAX_ANSWER_CHARS = MAX_DETAILS_CHARS
"""One answer to a standup question."""


@dataclass(frozen=True)
class TextLimit:
    #: how a refusal names the field: "The waiting-on text is 301 characters long..."
    label: str
    chars: int

    @property
    def long(self) -> bool:
        """A long text keeps its line breaks and tabs; a short one is one line."""
        return self.chars > MAX_TITLE_CHARS


_SHORT = MAX_TITLE_CHARS
_LONG = MAX_DETAILS_CHARS

#: The free-text fields by name (typed call fields and form fields), with their limits.
TEXT_LIMITS: Mapping[str, TextLimit] = {
    "title": TextLimit("title", _SHORT),
    "details": TextLimit("details text", _LONG),
    "waiting_on": TextLimit("waiting-on text", _SHORT),
    "mitigation": TextLimit("mitigation", _LONG),
    "rationale": TextLimit("rationale", _LONG),
    "why": TextLimit("reason for the change", _LONG),  # a change's rationale, on its form
    "impact": TextLimit("impact text", _SHORT),  # a change's impacts, as typed
    "impacts": TextLimit("impact text", _SHORT),
    "outcome": TextLimit("outcome", _SHORT),
    "note": TextLimit("note", _LONG),
    "text": TextLimit("note", _LONG),  # /raid note's text
    "reason": TextLimit("reason", _LONG),
    "question": TextLimit("question", MAX_QUESTION_CHARS),
    "answer": TextLimit("answer", MAX_ANSWER_CHARS),
}

#: Fields that name people (ids, several separated by spaces in a form).
PEOPLE_FIELDS = frozenset(
    {"owner", "decider", "approvers", "approver", "approver_2", "people", "person", "person_2"}
)


def text_limit(name: str) -> TextLimit | None:
    """The limit of the free-text field ``name``; standup answers are ``q0``, ``q1``..."""
    if name.startswith("q") and name[1:].isdecimal():
        return TEXT_LIMITS["answer"]
    return TEXT_LIMITS.get(name)


def too_long(label: str, length: int, limit: int) -> str:
    """The one wording of a refused length."""
    return (
        f"The {label} is {length:,} characters long; the limit is {limit:,}. "
        "Shorten it and try again."
    )


def text_error(name: str, value: str | None) -> str | None:
    """What is wrong with ``value`` as the field ``name`` (too long), or None."""
    limit = text_limit(name)
    if limit is None or value is None or len(value) <= limit.chars:
        return None
    return too_long(limit.label, len(value), limit.chars)


def too_many_people(count: int) -> str:
    return f"That names {count} people; the limit is {MAX_MENTIONS}. Mention fewer people."


def person_too_long(length: int) -> str:
    return (
        f"A person's id is {length:,} characters long; the limit is {MAX_PERSON_CHARS}. "
        "Mention them, e.g. `@dana`."
    )


# --- control characters ----------------------------------------------------------------------

_KEPT = frozenset("\t\n")


def clean_text(text: str, *, multiline: bool = True) -> str:
    """``text`` without control characters, as it may be stored and shown.

    Every control character (Unicode category Cc: C0, DEL and C1) goes: NUL, bells, escape
    sequences never reach the database or a channel. CR and CRLF become line breaks; the ones
    Python reads as whitespace (vertical tab, form feed, the separators, NEL) become a space,
    so that the words either side stay apart. Tabs and line breaks stay in a ``multiline``
    text and become spaces in a one-line one. A lone surrogate (no character at all, and not
    UTF-8) becomes U+FFFD.
    """
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for c in text:
        if c in _KEPT:
            out.append(c if multiline else " ")
        elif unicodedata.category(c) == "Cc":
            if c.isspace():
                out.append(" ")
        elif "\ud800" <= c <= "\udfff":
            out.append("\ufffd")
        else:
            out.append(c)
    return "".join(out)


#: Characters that show nothing and are not whitespace to Python: a text of only these (and
#: spaces) is blank. Format characters (Unicode Cf: zero-width space, joiners, BOM, soft
#: hyphen...) and the letters and symbols that render as nothing.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces and invisible characters."""
    return all(
        c.isspace() or c in _INVISIBLE or unicodedata.category(c) in ("Cf", "Cc", "Zs")
        for c in text
    )


def multiline(name: str) -> bool:
    """Whether the field ``name`` (a form value or an option) may hold several lines."""
    limit = text_limit(name)
    return limit is not None and limit.long


__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_COMMAND_CHARS",
    "MAX_DETAILS_CHARS",
    "MAX_MENTIONS",
    "MAX_PERSON_CHARS",
    "MAX_QUESTION_CHARS",
    "MAX_TITLE_CHARS",
    "PEOPLE_FIELDS",
    "TEXT_LIMITS",
    "TextLimit",
    "clean_text",
    "is_blank",
    "multiline",
    "person_too_long",
    "text_error",
    "text_limit",
    "too_long",
    "too_many_people",
]


def check_length(value: str, limit: int, what: str) -> str:
    """``value`` when it fits in ``limit`` characters, else a UsageError stating the limit."""
    if len(value) > limit:
        raise UsageError(too_long(what, len(value), limit))
    return value
