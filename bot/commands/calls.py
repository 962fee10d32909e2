"""Typed calls: what a command, an option set, a button click or a form asks the core to do.

Text, a platform's typed options, a click and a form submission are each turned into one of
these by a parser or a converter (:mod:`bot.commands.raid`, :mod:`bot.commands.log`,
:mod:`bot.commands.standup`, :mod:`bot.commands.clicks`); one handler per type runs it
(:data:`bot.commands.registry.HANDLERS`). Values that can only be checked against the item
(a date, who is named on a form) stay text and are checked by the handler after the item is
loaded; ``from_form`` then reports a problem against the form's field instead of as a usage
error, as each surface always has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from bot.domain.model import Kind, Ref, Status

# --- items -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogItem:
    """Create an item. ``verb`` starts the reply (``Logged``, ``Recorded decision``)."""

    kind: Kind
    title: str
    owner: str | None = None
    due_at: datetime | None = None
    waiting_on: str | None = None
    details: str | None = None
    likelihood: int | None = None
    impact: int | None = None
    response: str | None = None
    mitigation: str | None = None
    rationale: str | None = None
    impacts: Mapping[str, str] = field(default_factory=dict)
    approvers: tuple[str, ...] = ()
    status: Status | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    verb: str = "Logged"
    #: ``for M-1``: the milestone it is part of (checked when it is logged)
    milestone: Ref | None = None
    #: ``link JIRA-123``: tracker keys and URLs, checked
    links: tuple[str, ...] = ()

    def item_fields(self) -> dict[str, Any]:
        """The item's fields as :func:`bot.services.items.log_item` takes them."""
        fields: dict[str, Any] = {
            "owner": self.owner,
            "due_at": self.due_at,
            "waiting_on": self.waiting_on,
            "details": self.details,
            "likelihood": self.likelihood,
            "impact": self.impact,
            "response": self.response,
            "mitigation": self.mitigation,
            "rationale": self.rationale,
            "impacts": dict(self.impacts),
            "approvers": self.approvers,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "links": self.links,
        }
        if self.status is not None:
            fields["status"] = self.status
        return fields


@dataclass(frozen=True)
class ListItems:
    kind: Kind | None = None
    mode: str = ""  # "", "overdue" or "mine"
    include_closed: bool = False
    page: int = 1
    #: the filter words as given (without ``all`` and the page), for the page buttons
    words: tuple[str, ...] = ()
    #: only what is on this person's plate: they own, decide or approve it (``list @dana``)
    person: str | None = None


@dataclass(frozen=True)
class Link:
    """``/raid link <ref> <target>``: ``relation`` is ``milestone`` (``M-1``), ``depends-on``
    (a ref), ``tracker`` (a key or URL, checked) or ``remove`` (any of them)."""

    ref: Ref
    relation: str
    target: str


@dataclass(frozen=True)
class Find:
    """``/raid find <words>``: items whose title, details or notes hold every word."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Show:
    ref: Ref
    #: more items to show after the first (``show B-2 B-3``)
    more: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class History:
    ref: Ref


@dataclass(frozen=True)
class Resolve:
    ref: Ref
    note: str | None = None


@dataclass(frozen=True)
class Implement:
    ref: Ref
    note: str | None = None


@dataclass(frozen=True)
class Approve:
    ref: Ref
    note: str | None = None


@dataclass(frozen=True)
class Close:
    ref: Ref
    note: str | None = None


@dataclass(frozen=True)
class Occurred:
    ref: Ref
    note: str | None = None


@dataclass(frozen=True)
class Reopen:
    ref: Ref
    reason: str | None = None


@dataclass(frozen=True)
class Withdraw:
    ref: Ref
    reason: str | None = None


@dataclass(frozen=True)
class Note:
    ref: Ref
    text: str = ""


@dataclass(frozen=True)
class Take:
    ref: Ref


@dataclass(frozen=True)
class Assign:
    """``people`` from text or options; ``owner`` is a form's raw value, read once the item
    is loaded (``from_form``)."""

    ref: Ref
    people: tuple[str, ...] = ()
    owner: str = ""
    from_form: bool = False


@dataclass(frozen=True)
class SetDue:
    ref: Ref
    date: str
    from_form: bool = False
    #: the form (``due:B-3``) names the date field ``due``
    FORM_FIELDS: ClassVar[Mapping[str, str]] = {"date": "due"}


@dataclass(frozen=True)
class Decide:
    ref: Ref
    outcome: str
    rationale: str | None = None
    from_form: bool = False


@dataclass(frozen=True)
class Reject:
    ref: Ref
    reason: str
    from_form: bool = False


@dataclass(frozen=True)
class Supersede:
    ref: Ref
    by: Ref | None = None


@dataclass(frozen=True)
class Edit:
    """``/raid edit``, ``rename`` and ``rescore``: (field as typed, new value) pairs, applied
    together as one change (``rescore`` sets likelihood and impact at once)."""

    ref: Ref
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OpenEdit:
    """A click on an item's Edit button: its form, filled with the item's values."""

    ref: Ref


@dataclass(frozen=True)
class SaveEdit:
    """The Edit form submitted. A field left out of the form (``None``) stays as it is; one
    submitted empty is cleared (the title, likelihood and impact cannot be)."""

    ref: Ref
    title: str | None = None
    details: str | None = None
    waiting_on: str | None = None
    likelihood: str | None = None
    impact: str | None = None
    response: str | None = None
    mitigation: str | None = None
    rationale: str | None = None
    why: str | None = None
    from_form: bool = True


@dataclass(frozen=True)
class Snooze:
    ref: Ref
    days: int = 1
    #: how long as typed (``2d``, ``1 week``, ``until monday``); ``days`` when empty
    span: str = ""


@dataclass(frozen=True)
class OpenItemForm:
    """A click on a button that asks something first (who, which date, what, why)."""

    verb: str
    ref: Ref


@dataclass(frozen=True)
class Export:
    format: str = ""


@dataclass(frozen=True)
class Dashboard:
    """``/raid dashboard``: a private link to the channel's dashboard."""


@dataclass(frozen=True)
class ImportCsv:
    """Import a register from the CSV file ``filename`` (attached to the request): a dry run
    unless ``apply``. ``apply_hint`` says how to apply it where the user is
    (``/raid import register.csv apply``, Discord's ``apply`` option, ``--apply``)."""

    filename: str = ""
    apply: bool = False
    apply_hint: str = ""


@dataclass(frozen=True)
class Settings:
    """``key`` is "" to show the settings, else timezone, leads or nudges (as typed)."""

    key: str = ""
    value: str = ""


@dataclass(frozen=True)
class Stakeholders:
    """``/raid stakeholders add|remove|list``: ``people`` get (or no longer get) ``levels``."""

    action: str = "list"
    people: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Calendar:
    """``/raid calendar``: a personal calendar link; ``reset`` turns the earlier ones off."""

    reset: bool = False


# --- close-out --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Defer:
    """Put an item off until ``until`` (date text, checked by the handler) because ``reason``."""

    ref: Ref
    until: str
    reason: str
    from_form: bool = False


@dataclass(frozen=True)
class CloseOut:
    """``/raid close-out``: the checklist (``step`` empty), ``lessons`` (ask the members) or
    ``finish`` (post the final report and close the channel)."""

    step: str = ""
    #: ``lessons`` opens a standup now: the dispatcher wakes the scheduler
    wakes_scheduler: ClassVar[bool] = True


@dataclass(frozen=True)
class LessonCall:
    """``/raid lesson <text>`` logs a lesson learned; no text lists them."""

    text: str = ""


@dataclass(frozen=True)
class ReopenProject:
    reason: str = ""


@dataclass(frozen=True)
class Help:
    topic: str = ""


# --- standups and digests --------------------------------------------------------------------


@dataclass(frozen=True)
class StandupCall:
    """A /standup subcommand with its argument text (``schedule``, ``weekdays 09:30``).

    The argument stays text: most subcommands check who may change the standup before they
    read it, so a refusal comes before any complaint about the argument.
    """

    subcommand: str
    argument: str = ""
    #: a named standup (``/standup retro schedule …``); None: the channel's default one
    name: str | None = None


@dataclass(frozen=True)
class DigestCall:
    """A /digest: no words posts one now; else ``off``, ``daily 17:00``, ``weekly fri 16:00``."""

    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenStandupAnswer:
    standup_id: int | None = None


@dataclass(frozen=True)
class SaveStandupAnswer:
    standup_id: int
    answers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Track:
    standup_id: int
    person: str
    index: int
