"""The action-id grammar: what a button or a form carries back to the core.

An action id is ``verb:argument``: ``resolve:B-3``, ``snooze:B-3:1d``, ``track:7:U1:0``,
``standup_answer:7``, ``new:blocker``, ``list:overdue:2``. They are stored in messages that
stay clickable for weeks, so the grammar only ever grows. The builders below are the only code
that writes action ids and :func:`parse` the only code that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Kind, Ref
from bot.errors import UsageError

#: Verbs whose argument is one item's ref (``resolve:B-3``).
ITEM_VERBS = frozenset(
    {
        "resolve",
        "take",
        "assign",
        "due",
        "approve",
        "reject",
        "decide",
        "close",
        "occurred",
        "reopen",
        "withdraw",
        "implemented",
        "note",
        "edit",
        "defer",
    }
)
#: Of those, the verbs whose click opens a form first (who, which date, what, why).
FORM_VERBS = frozenset({"assign", "due", "decide", "reject", "defer"})
#: Every verb the core knows.
VERBS = ITEM_VERBS | {"new", "list", "standup_answer", "track", "snooze"}


@dataclass(frozen=True)
class ParsedAction:
    """One action id, read: its verb and the typed arguments that verb has."""

    verb: str
    ref: Ref | None = None  # item verbs and snooze
    days: int | None = None  # snooze
    kind: Kind | None = None  # new
    standup_id: int | None = None  # standup_answer, track
    person: str | None = None  # track
    index: int | None = None  # track
    filter: str = ""  # list: the list's words (``overdue``, ``risks all``)
    page: int | None = None  # list


# --- builders --------------------------------------------------------------------------------


def item_action(verb: str, ref: Ref | str) -> str:
    """``resolve:B-3`` and the other item verbs."""
    if verb not in ITEM_VERBS:
        raise ValueError(f"{verb!r} is not an item action verb")
    return f"{verb}:{ref}"


def resolve(ref: Ref | str) -> str:
    return item_action("resolve", ref)


def take(ref: Ref | str) -> str:
    return item_action("take", ref)


def assign(ref: Ref | str) -> str:
    return item_action("assign", ref)


def due(ref: Ref | str) -> str:
    return item_action("due", ref)


def approve(ref: Ref | str) -> str:
    return item_action("approve", ref)


def reject(ref: Ref | str) -> str:
    return item_action("reject", ref)


def decide(ref: Ref | str) -> str:
    return item_action("decide", ref)


def close(ref: Ref | str) -> str:
    return item_action("close", ref)


def occurred(ref: Ref | str) -> str:
    return item_action("occurred", ref)


def reopen(ref: Ref | str) -> str:
    return item_action("reopen", ref)


def implemented(ref: Ref | str) -> str:
    return item_action("implemented", ref)


def defer(ref: Ref | str) -> str:
    """Defer (close-out): opens the form that asks until when and why."""
    return item_action("defer", ref)


def edit(ref: Ref | str) -> str:
    """The Edit button, and the id of the Edit form it opens (filled from the database)."""
    return item_action("edit", ref)


def snooze(ref: Ref | str, days: int = 1) -> str:
    return f"snooze:{ref}:{days}d"


def new_form(kind: Kind) -> str:
    """The id of the logging form of ``kind`` (``new:blocker``)."""
    return f"new:{kind.value}"


def list_page(filter: str, page: int) -> str:
    """Another page of ``/raid list <filter>``."""
    return f"list:{filter}:{page}"


def standup_answer(standup_id: int) -> str:
    return f"standup_answer:{standup_id}"


def track(standup_id: int, person: str, index: int) -> str:
    """Track what ``person``'s answer ``index`` to standup ``standup_id`` named."""
    return f"track:{standup_id}:{person}:{index}"


# --- the parser ------------------------------------------------------------------------------


def _number(text: str) -> int:
    if not text.isdigit():
        raise UsageError(f"`{text}` is not a number I expected here.")
    return int(text)


def _ref(text: str) -> Ref:
    ref = Ref.parse(text)
    if ref is None:
        raise UsageError(f"`{text}` is not a ref. Refs look like `B-3`, `R-1`, `D-2` or `C-4`.")
    return ref


def verb_of(action_id: str) -> str:
    """The verb of an action id, without checking the rest (metrics, logs)."""
    return action_id.partition(":")[0]


def parse(action_id: str) -> ParsedAction:
    """Read an action id; UsageError (the user's words) for one raidline does not know."""
    verb, _, arg = action_id.partition(":")
    if verb == "new":
        try:
            return ParsedAction(verb, kind=Kind(arg))
        except ValueError:
            raise UsageError(f"`{action_id}` is not a form I know.") from None
    if verb == "list":
        filt, _, page = arg.rpartition(":")
        if page.isdigit():
            return ParsedAction(verb, filter=filt, page=int(page))
        return ParsedAction(verb, filter=arg)
    if verb == "standup_answer":
        return ParsedAction(verb, standup_id=_number(arg))
    if verb == "track":
        standup_id, _, rest = arg.partition(":")
        person, _, index = rest.rpartition(":")
        if not person:
            raise UsageError(f"`track:{arg}` is not an action I know.")
        return ParsedAction(
            verb, standup_id=_number(standup_id), person=person, index=_number(index)
        )
    if verb == "snooze":
        ref_text, _, span = arg.partition(":")
        ref = _ref(ref_text)
        return ParsedAction(verb, ref=ref, days=_number(span.rstrip("d") or "1"))
    if verb not in ITEM_VERBS:
        raise UsageError(f"`{action_id}` is not an action I know.")
    return ParsedAction(verb, ref=_ref(arg.split(":")[0]))


__all__ = [
    "FORM_VERBS",
    "ITEM_VERBS",
    "VERBS",
    "ParsedAction",
    "approve",
    "assign",
    "close",
    "decide",
    "defer",
    "due",
    "edit",
    "implemented",
    "item_action",
    "list_page",
    "new_form",
    "occurred",
    "parse",
    "reject",
    "reopen",
    "resolve",
    "snooze",
    "standup_answer",
    "take",
    "track",
    "verb_of",
]
