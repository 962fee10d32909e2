"""One row per kind of item: what it is called, who it waits on, what its date means, the form
that logs it and the text grammar's usage line.

Adding a field to a kind touches this table, a migration and the renderers. Everything here is
plain data; :mod:`bot.commands.log` builds the forms from it and :mod:`bot.views.items` the
labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.limits import MAX_DETAILS_CHARS, MAX_TITLE_CHARS, TEXT_LIMITS
from bot.domain.model import LEVEL_NAMES, RESPONSES, Kind, Status

DATE_HINT = "e.g. friday, Dec 5, in 2 weeks, 2026-12-05"

#: Every field an item of any kind may carry, as history lines name it.
FIELD_LABELS: Mapping[str, str] = {
    "title": "title",
    "details": "details",
    "status": "status",
    "waiting_on": "waiting on",
    "resolution": "resolution",
    "likelihood": "likelihood",
    "impact": "impact",
    "response": "response",
    "mitigation": "mitigation",
    "outcome": "outcome",
    "rationale": "rationale",
    "impacts": "impact",
    "approvers": "approvers",
    "decision_note": "decision note",
    "decided_by": "decided by",
    "decided_at": "decided at",
    "linked_ref": "linked",
    "milestone": "milestone",
    "depends_on": "depends on",
    "links": "tracker links",
    "revisit_at": "revisit",
    "deferred_reason": "deferred because",
}

LEVEL_CHOICES = tuple((str(n), f"{n} – {LEVEL_NAMES[n]}") for n in range(1, 6))
RESPONSE_CHOICES = tuple((r, r) for r in RESPONSES)


@dataclass(frozen=True)
class FormFieldSpec:
    """One field of a kind's logging form; ``input`` is a :class:`bot.messages.InputKind`
    value and ``choices`` are (value, label) pairs."""

    name: str
    label: str
    input: str = "text"
    required: bool = False
    default: str | None = None
    hint: str | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    #: what ``owner`` is called on cards (``Approver`` of a change: its approvers)
    owner_label: str
    #: the same in a sentence: "A blocker has one owner"
    owner_role: str
    #: what a card shows when nobody is named
    no_owner: str
    #: what the item's one date means; None: the kind has no date
    date_label: str | None
    #: how a reply says the date is missing ("B-3 has no due date yet")
    no_date: str
    initial_status: Status
    #: the text grammar, as ``/raid help`` and errors show it
    usage: str
    form_title: str
    form_submit: str
    form_fields: tuple[FormFieldSpec, ...]
    #: history labels that differ from :data:`FIELD_LABELS` for this kind
    field_labels: Mapping[str, str] = field(default_factory=dict)
    #: fields (besides title and details) the kind's items carry
    fields: tuple[str, ...] = ()


_TITLE = FormFieldSpec("title", "Title", "text", True, max_length=MAX_TITLE_CHARS)
_DETAILS = FormFieldSpec("details", "Details", "long_text", max_length=MAX_DETAILS_CHARS)

KINDS: Mapping[Kind, KindSpec] = {
    Kind.BLOCKER: KindSpec(
        Kind.BLOCKER,
        owner_label="Owner",
        owner_role="owner",
        no_owner="no owner",
        date_label="Due",
        no_date="no due date",
        initial_status=Status.OPEN,
        usage="/blocker <title> [@owner] [due <date>] [waiting on <who or what>] [details <text>]",
        form_title="Log a blocker",
        form_submit="Log blocker",
        form_fields=(
            _TITLE,
            FormFieldSpec("owner", "Owner (who unblocks it)", "user"),
            FormFieldSpec("due", "Due (need-by)", "date", hint=DATE_HINT),
            FormFieldSpec(
                "waiting_on",
                "Waiting on (person or what)",
                "text",
                max_length=TEXT_LIMITS["waiting_on"].chars,
            ),
            _DETAILS,
        ),
        fields=("owner", "due_at", "waiting_on", "resolution"),
    ),
    Kind.RISK: KindSpec(
        Kind.RISK,
        owner_label="Owner",
        owner_role="owner",
        no_owner="no owner",
        date_label="Next review",
        no_date="no review date",
        initial_status=Status.OPEN,
        usage="/risk <title> [likelihood <1-5|low..very high>] [impact <1-5|low..very high>] "
        "[@owner] [review <date>] [response avoid|mitigate|transfer|accept] [mitigation <text>]",
        form_title="Log a risk",
        form_submit="Log risk",
        form_fields=(
            _TITLE,
            FormFieldSpec("likelihood", "Likelihood", "choice", True, "3", choices=LEVEL_CHOICES),
            FormFieldSpec("impact", "Impact", "choice", True, "3", choices=LEVEL_CHOICES),
            FormFieldSpec("owner", "Owner", "user"),
            FormFieldSpec("review", "Next review", "date", hint=DATE_HINT),
            FormFieldSpec("response", "Response", "choice", choices=RESPONSE_CHOICES),
            FormFieldSpec("mitigation", "Mitigation", "long_text", max_length=MAX_DETAILS_CHARS),
        ),
        fields=(
            "owner",
            "due_at",
            "likelihood",
            "impact",
            "response",
            "mitigation",
            "resolution",
            "linked_ref",
        ),
    ),
    Kind.DECISION: KindSpec(
        Kind.DECISION,
        owner_label="Decider",
        owner_role="decider",
        no_owner="no decider (a lead decides)",
        date_label="Decide by",
        no_date="no decide-by date",
        initial_status=Status.PENDING,
        usage="/decision <what was decided> [because <why>]  ·  "
        "/decision needed <question> [@decider] [by <date>]",
        form_title="Log a decision",
        form_submit="Log decision",
        form_fields=(
            FormFieldSpec(
                "title", "Decision or question", "text", True, max_length=MAX_TITLE_CHARS
            ),
            FormFieldSpec(
                "state",
                "Is it decided?",
                "choice",
                True,
                "needed",
                choices=(("needed", "A decision is needed"), ("decided", "Already decided")),
            ),
            FormFieldSpec("decider", "Decider", "user"),
            FormFieldSpec("by", "Decide by", "date", hint=DATE_HINT),
            FormFieldSpec(
                "rationale", "Rationale or context", "long_text", max_length=MAX_DETAILS_CHARS
            ),
        ),
        fields=(
            "owner",
            "due_at",
            "outcome",
            "rationale",
            "decision_note",
            "decided_by",
            "decided_at",
            "linked_ref",
        ),
    ),
    Kind.CHANGE: KindSpec(
        Kind.CHANGE,
        owner_label="Approver",
        owner_role="approver",
        no_owner="no approver (a lead decides)",
        date_label=None,
        no_date="no date",
        initial_status=Status.PROPOSED,
        usage="/change <what changes> impact <scope|schedule|cost|quality> <how>[, ...] "
        "[@approver ...] [because <why>]",
        form_title="Request a change",
        form_submit="Request change",
        form_fields=(
            FormFieldSpec("title", "What changes", "text", True, max_length=MAX_TITLE_CHARS),
            FormFieldSpec(
                "impact",
                "Impact (scope / schedule / cost / quality)",
                "text",
                True,
                hint="e.g. schedule +2 weeks, cost +8k",
                max_length=TEXT_LIMITS["impact"].chars,
            ),
            FormFieldSpec("approvers", "Approver(s)", "users"),
            FormFieldSpec("why", "Why", "long_text", max_length=MAX_DETAILS_CHARS),
            _DETAILS,
        ),
        field_labels={"rationale": "why"},
        fields=(
            "approvers",
            "impacts",
            "rationale",
            "decision_note",
            "decided_by",
            "decided_at",
        ),
    ),
    Kind.MILESTONE: KindSpec(
        Kind.MILESTONE,
        owner_label="Owner",
        owner_role="owner",
        no_owner="no owner",
        date_label="Due",
        no_date="no due date",
        initial_status=Status.OPEN,
        usage="/milestone <title> [due <date>] [@owner] [link <KEY-123 or URL>] [details <text>]",
        form_title="Plan a milestone",
        form_submit="Plan milestone",
        form_fields=(
            FormFieldSpec("title", "Milestone", "text", True, max_length=MAX_TITLE_CHARS),
            FormFieldSpec("due", "Due", "date", hint=DATE_HINT),
            FormFieldSpec("owner", "Owner", "user"),
            FormFieldSpec(
                "links",
                "Tracker link (key or URL)",
                "text",
                hint="e.g. JIRA-123 or https://github.com/acme/app/issues/12",
                max_length=500,
            ),
            _DETAILS,
        ),
        fields=("owner", "due_at", "resolution"),
    ),
}


_TITLE_WORDS = ("title", "name")
_DETAILS_WORDS = ("details", "description", "notes")

#: ``/raid edit <ref> <field> <value>``: each kind's item fields and the words that name them,
#: the first as help and errors show it. ``owner``/``approvers`` change as ``/raid assign``
#: changes them and ``due_at`` as ``/raid due`` does (same rules, same history). Discord's
#: ``field`` choices (title, details, owner, date, waiting_on, likelihood, impact, response,
#: mitigation, rationale) are among each kind's words.
EDIT_FIELDS: Mapping[Kind, Mapping[str, tuple[str, ...]]] = {
    Kind.BLOCKER: {
        "title": _TITLE_WORDS,
        "waiting_on": ("waiting on", "waiting_on", "waiting", "waiting for"),
        "owner": ("owner", "assignee"),
        "due_at": ("due", "date", "due date"),
        "details": _DETAILS_WORDS,
    },
    Kind.RISK: {
        "title": _TITLE_WORDS,
        "likelihood": ("likelihood", "probability"),
        "impact": ("impact",),
        "response": ("response",),
        "mitigation": ("mitigation",),
        "owner": ("owner", "assignee"),
        "due_at": ("review", "next review", "date", "due"),
        "details": _DETAILS_WORDS,
    },
    Kind.DECISION: {
        "title": (*_TITLE_WORDS, "question"),
        "rationale": ("rationale", "context", "because"),
        "owner": ("decider", "owner"),
        "due_at": ("by", "decide by", "date", "due"),
        "details": _DETAILS_WORDS,
    },
    Kind.CHANGE: {
        "title": _TITLE_WORDS,
        "impacts": ("impact", "impacts"),
        "rationale": ("why", "rationale", "because"),
        "approvers": ("approvers", "approver", "owner"),
        "details": _DETAILS_WORDS,
    },
    Kind.MILESTONE: {
        "title": _TITLE_WORDS,
        "owner": ("owner", "assignee"),
        "due_at": ("due", "date", "due date"),
        "details": _DETAILS_WORDS,
    },
}

#: Fields an edit may clear (``/raid edit B-3 waiting on none``).
CLEARABLE = frozenset({"details", "waiting_on", "response", "mitigation", "rationale"})
#: What clears a field.
CLEAR_WORDS = frozenset({"none", "-", "clear", "nothing"})


def is_clear(value: str) -> bool:
    """Whether an edit's value asks to clear the field."""
    return value.strip().lower() in CLEAR_WORDS


def edit_field(kind: Kind, words: str) -> str | None:
    """The item field ``words`` names for ``kind`` (``waiting on`` -> ``waiting_on``)."""
    key = " ".join(words.lower().split())
    for name, names in EDIT_FIELDS[kind].items():
        if key in names:
            return name
    return None


def edit_words(kind: Kind) -> tuple[str, ...]:
    """The words help and errors offer for ``kind`` (one per field)."""
    return tuple(names[0] for names in EDIT_FIELDS[kind].values())


def spec(kind: Kind) -> KindSpec:
    return KINDS[kind]


def field_label(kind: Kind, name: str) -> str:
    """How history lines name one of an item's fields (``due_at`` of a risk: next review)."""
    row = KINDS[kind]
    if name == "due_at":
        return (row.date_label or "date").lower()
    if name == "owner":
        return row.owner_label.lower()
    return row.field_labels.get(name) or FIELD_LABELS.get(name, name.replace("_", " "))


__all__ = [
    "CLEARABLE",
    "CLEAR_WORDS",
    "DATE_HINT",
    "EDIT_FIELDS",
    "FIELD_LABELS",
    "KINDS",
    "LEVEL_CHOICES",
    "MAX_DETAILS_CHARS",
    "MAX_TITLE_CHARS",
    "RESPONSE_CHOICES",
    "FormFieldSpec",
    "KindSpec",
    "edit_field",
    "edit_words",
    "field_label",
    "is_clear",
    "spec",
]
