"""How items, lists and histories look: Item -> Card / list line / history line.

All wording users see about an item lives here, so Slack, Discord and the console show the
same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import actions
from bot.domain import kinds, rules
from bot.domain.model import IMPACT_AREAS, Change, Event, Item, Kind, Ref, Status
from bot.domain.plan import HealthReport
from bot.domain.scores import band, score_text
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
from bot.services.plan import ItemPlan, Linked, TrackerLink
from bot.text.dates import (
    format_age,
    format_date,
    format_datetime,
    format_relative,
)
from bot.text.parsing import LEVEL_NAMES, mention

#: How an approval or decision of one's own request is marked on the card and in the history.
SELF_APPROVED = "self-approved"


def field_label(kind: Kind, name: str) -> str:
    return kinds.field_label(kind, name)


def level(value: int | None) -> str:
    return "—" if value is None else f"{LEVEL_NAMES[value]} ({value})"


def when(dt: datetime, tz: str, now: datetime) -> str:
    return f"{format_datetime(dt, tz, now)} ({format_relative(dt, now)})"


def was(item: Item, baseline: datetime | None, tz: str, now: datetime) -> str | None:
    """``was Mon 7 Dec``: the baseline (the first date the item was given) once the date has
    moved away from it; None while the date is the baseline."""
    if baseline is None or item.due_at is None or baseline == item.due_at:
        return None
    day = format_date(baseline, tz, now)
    if day == format_date(item.due_at, tz, now):  # same day, another time
        day = format_datetime(baseline, tz, now)
    return f"was {day}"


def _owner_text(item: Item) -> str:
    if item.kind is Kind.CHANGE:
        return ", ".join(mention(p) for p in item.approvers) or "no approver (a lead decides)"
    if item.owner:
        return mention(item.owner)
    return kinds.KINDS[item.kind].no_owner


def health_text(report: HealthReport, *, why: bool = True) -> str:
    """``at risk: blocker B-3 is open; due in 2 working days with 3 items open``."""
    if why and report.reasons:
        return f"{report.health.value}: {'; '.join(report.reasons)}"
    return report.health.value


def link_text(link: TrackerLink) -> str:
    """A tracker link as chat shows it: the key and its address, or the address alone, the
    address written as the platforms' own plain link (``<https://…>``), whose label is
    itself (:mod:`bot.text.markup`); never a label anyone typed."""
    if link.url is None:
        return link.label
    if link.url == link.label:
        return f"<{link.url}>"
    return f"{link.label} <{link.url}>"


def plan_fields(item: Item, plan: ItemPlan | None) -> list[Field]:
    """What a card shows of the item's place in the plan: a milestone's health and items,
    the milestone an item is part of, its dependencies both ways, its tracker links."""
    fields: list[Field] = []
    if plan is not None and plan.health is not None:
        fields.append(Field("Health", health_text(plan.health)))
    if plan is not None and plan.members is not None and item.kind is Kind.MILESTONE:
        fields.append(Field("Open items", ", ".join(plan.members) or "none"))
    if item.milestone:
        fields.append(Field("Milestone", item.milestone))
    if item.depends_on:
        fields.append(Field("Depends on", ", ".join(item.depends_on)))
    if plan is not None and plan.needed_by:
        fields.append(Field("Needed by", ", ".join(plan.needed_by)))
    if item.links:
        links = (
            plan.links
            if plan is not None
            else tuple(TrackerLink(x, x if "://" in x else None) for x in item.links)
        )
        fields.append(Field("Tracker", ", ".join(link_text(link) for link in links)))
    return fields


def item_fields(
    item: Item,
    tz: str,
    now: datetime,
    baseline: datetime | None = None,
    plan: ItemPlan | None = None,
) -> tuple[Field, ...]:
    row = kinds.KINDS[item.kind]
    fields: list[Field] = [Field(row.owner_label, _owner_text(item))]
    if row.date_label is not None and (item.due_at or item.active):
        if item.due_at:
            text = when(item.due_at, tz, now)
            if moved := was(item, baseline, tz, now):
                text = f"{text[:-1]}; {moved})"
            if item.overdue(now):
                text += " — OVERDUE"
            fields.append(Field(row.date_label, text))
        else:
            fields.append(Field(row.date_label, "no date"))
    if item.kind is Kind.BLOCKER and item.waiting_on:
        fields.append(Field("Waiting on", item.waiting_on))
    if item.kind is Kind.RISK:
        fields.append(Field("Likelihood", level(item.likelihood)))
        fields.append(Field("Impact", level(item.impact)))
        fields.append(Field("Score", score_text(item.likelihood, item.impact)))
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
        who = mention(item.decided_by)
        if rules.self_approved(item):
            who += f" ({SELF_APPROVED})"
        fields.append(Field(verb, f"{who}, {format_datetime(item.decided_at, tz, now)}"))
    if item.decision_note:
        fields.append(Field("Decision note", item.decision_note))
    if item.resolution:
        fields.append(Field("Resolution", item.resolution))
    if item.linked_ref:
        fields.append(Field("Linked", item.linked_ref))
    if item.status is Status.DEFERRED:
        if item.revisit_at:
            fields.append(Field("Revisit", when(item.revisit_at, tz, now)))
        if item.deferred_reason:
            fields.append(Field("Deferred because", item.deferred_reason))
    fields.extend(plan_fields(item, plan))
    if item.details:
        fields.append(Field("Details", item.details))
    reported = format_datetime(item.created_at, tz, now)
    age = format_age(item.created_at, now)
    fields.append(Field("Reported", f"by {mention(item.reporter)}, {reported} (age {age})"))
    return tuple(fields)


def item_actions(item: Item) -> tuple[Action, ...]:
    """The buttons an item offers in its current state."""
    ref = str(item.ref)
    actions_: list[Action] = []
    if item.kind is Kind.BLOCKER and item.status is Status.OPEN:
        actions_ = [Action("Resolve", actions.resolve(ref), "primary"), take_action(ref)]
        actions_ += [assign_action(item), due_action(item), edit_action(item)]
    elif item.kind is Kind.BLOCKER and item.status is Status.RESOLVED:
        actions_ = [Action("Reopen", actions.reopen(ref))]
    elif item.kind is Kind.RISK and item.status is Status.OPEN:
        actions_ = [
            Action("Close", actions.close(ref), "primary"),
            Action("It happened", actions.occurred(ref), "danger"),
            take_action(ref),
            assign_action(item),
            due_action(item),
            edit_action(item),
        ]
    elif item.kind is Kind.DECISION and item.status is Status.PENDING:
        actions_ = [decide_action(ref), reject_action(ref), assign_action(item), due_action(item)]
        actions_.append(edit_action(item))
    elif item.kind is Kind.CHANGE and item.status is Status.PROPOSED:
        actions_ = [Action("Approve", actions.approve(ref), "primary"), reject_action(ref)]
        actions_.append(edit_action(item))
    elif item.kind is Kind.CHANGE and item.status is Status.APPROVED:
        actions_ = [Action("Mark implemented", actions.implemented(ref), "primary")]
    elif item.kind is Kind.MILESTONE and item.status is Status.OPEN:
        actions_ = [Action("Mark done", actions.resolve(ref), "primary"), take_action(ref)]
        actions_ += [assign_action(item), due_action(item), edit_action(item)]
    elif item.status is Status.DEFERRED or (
        item.kind is Kind.MILESTONE and item.status is Status.DONE
    ):
        actions_ = [Action("Reopen", actions.reopen(ref))]
    return tuple(actions_)


def edit_action(item: Item) -> Action:
    """Edit: opens the item's form filled with its values (needs the database: no form here)."""
    return Action("Edit", actions.edit(item.ref))


#: The fields of each kind's Edit form, in order (owner and date have their own buttons).
_EDIT_FORM = {
    Kind.BLOCKER: ("title", "waiting_on", "details"),
    Kind.RISK: ("title", "likelihood", "impact", "response", "mitigation", "details"),
    Kind.DECISION: ("title", "rationale", "details"),
    Kind.CHANGE: ("title", "impact", "why", "details"),
    Kind.MILESTONE: ("title", "details"),
}


def _form_value(item: Item, name: str) -> str | None:
    if name == "impact" and item.kind is Kind.CHANGE:
        return (
            "; ".join(
                f"{area} {item.impacts[area]}" for area in IMPACT_AREAS if area in item.impacts
            )
            or None
        )
    value = getattr(item, "rationale" if name == "why" else name)
    return None if value is None else str(value)


def edit_form(item: Item) -> Form:
    """The item's own form, each field filled with its current value."""
    row = kinds.KINDS[item.kind]
    details = kinds.FormFieldSpec("details", "Details", "long_text", max_length=3000)
    fields = []
    for name in _EDIT_FORM[item.kind]:
        spec = next((f for f in row.form_fields if f.name == name), details)
        fields.append(
            FormField(
                name,
                spec.label,
                InputKind(spec.input),
                spec.required,
                _form_value(item, name),
                hint=spec.hint,
                choices=tuple(Choice(value, label) for value, label in spec.choices),
                max_length=spec.max_length,
            )
        )
    return Form(actions.edit(item.ref), f"Edit {item.ref}", tuple(fields), "Save")


def take_action(ref: str) -> Action:
    return Action("Take it", actions.take(ref))


def assign_form(ref: Ref) -> Form:
    """Who: the owner, the decider or a change request's approvers."""
    many = ref.kind is Kind.CHANGE
    label = kinds.KINDS[ref.kind].owner_label + ("s" if many else "")
    return Form(
        actions.assign(ref),
        f"Assign {ref}",
        (FormField("owner", label, InputKind.USERS if many else InputKind.USER, True),),
        "Assign",
    )


def assign_action(item: Item) -> Action:
    return Action("Assign", actions.assign(item.ref), form=assign_form(item.ref))


def due_form(ref: Ref) -> Form:
    label = kinds.KINDS[ref.kind].date_label or "Date"
    return Form(
        actions.due(ref),
        f"New date for {ref}",
        (FormField("due", label, InputKind.DATE, True, hint="e.g. friday, Dec 5, in 2 weeks"),),
        "Set date",
    )


def due_action(item: Item) -> Action:
    return Action("New date", actions.due(item.ref), form=due_form(item.ref))


def decide_form(ref: Ref | str) -> Form:
    return Form(
        actions.decide(ref),
        f"Decide {ref}",
        (
            FormField("outcome", "What was decided", InputKind.TEXT, True, max_length=300),
            FormField("rationale", "Why", InputKind.LONG_TEXT, max_length=3000),
        ),
        "Decide",
    )


def decide_action(ref: str) -> Action:
    return Action("Decide", actions.decide(ref), "primary", form=decide_form(ref))


def reject_form(ref: Ref | str) -> Form:
    return Form(
        actions.reject(ref),
        f"Reject {ref}",
        (FormField("reason", "Reason", InputKind.LONG_TEXT, True, max_length=3000),),
        "Reject",
    )


def reject_action(ref: str) -> Action:
    return Action("Reject", actions.reject(ref), "danger", form=reject_form(ref))


def defer_form(ref: Ref | str) -> Form:
    return Form(
        actions.defer(ref),
        f"Defer {ref}",
        (
            FormField("until", "Revisit on", InputKind.DATE, True, hint=kinds.DATE_HINT),
            FormField("reason", "Why it is deferred", InputKind.LONG_TEXT, True, max_length=3000),
        ),
        "Defer",
    )


def defer_action(item: Item) -> Action:
    """Defer (close-out): put the item off until a date, for a reason."""
    return Action("Defer", actions.defer(item.ref), form=defer_form(item.ref))


def item_form(verb: str, ref: Ref) -> Form | None:
    """The form an item button with ``verb`` opens (who, which date, what, why), if any."""
    if verb == "defer":
        return defer_form(ref)
    if verb == "assign":
        return assign_form(ref)
    if verb == "due":
        return due_form(ref)
    if verb == "decide":
        return decide_form(ref)
    if verb == "reject":
        return reject_form(ref)
    return None


def card(
    item: Item,
    tz: str,
    now: datetime,
    *,
    with_actions: bool = True,
    baseline: datetime | None = None,
    plan: ItemPlan | None = None,
) -> Card:
    """``baseline``: the first date the item was given, shown once its date has moved;
    ``plan``: its place in the plan (a milestone's health, dependencies, tracker links)."""
    status = item.status.label
    if plan is not None and plan.health is not None and item.active:
        status = f"{status} · {plan.health.health.value}"
    return Card(
        ref=str(item.ref),
        kind=item.kind.label,
        title=item.title,
        status=status,
        fields=item_fields(item, tz, now, baseline, plan),
        actions=item_actions(item) if with_actions else (),
        overdue=item.overdue(now),
        due_at=item.due_at,
        created_at=item.created_at,
        url=item.source_url,
    )


def not_a_working_day(
    item: Item, tz: str, now: datetime, day_off: Callable[[date], str | None]
) -> str | None:
    """A line for a reply that has just set ``item``'s date when that date (in ``tz``) is a
    day off of the channel (``day_off`` gives why: outside its work week, a public holiday, an
    extra day off): the date is kept as given, and the line shows how to move it to the
    working day before (or, when that is past, the working day after). None on a working day."""
    when = item.due_at
    if when is None:
        return None
    local = when.astimezone(ZoneInfo(tz))
    why = day_off(local.date())
    if why is None:
        return None
    reason = "" if why.startswith("outside the work week") else f" ({why})"
    text = f"{format_date(when, tz, now)} is not a working day{reason}; the date is kept as given."
    moved = _working_day_near(local, now, day_off)
    if moved is None:
        return text
    return (
        f"{text} To move it to {format_date(moved, tz, now)}: "
        f"`/raid due {item.ref} {moved.date().isoformat()}`."
    )


def _working_day_near(
    local: datetime, now: datetime, day_off: Callable[[date], str | None]
) -> datetime | None:
    """The nearest working day before ``local`` that is still ahead of ``now``, else the first
    one after it (within two weeks either way)."""
    for days in range(1, 15):
        earlier = local - timedelta(days=days)
        if earlier <= now:
            break
        if day_off(earlier.date()) is None:
            return earlier
    for days in range(1, 15):
        later = local + timedelta(days=days)
        if day_off(later.date()) is None:
            return later
    return None


def with_note(reply: Reply, note: str | None) -> Reply:
    """``reply`` with ``note`` as a line of its own after its text (unchanged for None)."""
    return reply if note is None else replace(reply, text=f"{reply.text}\n{note}")


def changed_reply(
    verb: str,
    tz: str,
    now: datetime,
    *items: Item,
    baselines: Mapping[int, datetime] | None = None,
    plans: Mapping[int, ItemPlan] | None = None,
) -> Reply:
    """What the channel sees when items were created or changed: ``Resolved B-3: title``.
    ``baselines``: item id -> its first date, for the items whose date has moved;
    ``plans``: item id -> its place in the plan."""
    item = items[0]
    firsts = baselines or {}
    places = plans or {}
    return Reply(
        text=f"{verb} {item.ref}: {item.title}",
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
        cards=tuple(
            card(i, tz, now, baseline=firsts.get(i.id or 0), plan=places.get(i.id or 0))
            for i in items
        ),
        item_ref=str(item.ref),
    )


def linked_text(done: Linked) -> str:
    """What ``/raid link`` says it did."""
    ref = done.item.ref
    if done.removed:
        what = {
            "milestone": f"is no longer part of {done.target}",
            "depends-on": f"no longer depends on {done.target}",
        }.get(done.relation, f"no longer links to {done.target}")
        return f"{ref} {what}."
    if done.relation == "milestone":
        return f"{ref} is part of milestone {done.target} now."
    if done.relation == "depends-on":
        return f"{ref} depends on {done.target} now; {done.target} shows {ref} as needing it."
    return f"{ref} links to {done.target} now."


def dependents_note(item: Item, waiting: Sequence[Item]) -> str | None:
    """Tell the owners of the open items that depended on ``item``, now finished, that it
    is: ``<@dana>: B-4 was waiting for B-2, which is resolved.``"""
    if not waiting:
        return None
    lines = []
    for other in waiting:
        who = f"{mention(other.owner)}: " if other.owner else ""
        lines.append(f"{who}{other.ref} was waiting for {item.ref}, which is {item.status.label}.")
    return "\n".join(lines)


def decision_for_someone_else(item: Item) -> str:
    """Why a decision recorded as taken by someone else was logged as pending instead."""
    who = mention(item.owner) if item.owner else "its decider"
    return (
        f"{item.ref} waits on {who} to decide it: a decision is recorded as taken only by "
        "the person who took it."
    )


def list_line(
    item: Item,
    tz: str,
    now: datetime,
    baseline: datetime | None = None,
    health: HealthReport | None = None,
) -> str:
    """One line of a list: ref, title, owner, date (and the first one, once it moved), age,
    and what needs attention; a milestone's health."""
    parts = [f"*{item.ref}* {item.title}", _owner_text(item)]
    if item.kind is Kind.RISK and item.score:
        parts.append(f"score {item.score} ({band(item.score)})")
    date_label = kinds.KINDS[item.kind].date_label
    if item.due_at and date_label is not None:
        date_text = f"{date_label.lower()} {format_datetime(item.due_at, tz, now)}"
        if moved := was(item, baseline, tz, now):
            date_text += f" ({moved})"
        parts.append(date_text)
    parts.append(f"age {format_age(item.created_at, now)}")
    if not item.active or item.kind in (Kind.DECISION, Kind.CHANGE):
        parts.append(item.status.label)
    if health is not None and item.active:
        parts.append(health.health.value)
    if item.status is Status.DEFERRED and item.revisit_at:
        parts.append(f"revisit {format_datetime(item.revisit_at, tz, now)}")
    line = " · ".join(parts)
    if item.overdue(now):
        line += " · OVERDUE"
    return line


#: Fields kept for raidline's own bookkeeping, never shown in a history (older "created"
#: events list some of them).
HIDDEN_FIELDS = frozenset({"date_moves", "nudge_count", "last_nudged_at"})

#: Fields whose stored values are dates (ISO 8601).
DATE_FIELDS = frozenset({"due_at", "decided_at", "snoozed_until", "revisit_at"})


def _same(text: str) -> str:
    return text


def _change_value(
    change_field: str,
    value: str | None,
    date: Callable[[datetime], str],
    text: Callable[[str], str],
) -> str:
    if value is None:
        return "nothing"
    if change_field in DATE_FIELDS:
        try:
            return date(datetime.fromisoformat(value))
        except ValueError:
            return text(value)
    return text(value)


def describe_change(
    kind: Kind,
    change: Change,
    tz: str,
    now: datetime,
    *,
    date: Callable[[datetime], str] | None = None,
    text: Callable[[str], str] = _same,
) -> str:
    """``due: Fri 27 Nov 17:00 CET → Tue 1 Dec 17:00 CET``. ``date`` writes a date
    (default: as chat shows it) and ``text`` any stored text (default: as stored)."""
    show_date = date or (lambda dt: format_datetime(dt, tz, now))
    label = field_label(kind, change.field)
    new = _change_value(change.field, change.new, show_date, text)
    if change.old is None:
        return f"{label}: {new}"
    old = _change_value(change.field, change.old, show_date, text)
    return f"{label}: {old} → {new}"


def history_line(
    kind: Kind,
    event: Event,
    tz: str,
    now: datetime,
    *,
    reporter: str | None = None,
    date: Callable[[datetime], str] | None = None,
    person: Callable[[str], str] = mention,
    text: Callable[[str], str] = _same,
) -> str:
    """``reporter``: the item's reporter, so an approval or decision of their own request
    says "self-approved". ``date``, ``person`` and ``text`` write dates, the actor and stored
    texts; by default as chat shows them (exports name people and write absolute dates)."""
    action = event.action
    if reporter is not None and event.actor == reporter and action in rules.APPROVING_ACTIONS:
        action += f" ({SELF_APPROVED})"
    show_date = date or (lambda dt: format_datetime(dt, tz, now))
    head = f"{show_date(event.at)} · {person(event.actor)} {action}"
    details = [
        describe_change(kind, c, tz, now, date=show_date, text=text)
        for c in event.changes
        if c.field not in HIDDEN_FIELDS
    ]
    if event.note:
        details.append(f"“{text(event.note)}”")
    return head + (": " + "; ".join(details) if details else "")


def score_lines(events: Sequence[Event], tz: str, now: datetime) -> tuple[str, ...]:
    """A risk's score over time, oldest first: ``Wed 25 Nov 10:00 · 6 (medium) · @ana``."""
    return tuple(
        f"{format_datetime(e.at, tz, now)} · {c.new or 'not scored'} · {mention(e.actor)}"
        for e in events
        for c in e.changes
        if c.field == "score"
    )


def level_choices() -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in kinds.LEVEL_CHOICES)


def response_choices() -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in kinds.RESPONSE_CHOICES)
