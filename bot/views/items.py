"""How items, lists and histories look: Item -> Card / list line / history line.

All wording users see about an item lives here, so Slack, Discord and the console show the
same thing.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.model import (
    DATE_LABEL,
    IMPACT_AREAS,
    OWNER_LABEL,
    RESPONSES,
    Change,
    Event,
    Item,
    Kind,
    Status,
)
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    Form,
    FormField,
    InputKind,
    Reply,
    Tone,
    Visibility,
)
from bot.text.dates import format_age, format_datetime, format_relative
from bot.text.parsing import LEVEL_NAMES, mention

_FIELD_LABELS = {
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
}


def field_label(kind: Kind, name: str) -> str:
    if name == "due_at":
        return DATE_LABEL.get(kind, "date").lower()
    if name == "owner":
        return OWNER_LABEL[kind].lower()
    if name == "rationale" and kind is Kind.CHANGE:
        return "why"
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def level(value: int | None) -> str:
    return "—" if value is None else f"{LEVEL_NAMES[value]} ({value})"


def when(dt: datetime, tz: str, now: datetime) -> str:
    return f"{format_datetime(dt, tz, now)} ({format_relative(dt, now)})"


def _owner_text(item: Item) -> str:
    if item.kind is Kind.CHANGE:
        return ", ".join(mention(p) for p in item.approvers) or "no approver (a lead decides)"
    if item.owner:
        return mention(item.owner)
    return "no decider (a lead decides)" if item.kind is Kind.DECISION else "no owner"


def item_fields(item: Item, tz: str, now: datetime) -> tuple[Field, ...]:
    fields: list[Field] = [Field(OWNER_LABEL[item.kind], _owner_text(item))]
    if item.kind in DATE_LABEL and (item.due_at or item.active):
        if item.due_at:
            text = when(item.due_at, tz, now)
            if item.overdue(now):
                text += " — OVERDUE"
            fields.append(Field(DATE_LABEL[item.kind], text))
        else:
            fields.append(Field(DATE_LABEL[item.kind], "no date"))
    if item.kind is Kind.BLOCKER and item.waiting_on:
        fields.append(Field("Waiting on", item.waiting_on))
    if item.kind is Kind.RISK:
        fields.append(Field("Likelihood", level(item.likelihood)))
        fields.append(Field("Impact", level(item.impact)))
        fields.append(Field("Score", str(item.score) if item.score else "—"))
        if item.response:
            fields.append(Field("Response", item.response))
        if item.mitigation:
            fields.append(Field("Mitigation", item.mitigation))
    if item.kind is Kind.DECISION:
        if item.outcome:
            fields.append(Field("Outcome", item.outcome))
        if item.rationale:
            fields.append(Field("Rationale", item.rationale))
    if item.kind is Kind.CHANGE:
        # In the order of IMPACT_AREAS: PostgreSQL's JSONB does not keep the typed order.
        impacts = "; ".join(
            f"{area} {item.impacts[area]}" for area in IMPACT_AREAS if area in item.impacts
        )
        fields.append(Field("Impact", impacts or "—"))
        if item.rationale:
            fields.append(Field("Why", item.rationale))
    if item.decided_by and item.decided_at:
        verb = {Status.REJECTED: "Rejected by"}.get(item.status, "Decided by")
        if item.kind is Kind.CHANGE and item.status is not Status.REJECTED:
            verb = "Approved by"
        fields.append(
            Field(verb, f"{mention(item.decided_by)}, {format_datetime(item.decided_at, tz, now)}")
        )
    if item.decision_note:
        fields.append(Field("Decision note", item.decision_note))
    if item.resolution:
        fields.append(Field("Resolution", item.resolution))
    if item.linked_ref:
        fields.append(Field("Linked", item.linked_ref))
    if item.details:
        fields.append(Field("Details", item.details))
    reported = format_datetime(item.created_at, tz, now)
    age = format_age(item.created_at, now)
    fields.append(Field("Reported", f"by {mention(item.reporter)}, {reported} (age {age})"))
    return tuple(fields)


def item_actions(item: Item) -> tuple[Action, ...]:
    """The buttons an item offers in its current state."""
    ref = str(item.ref)
    actions: list[Action] = []
    if item.kind is Kind.BLOCKER and item.status is Status.OPEN:
        actions = [Action("Resolve", f"resolve:{ref}", "primary"), take_action(ref)]
        actions += [assign_action(item), due_action(item)]
    elif item.kind is Kind.BLOCKER and item.status is Status.RESOLVED:
        actions = [Action("Reopen", f"reopen:{ref}")]
    elif item.kind is Kind.RISK and item.status is Status.OPEN:
        actions = [
            Action("Close", f"close:{ref}", "primary"),
            Action("It happened", f"occurred:{ref}", "danger"),
            take_action(ref),
            assign_action(item),
            due_action(item),
        ]
    elif item.kind is Kind.DECISION and item.status is Status.PENDING:
        actions = [decide_action(ref), reject_action(ref), assign_action(item), due_action(item)]
    elif item.kind is Kind.CHANGE and item.status is Status.PROPOSED:
        actions = [Action("Approve", f"approve:{ref}", "primary"), reject_action(ref)]
    elif item.kind is Kind.CHANGE and item.status is Status.APPROVED:
        actions = [Action("Mark implemented", f"implemented:{ref}", "primary")]
    return tuple(actions)


def take_action(ref: str) -> Action:
    return Action("Take it", f"take:{ref}")


def assign_action(item: Item) -> Action:
    ref = str(item.ref)
    many = item.kind is Kind.CHANGE
    label = OWNER_LABEL[item.kind] + ("s" if many else "")
    return Action(
        "Assign",
        f"assign:{ref}",
        form=Form(
            f"assign:{ref}",
            f"Assign {ref}",
            (FormField("owner", label, InputKind.USERS if many else InputKind.USER, True),),
            "Assign",
        ),
    )


def due_action(item: Item) -> Action:
    ref = str(item.ref)
    label = DATE_LABEL.get(item.kind, "Date")
    return Action(
        "New date",
        f"due:{ref}",
        form=Form(
            f"due:{ref}",
            f"New date for {ref}",
            (FormField("due", label, InputKind.DATE, True, hint="e.g. friday, Dec 5, in 2 weeks"),),
            "Set date",
        ),
    )


def decide_action(ref: str) -> Action:
    return Action(
        "Decide",
        f"decide:{ref}",
        "primary",
        form=Form(
            f"decide:{ref}",
            f"Decide {ref}",
            (
                FormField("outcome", "What was decided", InputKind.TEXT, True, max_length=300),
                FormField("rationale", "Why", InputKind.LONG_TEXT, max_length=3000),
            ),
            "Decide",
        ),
    )


def reject_action(ref: str) -> Action:
    return Action(
        "Reject",
        f"reject:{ref}",
        "danger",
        form=Form(
            f"reject:{ref}",
            f"Reject {ref}",
            (FormField("reason", "Reason", InputKind.LONG_TEXT, True, max_length=3000),),
            "Reject",
        ),
    )


def card(item: Item, tz: str, now: datetime, *, with_actions: bool = True) -> Card:
    return Card(
        ref=str(item.ref),
        kind=item.kind.label,
        title=item.title,
        status=item.status.label,
        fields=item_fields(item, tz, now),
        actions=item_actions(item) if with_actions else (),
        overdue=item.overdue(now),
        due_at=item.due_at,
        created_at=item.created_at,
        url=item.source_url,
    )


def changed_reply(verb: str, tz: str, now: datetime, *items: Item) -> Reply:
    """What the channel sees when items were created or changed: ``Resolved B-3: title``."""
    item = items[0]
    return Reply(
        text=f"{verb} {item.ref}: {item.title}",
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
        cards=tuple(card(i, tz, now) for i in items),
        item_ref=str(item.ref),
    )


def list_line(item: Item, tz: str, now: datetime) -> str:
    """One line of a list: ref, title, owner, date, age, and what needs attention."""
    parts = [f"*{item.ref}* {item.title}", _owner_text(item)]
    if item.kind is Kind.RISK and item.score:
        parts.append(f"score {item.score}")
    if item.due_at and item.kind in DATE_LABEL:
        parts.append(f"{DATE_LABEL[item.kind].lower()} {format_datetime(item.due_at, tz, now)}")
    parts.append(f"age {format_age(item.created_at, now)}")
    if not item.active or item.kind in (Kind.DECISION, Kind.CHANGE):
        parts.append(item.status.label)
    line = " · ".join(parts)
    if item.overdue(now):
        line += " · OVERDUE"
    return line


def _change_value(kind: Kind, change_field: str, value: str | None, tz: str, now: datetime) -> str:
    if value is None:
        return "nothing"
    if change_field in ("due_at", "decided_at"):
        try:
            return format_datetime(datetime.fromisoformat(value), tz, now)
        except ValueError:
            return value
    return value


def describe_change(kind: Kind, change: Change, tz: str, now: datetime) -> str:
    label = field_label(kind, change.field)
    new = _change_value(kind, change.field, change.new, tz, now)
    if change.old is None:
        return f"{label}: {new}"
    old = _change_value(kind, change.field, change.old, tz, now)
    return f"{label} from {old} to {new}"


def history_line(kind: Kind, event: Event, tz: str, now: datetime) -> str:
    head = f"{format_datetime(event.at, tz, now)} · {mention(event.actor)} {event.action}"
    details = [describe_change(kind, c, tz, now) for c in event.changes]
    if event.note:
        details.append(f"“{event.note}”")
    return head + (": " + "; ".join(details) if details else "")


def level_choices() -> tuple[Choice, ...]:
    return tuple(Choice(str(n), f"{n} – {LEVEL_NAMES[n]}") for n in range(1, 6))


def response_choices() -> tuple[Choice, ...]:
    return tuple(Choice(r, r) for r in RESPONSES)
