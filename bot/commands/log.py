"""/blocker, /risk, /decision and /change: logging items from text or from a form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.model import IMPACT_AREAS, Item, Kind, Status
from bot.errors import FormInvalid, UsageError
from bot.messages import Action, Choice, Form, FormField, InputKind, Reply, Tone, Visibility
from bot.services import items as svc
from bot.services.items import Context
from bot.text.dates import parse_date
from bot.text.parsing import (
    MAX_TITLE_CHARS,
    OptionSpec,
    Parsed,
    ValueKind,
    mention,
    parse_level,
    parse_options,
    parse_people,
    parse_person,
    parse_response,
)
from bot.views.items import assign_action, card, due_action, level_choices, response_choices

USAGE = {
    Kind.BLOCKER: "/blocker <title> [@owner] [due <date>] [waiting on <who or what>] "
    "[details <text>]",
    Kind.RISK: "/risk <title> [likelihood <1-5|low..very high>] [impact <1-5|low..very high>] "
    "[@owner] [review <date>] [response avoid|mitigate|transfer|accept] [mitigation <text>]",
    Kind.DECISION: "/decision <what was decided> [because <why>]  ·  "
    "/decision needed <question> [@decider] [by <date>]",
    Kind.CHANGE: "/change <what changes> impact <scope|schedule|cost|quality> <how>[, ...] "
    "[@approver ...] [because <why>]",
}

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
    "change": (
        OptionSpec("impacts", ("impact", "impacts"), ValueKind.TEXT),
        OptionSpec("rationale", ("because", "why"), ValueKind.TEXT),
        _DETAILS,
    ),
}

_NEEDED_WORDS = ("needed", "need", "pending")


def parse_impacts(text: str) -> dict[str, str]:
    """``schedule +2 weeks, cost +8k`` -> {"schedule": "+2 weeks", "cost": "+8k"}."""
    impacts: dict[str, str] = {}
    for part in re.split(r"[,;]\s*", text.strip()):
        words = part.split(maxsplit=1)
        if not words:
            continue
        area = words[0].lower().rstrip(":")
        if area not in IMPACT_AREAS:
            raise UsageError(
                f"Say which area each impact is on: scope, schedule, cost or quality "
                f"(e.g. `impact schedule +2 weeks, cost +8k`); `{part}` names none."
            )
        impacts[area] = words[1].strip() if len(words) > 1 else "affected"
    if not impacts:
        raise UsageError(
            "A change request states its impact on at least one of scope, schedule, cost or "
            "quality, e.g. `impact schedule +2 weeks, cost +8k`."
        )
    return impacts


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


def _log_reply(ctx: Context, items: list[Item], verb: str = "Logged") -> Reply:
    item = items[0]
    cards = tuple(card(i, ctx.timezone, ctx.now) for i in items)
    text = f"{verb} {item.ref}: {item.title}"
    actions: tuple[Action, ...] = ()
    if item.kind in (Kind.BLOCKER, Kind.RISK) and item.active:
        missing = []
        follow: list[Action] = []
        if not item.owner:
            missing.append("no owner")
            assign = assign_action(item)
            follow += [
                Action("Take it myself", f"take:{item.ref}"),
                Action("Assign someone", assign.action_id, form=assign.form),
            ]
        if not item.due_at:
            missing.append("no due date" if item.kind is Kind.BLOCKER else "no review date")
            follow.append(Action("Set a date", f"due:{item.ref}", form=due_action(item).form))
        if missing:
            text += f"\n{item.ref} has {' and '.join(missing)} yet."
            actions = tuple(follow)
    return Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
        cards=cards,
        actions=actions,
        item_ref=str(item.ref),
    )


async def log_blocker(ctx: Context, text: str) -> Reply:
    usage = USAGE[Kind.BLOCKER]
    parsed = parse_options(text, _SPECS["blocker"], is_date=_is_date(ctx), usage=usage)
    _trailing_date(ctx, parsed, usage, "`due`, `waiting on`, `details`")
    owner = _single_person(Kind.BLOCKER, parsed.people, "owner")
    fields: dict[str, Any] = {"owner": owner, "details": parsed.options.get("details")}
    if "due" in parsed.options:
        fields["due_at"] = _date(ctx, parsed.options["due"])
    if "waiting_on" in parsed.options:
        fields["waiting_on"] = parsed.options["waiting_on"]
    item = await svc.log_item(ctx, Kind.BLOCKER, _title(parsed, usage), **fields)
    return _log_reply(ctx, [item])


async def log_risk(ctx: Context, text: str) -> Reply:
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
    item = await svc.log_item(ctx, Kind.RISK, _title(parsed, usage), **fields)
    return _log_reply(ctx, [item])


async def log_decision(ctx: Context, text: str) -> Reply:
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
        item = await svc.log_item(ctx, Kind.DECISION, _title(parsed, usage), **fields)
        return _log_reply(ctx, [item])
    parsed = parse_options(text, _SPECS["decision"], is_date=_is_date(ctx), usage=usage)
    if parsed.trailing:
        raise UsageError(
            f"I couldn't tell what `{parsed.trailing}` means. Put it in the decision text or "
            "after `because`.",
            usage=usage,
        )
    decider = _single_person(Kind.DECISION, parsed.people, "decider") or ctx.user
    item = await svc.log_item(
        ctx,
        Kind.DECISION,
        _title(parsed, usage),
        status=Status.DECIDED,
        owner=decider,
        rationale=parsed.options.get("rationale"),
        details=parsed.options.get("details"),
        decided_by=decider,
        decided_at=ctx.now,
    )
    return _log_reply(ctx, [item], verb="Recorded decision")


async def log_change(ctx: Context, text: str) -> Reply:
    usage = USAGE[Kind.CHANGE]
    parsed = parse_options(text, _SPECS["change"], is_date=_is_date(ctx), usage=usage)
    if parsed.trailing:
        raise UsageError(
            f"I couldn't tell what `{parsed.trailing}` means. Put it in the title or after "
            "`impact`, `because` or `details`.",
            usage=usage,
        )
    title = _title(parsed, usage)
    if "impacts" not in parsed.options:
        raise UsageError(
            "A change request states its impact on at least one of scope, schedule, cost or "
            "quality, e.g. `impact schedule +2 weeks, cost +8k`.",
            usage=usage,
        )
    item = await svc.log_item(
        ctx,
        Kind.CHANGE,
        title,
        impacts=parse_impacts(parsed.options["impacts"]),
        approvers=tuple(dict.fromkeys(parsed.people)),
        rationale=parsed.options.get("rationale"),
        details=parsed.options.get("details"),
    )
    return _log_reply(ctx, [item])


def _title(parsed: Parsed, usage: str) -> str:
    if not parsed.title:
        raise UsageError(
            "Start with a title: say what it is before any @mention or option.", usage=usage
        )
    return parsed.title


# --- forms -----------------------------------------------------------------------------------

_TITLE = FormField("title", "Title", InputKind.TEXT, True, max_length=MAX_TITLE_CHARS)
_DETAILS_FIELD = FormField("details", "Details", InputKind.LONG_TEXT, max_length=3000)
_DATE_HINT = "e.g. friday, Dec 5, in 2 weeks, 2026-12-05"


def form_for(kind: Kind) -> Form:
    """The form a command with no text opens: the same fields the text form takes."""
    if kind is Kind.BLOCKER:
        fields: tuple[FormField, ...] = (
            _TITLE,
            FormField("owner", "Owner (who unblocks it)", InputKind.USER),
            FormField("due", "Due (need-by)", InputKind.DATE, hint=_DATE_HINT),
            FormField("waiting_on", "Waiting on (person or what)", InputKind.TEXT),
            _DETAILS_FIELD,
        )
        return Form("new:blocker", "Log a blocker", fields, "Log blocker")
    if kind is Kind.RISK:
        fields = (
            _TITLE,
            FormField(
                "likelihood", "Likelihood", InputKind.CHOICE, True, "3", choices=level_choices()
            ),
            FormField("impact", "Impact", InputKind.CHOICE, True, "3", choices=level_choices()),
            FormField("owner", "Owner", InputKind.USER),
            FormField("review", "Next review", InputKind.DATE, hint=_DATE_HINT),
            FormField("response", "Response", InputKind.CHOICE, choices=response_choices()),
            FormField("mitigation", "Mitigation", InputKind.LONG_TEXT, max_length=3000),
        )
        return Form("new:risk", "Log a risk", fields, "Log risk")
    if kind is Kind.DECISION:
        fields = (
            FormField(
                "title", "Decision or question", InputKind.TEXT, True, max_length=MAX_TITLE_CHARS
            ),
            FormField(
                "state",
                "Is it decided?",
                InputKind.CHOICE,
                True,
                "needed",
                choices=(
                    Choice("needed", "A decision is needed"),
                    Choice("decided", "Already decided"),
                ),
            ),
            FormField("decider", "Decider", InputKind.USER),
            FormField("by", "Decide by", InputKind.DATE, hint=_DATE_HINT),
            FormField("rationale", "Rationale or context", InputKind.LONG_TEXT, max_length=3000),
        )
        return Form("new:decision", "Log a decision", fields, "Log decision")
    fields = (
        FormField("title", "What changes", InputKind.TEXT, True, max_length=MAX_TITLE_CHARS),
        FormField(
            "impact",
            "Impact (scope / schedule / cost / quality)",
            InputKind.TEXT,
            True,
            hint="e.g. schedule +2 weeks, cost +8k",
        ),
        FormField("approvers", "Approver(s)", InputKind.USERS),
        FormField("why", "Why", InputKind.LONG_TEXT, max_length=3000),
        _DETAILS_FIELD,
    )
    return Form("new:change", "Request a change", fields, "Request change")


def _collect(errors: dict[str, str], name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except UsageError as e:
        errors[name] = e.message
        return None


async def submit_form(ctx: Context, kind: Kind, values: Mapping[str, str]) -> Reply:
    """Validate every field, report all errors at once, save nothing until the form is valid."""
    v = {k: (val or "").strip() for k, val in values.items()}
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    title = v.get("title", "")
    if not title:
        errors["title"] = "A title is required."
    elif len(title) > MAX_TITLE_CHARS:
        errors["title"] = (
            f"The title is {len(title)} characters long; the limit is {MAX_TITLE_CHARS}."
        )
    if v.get("details"):
        if len(v["details"]) > 3000:
            errors["details"] = (
                f"The details are {len(v['details'])} characters long; the limit is 3000."
            )
        fields["details"] = v["details"]

    def date_field(name: str) -> None:
        if v.get(name):
            fields["due_at"] = _collect(errors, name, _date, ctx, v[name])

    def person_field(name: str) -> None:
        if v.get(name):
            fields["owner"] = _collect(errors, name, parse_person, v[name])

    status: Status | None = None
    if kind is Kind.BLOCKER:
        person_field("owner")
        date_field("due")
        if v.get("waiting_on"):
            fields["waiting_on"] = v["waiting_on"]
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
    elif kind is Kind.DECISION:
        person_field("decider")
        state = v.get("state") or "needed"
        if state not in ("needed", "decided"):
            errors["state"] = "Choose `needed` or `decided`."
        if state == "decided":
            status = Status.DECIDED
            fields["owner"] = fields.get("owner") or ctx.user
            fields["decided_by"] = fields["owner"]
            fields["decided_at"] = ctx.now
        else:
            date_field("by")
        if v.get("rationale"):
            fields["rationale"] = v["rationale"]
    else:
        if not v.get("impact"):
            errors["impact"] = "State the impact on scope, schedule, cost or quality."
        else:
            fields["impacts"] = _collect(errors, "impact", parse_impacts, v["impact"])
        if v.get("approvers"):
            people = _collect(errors, "approvers", parse_people, v["approvers"])
            fields["approvers"] = tuple(people or ())
        if v.get("why"):
            fields["rationale"] = v["why"]
    if errors:
        raise FormInvalid(errors)
    if status is not None:
        fields["status"] = status
    item = await svc.log_item(ctx, kind, title, **fields)
    verb = "Recorded decision" if status is Status.DECIDED else "Logged"
    return _log_reply(ctx, [item], verb=verb)


LOGGERS = {
    Kind.BLOCKER: log_blocker,
    Kind.RISK: log_risk,
    Kind.DECISION: log_decision,
    Kind.CHANGE: log_change,
}
