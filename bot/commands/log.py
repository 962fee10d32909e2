"""/blocker, /risk, /decision, /change and /milestone: logging items from text or from a form.

Every kind takes ``for M-1`` (the milestone the item is part of) and ``link JIRA-123`` or
``link https://…`` (a tracker link), read before the kind's own grammar.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot import actions as action_ids
from bot.commands.calls import LogItem
from bot.domain import plan
from bot.domain.kinds import KINDS
from bot.domain.limits import is_blank
from bot.domain.model import Item, Kind, Ref, Status
from bot.errors import FormInvalid, UsageError
from bot.messages import Action, Choice, Form, FormField, InputKind, Reply, Tone, Visibility
from bot.services import days_off
from bot.services import items as svc
from bot.services import plan as plan_svc
from bot.services.items import Context
from bot.text.dates import parse_date
from bot.text.markup import typed_link
from bot.text.parsing import (
    OptionSpec,
    Parsed,
    ValueKind,
    check_fields,
    mention,
    parse_impacts,
    parse_level,
    parse_options,
    parse_people,
    parse_person,
    parse_response,
    person_or_text,
)
from bot.views.items import (
    assign_action,
    card,
    decision_for_someone_else,
    due_action,
    not_a_working_day,
)

USAGE = {kind: row.usage for kind, row in KINDS.items()}

_DETAILS = OptionSpec("details", ("details", "notes"), ValueKind.TEXT)
_SPECS: dict[str, tuple[OptionSpec, ...]] = {
    "blocker": (
        OptionSpec("due", ("due",), ValueKind.DATE, strong=True),
        OptionSpec("due", ("by", "until", "before"), ValueKind.DATE),
        OptionSpec("waiting_on", ("waiting on", "waiting for"), ValueKind.PERSON_OR_TEXT),
        _DETAILS,
    ),
    "risk": (
        OptionSpec("likelihood", ("likelihood", "probability"), ValueKind.LEVEL, strong=True),
        OptionSpec("impact", ("impact",), ValueKind.LEVEL),
        OptionSpec("due", ("review", "next review", "review by"), ValueKind.DATE),
        OptionSpec("due", ("due",), ValueKind.DATE, strong=True),
        OptionSpec("due", ("by",), ValueKind.DATE),
        OptionSpec("response", ("response",), ValueKind.CHOICE),
        OptionSpec("mitigation", ("mitigation", "mitigate"), ValueKind.TEXT),
        _DETAILS,
    ),
    "decision_needed": (
        OptionSpec("due", ("due",), ValueKind.DATE, strong=True),
        OptionSpec("due", ("by", "until", "before", "decide by"), ValueKind.DATE),
        OptionSpec("rationale", ("because", "context"), ValueKind.TEXT),
        _DETAILS,
    ),
    "decision": (
        OptionSpec("rationale", ("because", "rationale"), ValueKind.TEXT),
        _DETAILS,
    ),
    "milestone": (
        OptionSpec("due", ("due",), ValueKind.DATE, strong=True),
        OptionSpec("due", ("by", "on"), ValueKind.DATE),
        _DETAILS,
    ),
    "change": (
        # A change request has no date (SPEC §2): ``due`` is read only to say so.
        OptionSpec("due", ("due",), ValueKind.DATE),
        OptionSpec("impacts", ("impact", "impacts"), ValueKind.TEXT),
        OptionSpec("rationale", ("because", "why"), ValueKind.TEXT),
        _DETAILS,
    ),
}

_NEEDED_WORDS = ("needed", "need", "pending")


def _date(ctx: Context, text: str) -> datetime:
    return parse_date(text, ctx.now, ctx.timezone)


def _is_date(ctx: Context) -> Any:
    def check(text: str) -> bool:
        try:
            _date(ctx, text)
        except UsageError:
            return False
        return True

    return check


def _single_person(kind: Kind, people: list[str], role: str) -> str | None:
    if len(people) > 1:
        others = " ".join(mention(p) for p in people[1:])
        hint = " Use `waiting on @someone` for who it waits on." if kind is Kind.BLOCKER else ""
        raise UsageError(
            f"A {kind.label} has one {role}: {mention(people[0])} is the {role}; "
            f"I don't know what {others} is for.{hint}"
        )
    return people[0] if people else None


def _trailing_date(ctx: Context, parsed: Parsed, usage: str, option_words: str) -> None:
    """Words after the title that belong to no option: a bare date is taken as the date."""
    if not parsed.trailing:
        return
    if "due" not in parsed.options and _is_date(ctx)(parsed.trailing):
        parsed.options["due"] = parsed.trailing
        return
    raise UsageError(
        f"I couldn't tell what `{parsed.trailing}` means. Put it in the title (before any "
        f"@mention or option word) or after an option word: {option_words}.",
        usage=usage,
    )


def _log_reply(
    ctx: Context,
    items: list[Item],
    verb: str = "Logged",
    places: Mapping[int, plan_svc.ItemPlan] | None = None,
) -> Reply:
    item = items[0]
    places = places or {}
    cards = tuple(card(i, ctx.timezone, ctx.now, plan=places.get(i.id or 0)) for i in items)
    text = f"{verb} {item.ref}: {item.title}"
    actions: tuple[Action, ...] = ()
    if item.kind in (Kind.BLOCKER, Kind.RISK, Kind.MILESTONE) and item.active:
        missing = []
        follow: list[Action] = []
        if not item.owner:
            missing.append("no owner")
            assign = assign_action(item)
            follow += [
                Action("Take it myself", action_ids.take(item.ref)),
                Action("Assign someone", assign.action_id, form=assign.form),
            ]
        if not item.due_at:
            missing.append(KINDS[item.kind].no_date)
            follow.append(
                Action("Set a date", action_ids.due(item.ref), form=due_action(item).form)
            )
        if missing:
            text += f"\n{item.ref} has {' and '.join(missing)} yet."
            actions = tuple(follow)
    if item.kind is Kind.RISK and item.active and item.score is None:
        unscored = [n for n in ("likelihood", "impact") if getattr(item, n) is None]
        text += (
            f"\n{item.ref} has no {' or '.join(unscored)} yet, so it has no score: "
            f"`/raid rescore {item.ref} <likelihood> <impact>`, e.g. "
            f"`/raid rescore {item.ref} high medium` (each 1–5 or very low, low, medium, high, "
            "very high)."
        )
    weekend = not_a_working_day(item, ctx.timezone, ctx.now, days_off.checker(ctx))
    if item.active and weekend:
        text += f"\n{weekend}"
    return Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
        cards=cards,
        actions=actions,
        item_ref=str(item.ref),
    )


def parse_blocker(ctx: Context, text: str) -> LogItem:
    usage = USAGE[Kind.BLOCKER]
    parsed = parse_options(text, _SPECS["blocker"], is_date=_is_date(ctx), usage=usage)
    _trailing_date(ctx, parsed, usage, "`due`, `waiting on`, `details`")
    owner = _single_person(Kind.BLOCKER, parsed.people, "owner")
    fields: dict[str, Any] = {"owner": owner, "details": parsed.options.get("details")}
    if "due" in parsed.options:
        fields["due_at"] = _date(ctx, parsed.options["due"])
    if "waiting_on" in parsed.options:
        fields["waiting_on"] = parsed.options["waiting_on"]
    return LogItem(Kind.BLOCKER, _title(parsed, usage), **fields)


def parse_risk(ctx: Context, text: str) -> LogItem:
    usage = USAGE[Kind.RISK]
    parsed = parse_options(text, _SPECS["risk"], is_date=_is_date(ctx), usage=usage)
    _trailing_date(ctx, parsed, usage, "`likelihood`, `impact`, `review`, `mitigation`")
    fields: dict[str, Any] = {
        "owner": _single_person(Kind.RISK, parsed.people, "owner"),
        "details": parsed.options.get("details"),
        "mitigation": parsed.options.get("mitigation"),
    }
    if "likelihood" in parsed.options:
        fields["likelihood"] = parse_level(parsed.options["likelihood"], "likelihood")
    if "impact" in parsed.options:
        fields["impact"] = parse_level(parsed.options["impact"], "impact")
    if "response" in parsed.options:
        fields["response"] = parse_response(parsed.options["response"])
    if "due" in parsed.options:
        fields["due_at"] = _date(ctx, parsed.options["due"])
    return LogItem(Kind.RISK, _title(parsed, usage), **fields)


def parse_decision(ctx: Context, text: str) -> LogItem:
    usage = USAGE[Kind.DECISION]
    words = text.split(maxsplit=1)
    if words and words[0].lower() in _NEEDED_WORDS:
        rest = words[1] if len(words) > 1 else ""
        if not rest.strip():
            raise UsageError(
                "Say what needs deciding: `/decision needed Pick the SSO vendor @cio by Dec 5`.",
                usage=usage,
            )
        parsed = parse_options(rest, _SPECS["decision_needed"], is_date=_is_date(ctx), usage=usage)
        _trailing_date(ctx, parsed, usage, "`by`, `because`, `details`")
        fields: dict[str, Any] = {
            "owner": _single_person(Kind.DECISION, parsed.people, "decider"),
            "rationale": parsed.options.get("rationale"),
            "details": parsed.options.get("details"),
        }
        if "due" in parsed.options:
            fields["due_at"] = _date(ctx, parsed.options["due"])
        return LogItem(Kind.DECISION, _title(parsed, usage), **fields)
    parsed = parse_options(text, _SPECS["decision"], is_date=_is_date(ctx), usage=usage)
    if parsed.trailing:
        raise UsageError(
            f"I couldn't tell what `{parsed.trailing}` means. Put it in the decision text or "
            "after `because`.",
            usage=usage,
        )
    decider = _single_person(Kind.DECISION, parsed.people, "decider") or ctx.user
    return LogItem(
        Kind.DECISION,
        _title(parsed, usage),
        status=Status.DECIDED,
        owner=decider,
        rationale=parsed.options.get("rationale"),
        details=parsed.options.get("details"),
        decided_by=ctx.user,
        decided_at=ctx.now,
        verb="Recorded decision",
    )


def parse_change(ctx: Context, text: str) -> LogItem:
    usage = USAGE[Kind.CHANGE]
    parsed = parse_options(text, _SPECS["change"], is_date=_is_date(ctx), usage=usage)
    if parsed.trailing:
        raise UsageError(
            f"I couldn't tell what `{parsed.trailing}` means. Put it in the title or after "
            "`impact`, `because` or `details`.",
            usage=usage,
        )
    if "due" in parsed.options:
        raise UsageError(
            "A change request has no due date: its approver decides it, and raidline reminds "
            "them after two working days. Say what it does to the schedule in its impact, e.g. "
            "`impact schedule +2 weeks`, or put the date in the title in quotes.",
            usage=usage,
        )
    title = _title(parsed, usage)
    if "impacts" not in parsed.options:
        raise UsageError(
            "A change request states its impact on at least one of scope, schedule, cost or "
            "quality, e.g. `impact schedule +2 weeks, cost +8k`.",
            usage=usage,
        )
    return LogItem(
        Kind.CHANGE,
        title,
        impacts=parse_impacts(parsed.options["impacts"]),
        approvers=tuple(dict.fromkeys(parsed.people)),
        rationale=parsed.options.get("rationale"),
        details=parsed.options.get("details"),
    )


def parse_milestone(ctx: Context, text: str) -> LogItem:
    usage = USAGE[Kind.MILESTONE]
    parsed = parse_options(text, _SPECS["milestone"], is_date=_is_date(ctx), usage=usage)
    _trailing_date(ctx, parsed, usage, "`due`, `details`")
    fields: dict[str, Any] = {
        "owner": _single_person(Kind.MILESTONE, parsed.people, "owner"),
        "details": parsed.options.get("details"),
    }
    if "due" in parsed.options:
        fields["due_at"] = _date(ctx, parsed.options["due"])
    return LogItem(Kind.MILESTONE, _title(parsed, usage), verb="Planned", **fields)


#: ``for M-1`` anywhere in a logging command: the milestone the item is part of.
_FOR_MILESTONE = re.compile(r"(?:^|\s)for\s+(#?[Mm]-?\d{1,9})(?=\s|$)", re.IGNORECASE)
#: ``link <key or URL>``: a tracker link (the value is checked).
_LINK = re.compile(r"(?:^|\s)links?\s+(\S+)(?=\s|$)", re.IGNORECASE)


def _link_value(value: str) -> str:
    try:
        return plan.parse_tracker_link(typed_link(value))
    except plan.LinkError as e:
        raise UsageError(str(e)) from None


def plan_words(text: str) -> tuple[str, Ref | None, tuple[str, ...]]:
    """``text`` without its ``for M-1`` and ``link …`` words, the milestone and the links.
    ``link`` followed by something that is neither a tracker key nor an http(s) address is
    left in the text (``Fix link checker``)."""
    milestone: Ref | None = None
    found = _FOR_MILESTONE.search(text)
    if found:
        milestone = Ref.parse(found.group(1))
        text = text[: found.start()] + text[found.end() :]
    links: list[str] = []

    def take(m: re.Match[str]) -> str:
        value = typed_link(m.group(1))
        if "://" in value or plan.is_tracker_key(value.upper()):
            links.append(_link_value(value))
            return ""
        return m.group(0)

    text = _LINK.sub(take, text)
    return " ".join(text.split()), milestone, tuple(dict.fromkeys(links))


def _with_plan(parser: Callable[[Context, str], LogItem]) -> Callable[[Context, str], LogItem]:
    def parse(ctx: Context, text: str) -> LogItem:
        rest, milestone, links = plan_words(text)
        call = parser(ctx, rest)
        if milestone is not None and call.kind is Kind.MILESTONE:
            raise UsageError(
                f"A milestone is not part of another one; to make it wait for {milestone}: "
                f"`/raid link M-… depends-on {milestone}` once it is planned."
            )
        return dataclasses.replace(call, milestone=milestone, links=links)

    return parse


def _title(parsed: Parsed, usage: str) -> str:
    if not parsed.title:
        raise UsageError(
            "Start with a title: say what it is before any @mention or option.", usage=usage
        )
    return parsed.title


# --- forms -----------------------------------------------------------------------------------


def form_for(kind: Kind) -> Form:
    """The form a command with no text opens: the same fields the text form takes."""
    row = KINDS[kind]
    fields = tuple(
        FormField(
            f.name,
            f.label,
            InputKind(f.input),
            f.required,
            f.default,
            hint=f.hint,
            choices=tuple(Choice(value, label) for value, label in f.choices),
            max_length=f.max_length,
        )
        for f in row.form_fields
    )
    return Form(action_ids.new_form(kind), row.form_title, fields, row.form_submit)


def _collect(errors: dict[str, str], name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except UsageError as e:
        errors[name] = e.message
        return None


def from_form(ctx: Context, kind: Kind, values: Mapping[str, str]) -> LogItem:
    """Validate every field, report all errors at once (FormInvalid)."""
    v = {k: (val or "").strip() for k, val in values.items()}
    known = {f.name for f in KINDS[kind].form_fields}
    # every field's limit and the people named, as the text and options paths have them
    errors: dict[str, str] = check_fields({k: val for k, val in v.items() if k in known})
    fields: dict[str, Any] = {}
    title = v.get("title", "")
    if is_blank(title):
        errors["title"] = "A title is required."
    if v.get("details"):
        fields["details"] = v["details"]
    milestone: Ref | None = None
    if v.get("milestone"):
        milestone = Ref.parse(v["milestone"].split()[0])
        if milestone is None or milestone.kind is not Kind.MILESTONE:
            errors["milestone"] = "Name a milestone, e.g. M-1."
    links: tuple[str, ...] = ()
    if v.get("links"):
        found = _collect(
            errors, "links", lambda text: [_link_value(w) for w in text.split()], v["links"]
        )
        links = tuple(dict.fromkeys(found or ()))

    def date_field(name: str) -> None:
        if v.get(name):
            fields["due_at"] = _collect(errors, name, _date, ctx, v[name])

    def person_field(name: str) -> None:
        if v.get(name) and name not in errors:
            fields["owner"] = _collect(errors, name, parse_person, v[name])

    status: Status | None = None
    if kind is Kind.BLOCKER:
        person_field("owner")
        date_field("due")
        if v.get("waiting_on"):
            fields["waiting_on"] = _collect(errors, "waiting_on", person_or_text, v["waiting_on"])
    elif kind is Kind.RISK:
        person_field("owner")
        date_field("review")
        for name in ("likelihood", "impact"):
            if v.get(name):
                fields[name] = _collect(errors, name, parse_level, v[name], name)
        if v.get("response"):
            fields["response"] = _collect(errors, "response", parse_response, v["response"])
        if v.get("mitigation"):
            fields["mitigation"] = v["mitigation"]
    elif kind is Kind.MILESTONE:
        person_field("owner")
        date_field("due")
    elif kind is Kind.DECISION:
        person_field("decider")
        state = v.get("state") or "needed"
        if state not in ("needed", "decided"):
            errors["state"] = "Choose `needed` or `decided`."
        if state == "decided":
            status = Status.DECIDED
            fields["owner"] = fields.get("owner") or ctx.user
            fields["decided_by"] = ctx.user
            fields["decided_at"] = ctx.now
        else:
            date_field("by")
        if v.get("rationale"):
            fields["rationale"] = v["rationale"]
    else:
        if not v.get("impact"):
            errors["impact"] = "State the impact on scope, schedule, cost or quality."
        elif "impact" not in errors:
            fields["impacts"] = _collect(errors, "impact", parse_impacts, v["impact"])
        if v.get("approvers") and "approvers" not in errors:
            people = _collect(errors, "approvers", parse_people, v["approvers"])
            fields["approvers"] = tuple(people or ())
        if v.get("why"):
            fields["rationale"] = v["why"]
    if errors:
        raise FormInvalid(errors)
    if status is not None:
        fields["status"] = status
    verb = "Recorded decision" if status is Status.DECIDED else "Logged"
    if kind is Kind.MILESTONE:
        verb = "Planned"
    return LogItem(kind, title, verb=verb, milestone=milestone, links=links, **fields)


def from_options(
    ctx: Context, kind: Kind, options: Mapping[str, str], fields: Mapping[str, str]
) -> LogItem:
    """``/blocker`` & co. with a platform's typed options: the kind's form, filled in.

    ``fields`` maps each option to the form field it fills (``approver`` and ``approver_2``
    both fill ``approvers``). A decision with a title and no state is needed when
    a decide-by date is given, else already decided.
    """
    typed = {k: v.strip() for k, v in options.items() if v and v.strip()}
    values: dict[str, str] = {}
    for name, target in fields.items():
        if name in typed:
            values[target] = f"{values[target]} {typed[name]}" if target in values else typed[name]
    if target_people := values.get("approvers"):
        values["approvers"] = " ".join(dict.fromkeys(target_people.split()))
    if kind is Kind.DECISION and values.get("title") and not values.get("state"):
        values["state"] = "needed" if values.get("by") else "decided"
    return from_form(ctx, kind, values)


async def log(ctx: Context, call: LogItem) -> Reply:
    """Create the item and say so, with what it still lacks."""
    fields = call.item_fields()
    if call.milestone is not None:
        fields["milestone"] = await plan_svc.check_milestone(ctx, call.milestone)
    item = await svc.log_item(ctx, call.kind, call.title, **fields)
    places = await plan_svc.plans(ctx, [item], fresh=True)
    if call.status is Status.DECIDED and item.status is Status.PENDING:
        # someone else was named as having decided: it waits on their decision instead
        reply = _log_reply(ctx, [item], places=places)
        return dataclasses.replace(reply, text=f"{reply.text}\n{decision_for_someone_else(item)}")
    return _log_reply(ctx, [item], verb=call.verb, places=places)


PARSERS = {
    Kind.BLOCKER: _with_plan(parse_blocker),
    Kind.RISK: _with_plan(parse_risk),
    Kind.DECISION: _with_plan(parse_decision),
    Kind.CHANGE: _with_plan(parse_change),
    Kind.MILESTONE: _with_plan(parse_milestone),
}
