"""/raid: list, show and change items; history, export, settings."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot import actions
from bot.commands import calls
from bot.domain import kinds, rules
from bot.domain.limits import MAX_TITLE_CHARS, check_length
from bot.domain.model import ACTIVE_STATUSES, Item, Kind, Ref, Status
from bot.domain.plan import LinkError
from bot.domain.schedules import describe_days, parse_days
from bot.errors import FormInvalid, UsageError
from bot.messages import Action, Reply, Section, Tone, Visibility
from bot.services import days_off, export
from bot.services import items as svc
from bot.services import plan as plan_svc
from bot.services import stakeholders as stakeholder_svc
from bot.services.items import Context
from bot.text.dates import check_timezone, format_datetime, parse_date, parse_duration
from bot.text.markup import typed_link
from bot.text.parsing import (
    canonical_mentions,
    did_you_mean,
    mention,
    mention_of,
    parse_impacts,
    parse_level,
    parse_people,
    parse_ref,
    parse_response,
    people_named,
    person_or_text,
)
from bot.views import export as export_views
from bot.views.items import (
    card,
    changed_reply,
    dependents_note,
    describe_change,
    edit_form,
    history_line,
    item_form,
    list_line,
    not_a_working_day,
    score_lines,
    with_note,
)

T = TypeVar("T")

PAGE_SIZE = 15

#: The text grammar of each subcommand, as errors and help show it.
USAGE: Mapping[str, str] = {
    name: f"/raid {usage}"
    for name, usage in (
        (
            "list",
            "list [blockers|risks|decisions|changes|milestones] [overdue|mine|@person] [all]",
        ),
        ("find", "find <words>"),
        ("show", "show <ref> [<ref> ...] (at most 5)"),
        ("snooze", "snooze <ref> [<duration> | until <date>]"),
        ("resolve", "resolve <ref> [note]"),
        (
            "link",
            "link <ref> <M-1> | link <ref> depends-on <ref> | link <ref> <KEY-123 or URL> "
            "| link <ref> remove <what>",
        ),
        ("assign", "assign <ref> @person"),
        ("due", "due <ref> <date>"),
        ("note", "note <ref> <text>"),
        ("approve", "approve <ref> [note]"),
        ("reject", "reject <ref> <reason>"),
        ("decide", "decide <ref> <outcome>[, rationale]"),
        ("close", "close <ref> [note]"),
        ("occurred", "occurred <ref> [note]"),
        ("reopen", "reopen <ref> [reason]"),
        ("withdraw", "withdraw <ref> [reason]"),
        ("implemented", "implemented <ref> [note]"),
        ("supersede", "supersede <ref> [by <ref>]"),
        ("history", "history <ref>"),
        ("edit", "edit <ref> [<field> <new value>]"),
        ("rename", "rename <ref> <new title>"),
        ("rescore", "rescore <ref> <likelihood> <impact>"),
        ("export", "export md|csv|json"),
        ("dashboard", "dashboard"),
        (
            "settings",
            "settings [timezone <zone> | leads @a @b | nudges on|off | workweek <days> | "
            "holidays <country[-region]>|off | holidays add|remove <date> | holidays list | "
            "links <PREFIX>=<address with {}>|off | escalations <working days>]",
        ),
    )
}

Options = Mapping[str, str]


def _split_ref(args: str, usage: str) -> tuple[Ref, str]:
    words = args.strip().split(maxsplit=1)
    if not words:
        raise UsageError("Say which item, e.g. `B-3`.", usage=usage)
    return parse_ref(words[0], usage), (words[1].strip() if len(words) > 1 else "")


def _option_ref(options: Options, name: str, option: str = "ref") -> Ref:
    """A ref option: its first word (what was picked from the suggestions)."""
    words = (options.get(option) or "").split()
    return _split_ref(words[0] if words else "", USAGE[name])[0]


def _option_text(options: Options, name: str) -> str:
    return (options.get(name) or "").strip()


def _mentions(options: Options, *names: str) -> str:
    """User options as the mentions a typed command would have had."""
    ids = (options.get(n) for n in names)
    return " ".join(dict.fromkeys(mention(i) for i in ids if i))


async def changed(ctx: Context, verb: str, *items: Item, related: bool = False) -> Reply:
    """The channel's reply to a change of ``items``: their cards, with the first date of
    those whose date has moved and their place in the plan. When an item others depend on
    is finished (resolved, closed, decided, implemented, done, withdrawn), the owners of
    those others are told in the same message. Who depends on each item (``Needed by``) is
    read when it matters: an item finished, a milestone (its health), or ``related`` (a
    change of the links themselves); other changes spare the channel read."""
    firsts = await svc.baselines(ctx, items, just_changed=True)
    read = related or any(not i.active or i.kind is Kind.MILESTONE for i in items)
    places = await plan_svc.plans(ctx, items, fresh=not read)
    reply = changed_reply(verb, ctx.timezone, ctx.now, *items, baselines=firsts, plans=places)
    for item in items:
        place = places.get(item.stored_id)
        if place is not None and not item.active:
            reply = with_note(reply, dependents_note(item, place.waiting))
    return reply


# --- listing ---------------------------------------------------------------------------------

_KIND_WORDS = {
    "blocker": Kind.BLOCKER,
    "blockers": Kind.BLOCKER,
    "risk": Kind.RISK,
    "risks": Kind.RISK,
    "decision": Kind.DECISION,
    "decisions": Kind.DECISION,
    "change": Kind.CHANGE,
    "changes": Kind.CHANGE,
    "cr": Kind.CHANGE,
    "crs": Kind.CHANGE,
    "milestone": Kind.MILESTONE,
    "milestones": Kind.MILESTONE,
}
LIST_FILTERS = ("blockers", "risks", "decisions", "changes", "milestones", "overdue", "mine", "all")
#: every word a list filter may be, for "did you mean"
_FILTER_WORDS = [*_KIND_WORDS, "overdue", "mine", "all"]


def parse_list(ctx: Context, args: str) -> calls.ListItems:
    words = args.split()
    page = 1
    if len(words) >= 2 and words[-2].lower() == "page" and words[-1].isdigit():
        page = max(1, int(words[-1]))
        words = words[:-2]
    return _list_call(words, page)


def _list_call(words: list[str], page: int) -> calls.ListItems:
    usage = USAGE["list"]
    include_closed = any(w.lower() == "all" for w in words)
    kind: Kind | None = None
    mode = ""
    person: str | None = None
    kept: list[str] = []
    for word in words:
        w = word.lower()
        if w == "all":
            continue
        who = mention_of(word)
        if who is not None:
            if person is not None and who != person:
                raise UsageError(
                    "List one person's items at a time, e.g. `/raid list overdue @dana`.",
                    usage=usage,
                )
            person = who
            kept.append(mention(who))
            continue
        if w in _KIND_WORDS:
            kind = _KIND_WORDS[w]
        elif w in ("overdue", "mine"):
            mode = w
        else:
            raise UsageError(
                f"`{word}` is not a list filter.{did_you_mean(w, _FILTER_WORDS)} "
                f"Use one of: {', '.join(LIST_FILTERS)}, or a person (`@dana`).",
                usage=usage,
            )
        kept.append(w)
    if person is not None and mode == "mine":
        raise UsageError(
            f"Say `mine` or {mention(person)}, not both: `/raid list {mention(person)}`.",
            usage=usage,
        )
    return calls.ListItems(kind, mode, include_closed, page, tuple(kept), person)


def list_page(ctx: Context, filter_words: str, page: int | None) -> calls.ListItems:
    """A page button: ``list:<filter>:<page>``."""
    return parse_list(ctx, f"{filter_words} page {page}" if page is not None else filter_words)


def convert_list(ctx: Context, options: Options) -> calls.ListItems:
    words = _option_text(options, "filter").split()
    if options.get("person"):
        words.append(mention(options["person"]))
    if options.get("include_closed") == "true":
        words.append("all")
    return _list_call(words, 1)


def _sorted(items: list[Item]) -> list[Item]:
    """Blockers first (oldest first), then risks by score, decisions, change requests."""
    order = {Kind.BLOCKER: 0, Kind.RISK: 1, Kind.DECISION: 2, Kind.CHANGE: 3, Kind.MILESTONE: 4}
    return sorted(
        items, key=lambda i: (order[i.kind], -(i.score or 0) if i.kind is Kind.RISK else 0)
    )


async def list_items(ctx: Context, call: calls.ListItems) -> Reply:
    kind, mode, include_closed, page = call.kind, call.mode, call.include_closed, call.page
    # Closed items are history that only grows: read them only when asked for.
    items = await ctx.uow.items.list(
        ctx.channel,
        kinds=[kind] if kind else None,
        statuses=None if include_closed else ACTIVE_STATUSES,
    )
    if mode == "overdue":
        items = [i for i in items if i.overdue(ctx.now)]
    elif mode == "mine":
        items = [i for i in items if i.waits_on(ctx.user)]
    if call.person is not None:
        items = [i for i in items if i.involves(call.person)]
    what = (
        (kind.plural if kind else "items")
        if not mode
        else f"{mode} " + (kind.plural if kind else "items")
    )
    scope = "" if include_closed else "open "
    if mode == "mine":
        heading = f"{scope}{kind.plural if kind else 'items'} waiting on {mention(ctx.user)}"
    elif call.person is not None:
        heading = f"{scope}{what} on {mention(call.person)}'s plate"
    else:
        heading = f"{scope}{what}"
    heading = heading[0].upper() + heading[1:]
    if not items:
        return Reply(text=f"{heading}: none. " + _empty_hint(mode, call.person))
    items = _sorted(items)
    pages = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(page, pages)
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    firsts = await svc.baselines(ctx, shown)
    healths = await _healths(ctx, shown)
    sections: list[Section] = []
    for k in Kind:
        lines = tuple(
            list_line(i, ctx.timezone, ctx.now, firsts.get(i.stored_id), healths.get(str(i.ref)))
            for i in shown
            if i.kind is k
        )
        if lines:
            total = sum(1 for i in items if i.kind is k)
            sections.append(Section(f"{k.plural.capitalize()} ({total})", lines))
    overdue = sum(1 for i in items if i.overdue(ctx.now))
    text = f"{heading}: {len(items)}" + (f", {overdue} overdue" if overdue else "")
    if pages > 1:
        text += f" (page {page} of {pages})"
    buttons: list[Action] = []
    filt = " ".join([*call.words, *(["all"] if include_closed else [])])
    if page > 1:
        buttons.append(Action("Previous", actions.list_page(filt, page - 1)))
    if page < pages:
        buttons.append(Action("More", actions.list_page(filt, page + 1)))
    return Reply(text=text, sections=tuple(sections), actions=tuple(buttons))


def _empty_hint(mode: str, person: str | None = None) -> str:
    if mode == "overdue":
        return "Nothing is overdue."
    if mode == "mine":
        return "Nothing waits on you."
    if person is not None:
        return f"Nothing is on {mention(person)}'s plate."
    return "Log one with `/blocker`, `/risk`, `/decision` or `/change`."


#: ``/raid find`` shows at most this many items
FIND_LIMIT = 20
#: and looks for at most this many words
MAX_FIND_WORDS = 8
_FIND_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_find(ctx: Context, args: str) -> calls.Find:
    """Words to look for; a phrase in double quotes is one (``"api keys" dana``)."""
    usage = USAGE["find"]
    terms = [" ".join((m.group(1) or m.group(2)).split()) for m in _FIND_TERM.finditer(args)]
    terms = list(dict.fromkeys(t for t in terms if t))
    if not terms:
        raise UsageError("Say what to look for, e.g. `/raid find firewall`.", usage=usage)
    if len(terms) > MAX_FIND_WORDS:
        raise UsageError(
            f"Look for at most {MAX_FIND_WORDS} words at a time; you gave {len(terms)}.",
            usage=usage,
        )
    return calls.Find(tuple(terms))


def convert_find(ctx: Context, options: Options) -> calls.Find:
    return parse_find(ctx, _option_text(options, "words"))


async def find(ctx: Context, call: calls.Find) -> Reply:
    found = await ctx.uow.items.search(ctx.channel, call.words, limit=FIND_LIMIT + 1)
    what = " and ".join(f"“{w}”" for w in call.words)
    if not found:
        return Reply(
            text=f"No item in this channel mentions {what} in its title, details or notes. "
            "`/raid list all` shows every item."
        )
    more = len(found) > FIND_LIMIT
    found = found[:FIND_LIMIT]
    firsts = await svc.baselines(ctx, found)
    lines = tuple(list_line(i, ctx.timezone, ctx.now, firsts.get(i.stored_id)) for i in found)
    count = f"{len(found)} item{'s' if len(found) != 1 else ''}"
    if more:
        count = f"More than {FIND_LIMIT} items; the first {FIND_LIMIT}"
    text = f"{count} mention{'s' if count.startswith('1 ') else ''} {what}"
    if more:
        text += ". Add a word to narrow it down"
    return Reply(text=text, sections=(Section("Found", lines),))


#: ``/raid show`` shows at most this many items at once
MAX_SHOWN = 5


async def _healths(ctx: Context, shown: list[Item]) -> dict[str, plan_svc.HealthReport]:
    """The health of the milestones among ``shown`` (no read when there are none)."""
    if not any(i.kind is Kind.MILESTONE for i in shown):
        return {}
    found = await plan_svc.channel_healths(
        ctx.uow, ctx.settings, ctx.timetable, ctx.now, ctx.timezone
    )
    return {ref: report for ref, (_, report) in found.items()}


async def show(ctx: Context, call: calls.Show) -> Reply:
    refs = list(dict.fromkeys((call.ref, *call.more)))
    shown = [await svc.load(ctx, ref, lock=False) for ref in refs]
    firsts = await svc.baselines(ctx, shown)
    places = await plan_svc.plans(ctx, shown)
    cards = tuple(
        card(
            i, ctx.timezone, ctx.now, baseline=firsts.get(i.stored_id), plan=places.get(i.stored_id)
        )
        for i in shown
    )
    if len(shown) > 1:
        return Reply(text=", ".join(f"{i.ref}: {i.title}" for i in shown), cards=cards)
    item = shown[0]
    sections: tuple[Section, ...] = ()
    if item.kind is Kind.RISK:
        events = (await ctx.uow.items.events([item.stored_id]))[item.stored_id]
        lines = score_lines(events, ctx.timezone, ctx.now)
        if lines:
            sections = (Section(f"{item.ref} score history", lines),)
    return Reply(
        text=f"{item.ref}: {item.title} ({item.status.label})",
        cards=cards,
        sections=sections,
        item_ref=str(item.ref),
    )


async def history(ctx: Context, call: calls.History) -> Reply:
    item = await svc.load(ctx, call.ref, lock=False)
    events = (await ctx.uow.items.events([item.stored_id]))[item.stored_id]
    lines = tuple(
        history_line(item.kind, e, ctx.timezone, ctx.now, reporter=item.reporter) for e in events
    )
    return Reply(
        text=f"History of {item.ref}: {item.title} ({len(events)} "
        f"event{'s' if len(events) != 1 else ''})",
        sections=(Section(f"{item.ref} history", lines),),
        item_ref=str(item.ref),
    )


# --- changes ---------------------------------------------------------------------------------


@contextmanager
def _form_field(name: str, from_form: bool) -> Iterator[None]:
    """A form reports a bad value against its field; text reports it as a usage error."""
    try:
        yield
    except UsageError as e:
        if not from_form:
            raise
        raise FormInvalid({name: e.message}) from None


def _required(value: str, name: str, message: str, from_form: bool) -> str:
    if from_form and not value.strip():
        raise FormInvalid({name: message})
    return value.strip()


async def resolve(ctx: Context, call: calls.Resolve) -> Reply:
    item = await svc.resolve(ctx, await svc.load(ctx, call.ref), call.note)
    verb = {Kind.BLOCKER: "Resolved", Kind.MILESTONE: "Reached"}.get(item.kind, "Implemented")
    return await changed(ctx, verb, item)


async def implemented(ctx: Context, call: calls.Implement) -> Reply:
    item = await svc.implement(ctx, await svc.load(ctx, call.ref), call.note)
    return await changed(ctx, "Implemented", item)


async def approve(ctx: Context, call: calls.Approve) -> Reply:
    item = await svc.approve(ctx, await svc.load(ctx, call.ref), call.note)
    return await changed(ctx, "Approved", item)


async def close(ctx: Context, call: calls.Close) -> Reply:
    item = await svc.close_risk(ctx, await svc.load(ctx, call.ref), call.note)
    return await changed(ctx, "Closed", item)


async def reopen(ctx: Context, call: calls.Reopen) -> Reply:
    item = await svc.reopen(ctx, await svc.load(ctx, call.ref), call.reason)
    return await changed(ctx, "Reopened", item)


async def withdraw(ctx: Context, call: calls.Withdraw) -> Reply:
    item = await svc.withdraw(ctx, await svc.load(ctx, call.ref), call.reason)
    return await changed(ctx, "Withdrew", item)


async def note(ctx: Context, call: calls.Note) -> Reply:
    item = await svc.add_note(ctx, await svc.load(ctx, call.ref), call.text)
    return await changed(ctx, "Noted on", item)


async def take(ctx: Context, call: calls.Take) -> Reply:
    item = await svc.assign(ctx, await svc.load(ctx, call.ref), [ctx.user])
    return await changed(ctx, "Taken", item)


async def assign(ctx: Context, call: calls.Assign) -> Reply:
    item = await svc.load(ctx, call.ref)
    people = list(call.people)
    if call.from_form:
        with _form_field("owner", True):
            people = parse_people(_required(call.owner, "owner", "Choose who.", True))
    return await changed(ctx, "Assigned", await svc.assign(ctx, item, people))


async def set_due(ctx: Context, call: calls.SetDue) -> Reply:
    item = await svc.load(ctx, call.ref)
    with _form_field("due", call.from_form):
        date = _required(call.date, "due", "Give a date.", call.from_form)
        when = parse_date(date, ctx.now, ctx.timezone)
    item = await svc.set_due(ctx, item, when)
    reply = await changed(ctx, "Re-dated", item)
    return with_note(reply, not_a_working_day(item, ctx.timezone, ctx.now, days_off.checker(ctx)))


async def decide(ctx: Context, call: calls.Decide) -> Reply:
    item = await svc.load(ctx, call.ref)
    outcome = _required(call.outcome, "outcome", "Say what was decided.", call.from_form)
    return await changed(ctx, "Decided", await svc.decide(ctx, item, outcome, call.rationale))


async def reject(ctx: Context, call: calls.Reject) -> Reply:
    item = await svc.load(ctx, call.ref)
    if call.from_form and not call.reason.strip():
        svc.check_reject(ctx, item)
        raise FormInvalid({"reason": "Say why it is rejected."})
    return await changed(ctx, "Rejected", await svc.reject(ctx, item, call.reason))


async def occurred(ctx: Context, call: calls.Occurred) -> Reply:
    risk, blocker = await svc.risk_occurred(ctx, await svc.load(ctx, call.ref), call.note)
    reply = await changed(ctx, "Risk occurred:", risk, blocker)
    return Reply(
        text=f"{risk.ref} occurred; it is now blocker {blocker.ref}: {blocker.title}",
        visibility=reply.visibility,
        tone=reply.tone,
        cards=reply.cards,
        item_ref=str(blocker.ref),
    )


async def supersede(ctx: Context, call: calls.Supersede) -> Reply:
    by = await svc.load(ctx, call.by) if call.by is not None else None
    item = await svc.supersede(ctx, await svc.load(ctx, call.ref), by)
    return await changed(ctx, "Superseded", item)


async def snooze(ctx: Context, call: calls.Snooze) -> Reply:
    """The nudge's *Snooze* button, and ``/raid snooze B-3 2d`` (or ``until monday``)."""
    item = await svc.load(ctx, call.ref)
    span = _snooze_span(ctx, call) if call.span else timedelta(days=call.days)
    item = await svc.snooze(ctx, item, span)
    reply = await changed(ctx, "Snoozed", item)
    until = format_datetime(item.snoozed_until or ctx.now + span, ctx.timezone, ctx.now)
    return dataclasses.replace(
        reply, text=f"Snoozed {item.ref}: {item.title}. No reminders about it until {until}."
    )


def _snooze_span(ctx: Context, call: calls.Snooze) -> timedelta:
    text = call.span.strip()
    words = text.split(maxsplit=1)
    try:
        if words and words[0].lower() in ("until", "till", "to"):
            return parse_date(text, ctx.now, ctx.timezone) - ctx.now
        return parse_duration(re.sub(r"^for\s+", "", text, flags=re.IGNORECASE))
    except UsageError as e:
        raise UsageError(
            f"{e.message} Say how long, e.g. `/raid snooze {call.ref} 2d`, "
            f"or until when: `/raid snooze {call.ref} until monday`.",
            usage=USAGE["snooze"],
        ) from None


async def open_item_form(ctx: Context, call: calls.OpenItemForm) -> Reply:
    """A click on Assign, New date, Decide or Reject: check who may first, so a refused click
    never opens a form; then ask."""
    item = await svc.load(ctx, call.ref)
    _FORM_CHECKS[call.verb](ctx, item)
    form = item_form(call.verb, item.ref)
    return Reply(text=form.title if form else str(item.ref), form=form)


_FORM_CHECKS: Mapping[str, Callable[[Context, Item], None]] = {
    "assign": svc.check_assign,
    "due": svc.check_due,
    "decide": svc.check_decide,
    "reject": svc.check_reject,
    "defer": lambda ctx, item: rules.check_defer(ctx.user, item, ctx.settings),
}


# --- text parsers and option converters of the item changes ----------------------------------


def _ref_and(options: Options, *names: str) -> str:
    """The ref option's first word and the named text options, as the text grammar takes them
    (what a user would have typed)."""
    words = (options.get("ref") or "").split()
    parts = [words[0] if words else "", *(_option_text(options, n) for n in names)]
    return " ".join(p for p in parts if p)


def parse_show(ctx: Context, args: str) -> calls.Show:
    usage = USAGE["show"]
    words = args.replace(",", " ").split()
    if not words:
        raise UsageError("Say which item, e.g. `B-3`.", usage=usage)
    if len(words) > MAX_SHOWN:
        raise UsageError(
            f"`/raid show` shows at most {MAX_SHOWN} items at a time; you gave {len(words)}. "
            f"`/raid list` shows them all.",
            usage=usage,
        )
    refs = [parse_ref(w, usage) for w in words]
    return calls.Show(refs[0], tuple(refs[1:]))


def parse_snooze(ctx: Context, args: str) -> calls.Snooze:
    ref, rest = _split_ref(args, USAGE["snooze"])
    return calls.Snooze(ref, span=rest)


def parse_history(ctx: Context, args: str) -> calls.History:
    return calls.History(_split_ref(args, USAGE["history"])[0])


def parse_resolve(ctx: Context, args: str) -> calls.Resolve:
    ref, rest = _split_ref(args, USAGE["resolve"])
    return calls.Resolve(ref, rest or None)


def parse_implemented(ctx: Context, args: str) -> calls.Implement:
    ref, rest = _split_ref(args, USAGE["implemented"])
    return calls.Implement(ref, rest or None)


def parse_approve(ctx: Context, args: str) -> calls.Approve:
    ref, rest = _split_ref(args, USAGE["approve"])
    return calls.Approve(ref, rest or None)


def parse_close(ctx: Context, args: str) -> calls.Close:
    ref, rest = _split_ref(args, USAGE["close"])
    return calls.Close(ref, rest or None)


def parse_occurred(ctx: Context, args: str) -> calls.Occurred:
    ref, rest = _split_ref(args, USAGE["occurred"])
    return calls.Occurred(ref, rest or None)


def parse_reopen(ctx: Context, args: str) -> calls.Reopen:
    ref, rest = _split_ref(args, USAGE["reopen"])
    return calls.Reopen(ref, rest or None)


def parse_withdraw(ctx: Context, args: str) -> calls.Withdraw:
    ref, rest = _split_ref(args, USAGE["withdraw"])
    return calls.Withdraw(ref, rest or None)


def parse_note(ctx: Context, args: str) -> calls.Note:
    ref, rest = _split_ref(args, USAGE["note"])
    return calls.Note(ref, rest)


def parse_reject(ctx: Context, args: str) -> calls.Reject:
    ref, rest = _split_ref(args, USAGE["reject"])
    return calls.Reject(ref, rest)


def parse_take(ctx: Context, args: str) -> calls.Take:
    return calls.Take(_split_ref(args, "take B-3")[0])


def parse_assign(ctx: Context, args: str) -> calls.Assign:
    usage = USAGE["assign"]
    ref, rest = _split_ref(args, usage)
    if not rest:
        raise UsageError(f"Say who: `/raid assign {ref} @erin`.", usage=usage)
    return calls.Assign(ref, tuple(people_named(rest)))


def parse_due(ctx: Context, args: str) -> calls.SetDue:
    usage = USAGE["due"]
    ref, rest = _split_ref(args, usage)
    if not rest:
        raise UsageError(f"Say when: `/raid due {ref} next tuesday`.", usage=usage)
    return calls.SetDue(ref, rest)


def split_outcome(text: str) -> tuple[str, str | None]:
    """``Okta, best SCIM support`` or ``Okta because best SCIM support``."""
    m = re.search(r"\s+because\s+", text, flags=re.IGNORECASE)
    if m:
        return text[: m.start()].strip(), text[m.end() :].strip() or None
    if "," in text:
        outcome, rationale = text.split(",", 1)
        return outcome.strip(), rationale.strip() or None
    return text.strip(), None


def parse_decide(ctx: Context, args: str) -> calls.Decide:
    ref, rest = _split_ref(args, USAGE["decide"])
    outcome, rationale = split_outcome(rest)
    return calls.Decide(ref, outcome, rationale)


def parse_supersede(ctx: Context, args: str) -> calls.Supersede:
    usage = USAGE["supersede"]
    ref, rest = _split_ref(args, usage)
    rest = re.sub(r"^by\s+", "", rest, flags=re.IGNORECASE).strip()
    return calls.Supersede(ref, parse_ref(rest, usage) if rest else None)


def convert_decide(ctx: Context, options: Options) -> calls.Decide:
    """``/raid decide`` with options takes the form's path: a comma stays in the outcome."""
    words = (options.get("ref") or "").split()
    rationale = _option_text(options, "rationale") or None
    return calls.Decide(
        parse_ref(words[0] if words else ""),
        _option_text(options, "outcome"),
        rationale,
        from_form=True,
    )


def convert_assign(ctx: Context, options: Options) -> calls.Assign:
    ref = _option_ref(options, "assign")
    people = tuple(dict.fromkeys(p for p in (options.get("person"), options.get("person_2")) if p))
    if not people:
        raise UsageError(f"Say who: `/raid assign {ref} @erin`.", usage=USAGE["assign"])
    return calls.Assign(ref, people)


def convert_due(ctx: Context, options: Options) -> calls.SetDue:
    ref = _option_ref(options, "due")
    date = _option_text(options, "date")
    if not date:
        raise UsageError(f"Say when: `/raid due {ref} next tuesday`.", usage=USAGE["due"])
    return calls.SetDue(ref, date)


def convert_supersede(ctx: Context, options: Options) -> calls.Supersede:
    ref = _option_ref(options, "supersede")
    by = _option_ref(options, "supersede", "by") if (options.get("by") or "").split() else None
    return calls.Supersede(ref, by)


def _on_ref(name: str, make: Callable[[Ref], T]) -> Callable[[Context, Options], T]:
    return lambda ctx, options: make(_option_ref(options, name))


def _on_ref_text(
    name: str, option: str, make: Callable[[Ref, str], T]
) -> Callable[[Context, Options], T]:
    return lambda ctx, options: make(_option_ref(options, name), _option_text(options, option))


#: The options converters of the subcommands that take a ref and at most one text.
CONVERTERS: Mapping[str, Callable[[Context, Options], object]] = {
    "show": _on_ref("show", calls.Show),
    "history": _on_ref("history", calls.History),
    "reopen": _on_ref_text("reopen", "reason", lambda r, t: calls.Reopen(r, t or None)),
    "resolve": _on_ref_text("resolve", "note", lambda r, t: calls.Resolve(r, t or None)),
    "approve": _on_ref_text("approve", "note", lambda r, t: calls.Approve(r, t or None)),
    "close": _on_ref_text("close", "note", lambda r, t: calls.Close(r, t or None)),
    "occurred": _on_ref_text("occurred", "note", lambda r, t: calls.Occurred(r, t or None)),
    "implemented": _on_ref_text("implemented", "note", lambda r, t: calls.Implement(r, t or None)),
    "withdraw": _on_ref_text("withdraw", "reason", lambda r, t: calls.Withdraw(r, t or None)),
    "note": _on_ref_text("note", "text", calls.Note),
    "reject": _on_ref_text("reject", "reason", calls.Reject),
    "assign": convert_assign,
    "due": convert_due,
    "decide": convert_decide,
    "supersede": convert_supersede,
    "snooze": _on_ref_text("snooze", "duration", lambda r, t: calls.Snooze(r, span=t)),
    "find": convert_find,
}


# --- export and settings ---------------------------------------------------------------------


def parse_export(ctx: Context, args: str) -> calls.Export:
    return calls.Export(args)


async def export_cmd(ctx: Context, call: calls.Export) -> Reply:
    """The register and its history as a file. People are named by the platform once the
    transaction is over (a look-up must not hold the database)."""
    fmt = export.check_format(call.format or "")
    log = await export.channel_log(
        ctx.uow, ctx.channel, now=ctx.now, timetable=ctx.timetable, tz=ctx.timezone
    )

    async def write() -> Reply:
        names = await ctx.people_names(log.people)
        file = export_views.render(fmt, log, ctx.timezone, ctx.now, names)
        return Reply(
            text=f"Exported this channel's register as {fmt.upper()}: {file.filename}",
            files=(file,),
        )

    ctx.finish = write
    return Reply(text=f"Exporting this channel's register as {fmt.upper()}…")


#: What ``/raid dashboard`` says when the operator switched the dashboard off.
DASHBOARD_OFF = (
    "This raidline serves no dashboard: it is switched off (RAIDLINE_DASHBOARD=off) or its "
    "web server is not running. `/digest now chart` and `/raid list` show the same numbers "
    "in chat."
)
#: Minutes a dashboard link stays valid (``adapters.web_auth.LINK_MINUTES``).
LINK_MINUTES = 10


def parse_dashboard(ctx: Context, args: str) -> calls.Dashboard:
    if args.strip():
        raise UsageError(
            f"`/raid dashboard` takes nothing after it (you wrote `{args.strip()[:40]}`).",
            usage=USAGE["dashboard"],
        )
    return calls.Dashboard()


async def dashboard(ctx: Context, call: calls.Dashboard) -> Reply:
    """A private link to this channel's dashboard: single-use, valid a few minutes."""
    if ctx.dashboard_links is None:
        return Reply(text=DASHBOARD_OFF)
    link = ctx.dashboard_links.dashboard_link(ctx.channel, ctx.user, ctx.now)
    return Reply(
        text=(
            f"This channel's dashboard, for you only: {link}\n"
            f"The link works once and for {LINK_MINUTES} minutes; the browser that opens it "
            "stays signed in to this channel's dashboard for 12 hours. "
            "Type `/raid dashboard` again for a new one."
        ),
        visibility=Visibility.PRIVATE,
    )


def parse_settings(ctx: Context, args: str) -> calls.Settings:
    words = args.split(maxsplit=1)
    if not words:
        return calls.Settings()
    return calls.Settings(words[0].lower(), words[1].strip() if len(words) > 1 else "")


def convert_settings(ctx: Context, sub: str, options: Options) -> calls.Settings:
    """``/raid settings show|timezone|leads|nudges`` with options."""
    if sub == "timezone":
        return calls.Settings("timezone", _option_text(options, "zone"))
    if sub == "leads":
        clear = options.get("clear") == "true"
        return calls.Settings("leads", "none" if clear else _mentions(options, *_LEADS))
    if sub == "nudges":
        return calls.Settings("nudges", _option_text(options, "state"))
    if sub == "workweek":
        return calls.Settings("workweek", _option_text(options, "days"))
    if sub == "escalations":
        return calls.Settings("escalations", _option_text(options, "days"))
    if sub == "links":
        prefix, address = _option_text(options, "prefix"), _option_text(options, "address")
        return calls.Settings("links", f"{prefix}={address}" if prefix else "")
    if sub == "holidays":
        action = _option_text(options, "action") or "list"
        argument = _option_text(options, "calendar") if action == "set" else ""
        if action in ("add", "remove"):
            argument = _option_text(options, "day")
        words = [action, argument]
        return calls.Settings("holidays", " ".join(w for w in words if w))
    return calls.Settings()


_LEADS = ("lead", "lead_2", "lead_3")


async def settings(ctx: Context, call: calls.Settings) -> Reply:
    usage = USAGE["settings"]
    s = ctx.settings
    if not call.key:
        leads = " ".join(mention(p) for p in s.leads) or "none (everyone may do what a lead may)"
        tz = s.timezone or f"not set (using {ctx.timezone})"
        return Reply(
            text="Settings of this channel",
            sections=(
                Section(
                    "Settings",
                    (
                        f"Time zone: {tz}",
                        f"Leads: {leads}",
                        f"Nudges: {'on' if s.nudges_enabled else 'off'}",
                        f"Work week: {describe_days(s.work_days)}",
                        f"Holidays: {s.holidays or 'none (`/raid settings holidays DE-BY`)'}",
                        *(["Days off: " + ", ".join(s.days_off)] if s.days_off else []),
                        *_project_state(ctx),
                        *([f"Tracker links: {k}: {v}" for k, v in sorted(s.link_patterns.items())]),
                        f"Stakeholders: {len(s.stakeholders) or 'none'} "
                        "(`/raid stakeholders list`)",
                        f"Escalations: blockers more than {s.escalate_after_days} working "
                        "days overdue",
                    ),
                ),
            ),
            usage=usage,
        )
    key, value = call.key, call.value
    if key in ("timezone", "tz", "time-zone"):
        if not value:
            raise UsageError(
                "Say which time zone, e.g. `/raid settings timezone Europe/Berlin`.", usage=usage
            )
        svc.require_lead(ctx, "change the channel's time zone")
        tz_name = check_timezone(value)
        await svc.update_settings(ctx, timezone=tz_name)
        return _settings_changed(f"This channel's time zone is now {tz_name}.")
    if key == "leads":
        if not value:
            raise UsageError("Say who leads, e.g. `/raid settings leads @ana @raj`.", usage=usage)
        if value.lower() in ("none", "clear", "-"):
            await svc.set_leads(ctx, ())
            return _settings_changed(
                "This channel has no leads now: everyone may do what a lead may."
            )
        people = people_named(value)
        now_leads = (await svc.set_leads(ctx, people)).leads
        return _settings_changed(
            "Leads of this channel: " + " ".join(mention(p) for p in now_leads) + "."
        )
    if key == "nudges":
        if value.lower() not in ("on", "off"):
            raise UsageError("Say `on` or `off`: `/raid settings nudges off`.", usage=usage)
        svc.require_lead(ctx, "turn nudges on or off")
        await svc.update_settings(ctx, nudges_enabled=value.lower() == "on")
        return _settings_changed(f"Nudges are {value.lower()} in this channel.")
    if key in ("workweek", "work-week", "workdays"):
        return await _workweek(ctx, value)
    if key in ("holidays", "holiday"):
        return await _holidays(ctx, value)
    if key in ("links", "link", "tracker"):
        return await _links(ctx, value)
    if key in ("escalations", "escalate", "escalation"):
        return await _escalations(ctx, value)
    raise UsageError(
        f"`{key}` is not a setting. Settings are `timezone`, `leads`, `nudges`, `workweek`, "
        "`holidays`, `links` and `escalations`.",
        usage=usage,
    )


LINKS_HELP = (
    "`/raid settings links JIRA=https://acme.atlassian.net/browse/{}` (a key prefix, `=`, the "
    "address with `{}` where the key goes), `links JIRA=off`, `links` to list them"
)


async def _links(ctx: Context, value: str) -> Reply:
    """``/raid settings links``: list, set (``JIRA=https://…/{}``) or remove (``JIRA=off``)."""
    if not value:
        patterns = ctx.settings.link_patterns
        lines = tuple(f"{k}: {v}" for k, v in sorted(patterns.items()))
        return Reply(
            text="Tracker links of this channel" + ("" if lines else ": none yet."),
            sections=(Section("Tracker links", lines),) if lines else (),
            usage=LINKS_HELP,
        )
    prefix, sep, pattern = value.partition("=")
    pattern = typed_link(pattern)
    if not sep or not prefix.strip() or not pattern.strip():
        raise UsageError("Write the prefix, `=`, then the address.", usage=LINKS_HELP)
    try:
        if pattern.strip().lower() in ("off", "none", "remove"):
            await plan_svc.set_pattern(ctx, prefix, None)
            return _settings_changed(f"{prefix.strip().upper()} keys are no longer links here.")
        new = await plan_svc.set_pattern(ctx, prefix, pattern.strip())
    except LinkError as e:
        raise UsageError(str(e), usage=LINKS_HELP) from None
    key = prefix.strip().upper()
    example = new.link_patterns[key].replace("{}", f"{key}-123")
    return _settings_changed(f"{key}-123 now links to {example} in this channel.")


def _project_state(ctx: Context) -> list[str]:
    """The settings' line on the project's closure, when it is closing or closed."""
    s = ctx.settings
    if s.closed_at is not None:
        by = f" by {mention(s.closed_by)}" if s.closed_by else ""
        when = format_datetime(s.closed_at, ctx.timezone, ctx.now)
        return [f"Project: closed {when}{by} (`/raid reopen-project` reopens it)"]
    if s.closing_since is not None:
        when = format_datetime(s.closing_since, ctx.timezone, ctx.now)
        return [f"Project: closing since {when} (`/raid close-out`)"]
    return []


WORKWEEK_HELP = "Say the working days, e.g. `/raid settings workweek mon-fri` or `sun-thu`."
HOLIDAYS_HELP = (
    "`/raid settings holidays DE-BY` (a country code, with its region where holidays differ: "
    "`US`, `IN-KA`), `holidays off`, `holidays add 2026-12-24`, `holidays remove 2026-12-24`, "
    "`holidays list`"
)


async def _workweek(ctx: Context, value: str) -> Reply:
    if not value:
        raise UsageError(WORKWEEK_HELP, usage=USAGE["settings"])
    days = parse_days(value, wrap=True)
    await days_off.set_work_week(ctx, days)
    return _settings_changed(
        f"This channel's work week: {describe_days(days)}. Standups, reminders, nudges and "
        "digests do not fire on the other days."
    )


def _day_off_date(ctx: Context, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        pass
    tz = ctx.settings.timezone or ctx.timezone
    return parse_date(text, ctx.now, tz).astimezone(ZoneInfo(tz)).date()


async def _holidays(ctx: Context, value: str) -> Reply:
    words = value.split(maxsplit=1)
    action = words[0].lower() if words else "list"
    rest = words[1].strip() if len(words) > 1 else ""
    tz = ctx.settings.timezone or ctx.timezone
    if action in ("list", "show"):
        found = days_off.upcoming(ctx, ctx.now.astimezone(ZoneInfo(tz)).date())
        lines = [
            f"Work week: {describe_days(found.work_days)}",
            f"Public holidays: {found.region or 'none kept (`/raid settings holidays DE-BY`)'}",
            *(f"{day:%a %-d %b %Y}: {name}" for day, name in found.upcoming),
            "Days off: " + (", ".join(found.days_off) or "none"),
        ]
        if found.region and not found.upcoming:
            lines.insert(2, "No public holiday in the next three months.")
        return Reply(
            text="Days off of this channel",
            sections=(Section("Days off", tuple(lines)),),
            usage=HOLIDAYS_HELP,
        )
    if action in ("add", "remove", "rm", "delete"):
        if not rest:
            raise UsageError(f"Say which day: `/raid settings holidays {action} 2026-12-24`.")
        day = _day_off_date(ctx, rest)
        if action == "add":
            await days_off.add_day(ctx, day)
            return _settings_changed(
                f"{day:%a %-d %b %Y} is a day off: no standup, reminder, nudge or digest."
            )
        if not await days_off.remove_day(ctx, day):
            raise UsageError(
                f"{day.isoformat()} is not one of this channel's days off; "
                "`/raid settings holidays list` shows them."
            )
        return _settings_changed(f"{day:%a %-d %b %Y} is no longer a day off.")
    if action in ("off", "none", "clear"):
        await days_off.set_region(ctx, None)
        return _settings_changed("This channel keeps no public holidays now.")
    if action in ("help", "?"):
        return Reply(text=HOLIDAYS_HELP)
    code = rest if action == "set" else value.strip()
    if not code:
        raise UsageError(f"Say which public holidays to keep: {HOLIDAYS_HELP}.")
    settings = await days_off.set_region(ctx, code)
    return _settings_changed(
        f"This channel keeps the public holidays of {settings.holidays}: standups, reminders, "
        "nudges and digests do not fire on them. `/raid settings holidays list` shows the next."
    )


ESCALATIONS_HELP = (
    "Say after how many working days overdue a blocker is escalated to the channel's "
    "`escalations` stakeholders, e.g. `/raid settings escalations 3`."
)


async def _escalations(ctx: Context, value: str) -> Reply:
    words = value.split()
    if len(words) != 1 or not words[0].isdigit():
        raise UsageError(ESCALATIONS_HELP, usage=USAGE["settings"])
    days = (await stakeholder_svc.set_escalation_days(ctx, int(words[0]))).escalate_after_days
    return _settings_changed(
        f"Blockers more than {days} working day{'s' if days != 1 else ''} overdue are "
        "escalated to this channel's `escalations` stakeholders "
        "(`/raid stakeholders list` shows them)."
    )


def _settings_changed(text: str) -> Reply:
    return Reply(text=text, visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


__all__ = ["LIST_FILTERS", "USAGE", "Status", "changed", "split_outcome"]


# --- edit, rename, rescore -------------------------------------------------------------------


def _fields_text(kind: Kind) -> str:
    return ", ".join(f"`{w}`" for w in kinds.edit_words(kind))


def _edit_example(ref: Ref) -> str:
    return {
        Kind.BLOCKER: f"/raid edit {ref} waiting on the vendor's API keys",
        Kind.RISK: f"/raid edit {ref} likelihood high",
        Kind.DECISION: f"/raid edit {ref} title Pick the SSO vendor for staff",
        Kind.CHANGE: f"/raid edit {ref} impact schedule +1 week, cost £5k",
    }[ref.kind]


def _edit_pair(ref: Ref, field: str, value: str, usage: str) -> tuple[str, str]:
    """(field as typed, value) once the field is known to be one of the kind's."""
    if kinds.edit_field(ref.kind, field) is None:
        if ref.kind is Kind.CHANGE and field.lower() in ("due", "date", "by", "review"):
            raise UsageError(f"Change requests have no date; {ref} can't be re-dated.", usage=usage)
        words = [w for names in kinds.EDIT_FIELDS[ref.kind].values() for w in names]
        raise UsageError(
            f"`{field}` is not a field of a {ref.kind.label}. A {ref.kind.label}'s fields: "
            f"{_fields_text(ref.kind)}.{did_you_mean(field, words)}",
            usage=usage,
        )
    return field, value.strip()


def parse_edit(ctx: Context, args: str) -> calls.Edit | calls.OpenEdit:
    """``edit B-3 <field> <value>``; ``edit B-3`` alone opens the item's form, filled in."""
    usage = USAGE["edit"]
    ref, rest = _split_ref(args, usage)
    words = rest.split()
    if not words:
        return calls.OpenEdit(ref)
    # two-word fields first: "waiting on", "next review", "decide by"
    for n in (2, 1):
        field = " ".join(words[:n])
        if len(words) >= n and kinds.edit_field(ref.kind, field):
            parts = rest.split(maxsplit=n)
            return calls.Edit(
                ref, (_edit_pair(ref, field, parts[n] if len(parts) > n else "", usage),)
            )
    return calls.Edit(ref, (_edit_pair(ref, words[0], "", usage),))


def convert_edit(ctx: Context, options: Options) -> calls.Edit:
    ref = _option_ref(options, "edit")
    field = _option_text(options, "field")
    return calls.Edit(ref, (_edit_pair(ref, field, _option_text(options, "value"), USAGE["edit"]),))


def parse_rename(ctx: Context, args: str) -> calls.Edit:
    ref, rest = _split_ref(args, USAGE["rename"])
    return calls.Edit(ref, (("title", rest),))


def convert_rename(ctx: Context, options: Options) -> calls.Edit:
    return calls.Edit(_option_ref(options, "rename"), (("title", _option_text(options, "title")),))


def _levels(ref: Ref, text: str) -> tuple[str, str]:
    """``high medium``, ``very high low``, ``4 3``, ``4x3``, ``likelihood 4 impact 3``."""
    usage = USAGE["rescore"]
    words = [
        w for w in re.split(r"[\s×x*/]+", text.lower()) if w and w not in ("likelihood", "impact")
    ]
    for n in range(1, len(words)):
        first, second = " ".join(words[:n]), " ".join(words[n:])
        try:
            parse_level(first, "likelihood")
            parse_level(second, "impact")
        except UsageError:
            continue
        return first, second
    raise UsageError(
        f"Give {ref}'s likelihood and impact, each 1–5 or very low, low, medium, high, very "
        f"high: `/raid rescore {ref} high medium` (likelihood high, impact medium).",
        usage=usage,
    )


def _rescore_call(ref: Ref, text: str) -> calls.Edit:
    if ref.kind is not Kind.RISK:
        raise UsageError(
            f"Only risks have a score; {ref} is a {ref.kind.label}. `/raid edit {ref} <field> "
            f"<value>` changes its fields: {_fields_text(ref.kind)}.",
            usage=USAGE["rescore"],
        )
    likelihood, impact = _levels(ref, text)
    return calls.Edit(ref, (("likelihood", likelihood), ("impact", impact)))


def parse_rescore(ctx: Context, args: str) -> calls.Edit:
    ref, rest = _split_ref(args, USAGE["rescore"])
    return _rescore_call(ref, rest)


def convert_rescore(ctx: Context, options: Options) -> calls.Edit:
    ref = _option_ref(options, "rescore")
    levels = f"{_option_text(options, 'likelihood')} {_option_text(options, 'impact')}"
    return _rescore_call(ref, levels)


def _edit_value(item: Item, name: str, word: str, value: str) -> object:
    """The new value of ``item``'s field ``name`` from what was typed (``word``: the field as
    the user named it, for the hints)."""
    label = kinds.field_label(item.kind, name)
    if kinds.is_clear(value) and name in kinds.CLEARABLE:
        return None
    if not value.strip():
        if name in kinds.CLEARABLE:
            clear = f" (or `/raid edit {item.ref} {word} none` to clear it)"
        else:
            clear = ""
        raise UsageError(
            f"Say the new {label}: `/raid edit {item.ref} {word} <new {label}>`{clear}.",
            usage=USAGE["edit"],
        )
    if name in ("likelihood", "impact"):
        return parse_level(value, name)
    if name == "response":
        return parse_response(value)
    if name == "impacts":
        check_length(value, MAX_TITLE_CHARS, "impact text")
        return parse_impacts(value)
    if name == "waiting_on":
        return person_or_text(value)
    if name == "title":
        return canonical_mentions(value.strip())
    return value.strip()


async def edit(ctx: Context, call: calls.Edit) -> Reply:
    item = await svc.load(ctx, call.ref)
    named = [(kinds.edit_field(item.kind, word), word, value) for word, value in call.fields]
    for name, word, value in named:
        if name in ("owner", "approvers"):
            if not value:
                raise UsageError(f"Say who: `/raid edit {item.ref} {word} @erin`.")
            svc.check_assign(ctx, item)
            return await assign(ctx, calls.Assign(item.ref, tuple(people_named(value))))
        if name == "due_at":
            if not value:
                raise UsageError(f"Say when: `/raid edit {item.ref} {word} next tuesday`.")
            svc.check_due(ctx, item)
            return await set_due(ctx, calls.SetDue(item.ref, value))
    # who may comes before what is wrong with the value
    svc.check_edit(ctx, item)
    updates = {name: _edit_value(item, name, word, value) for name, word, value in named if name}
    return await edited(ctx, item, await svc.edit(ctx, item, **updates))


async def edited(ctx: Context, old: Item, new: Item) -> Reply:
    """``Edited B-3: title from “x” to “y”`` and the card, or that nothing changed."""
    if new is old:
        return Reply(text=f"Nothing changed: {old.ref} already says that.")
    lines = [describe_change(new.kind, c, ctx.timezone, ctx.now) for c in svc.diff(old, new)]
    reply = await changed(ctx, "Edited", new)
    return dataclasses.replace(reply, text=f"Edited {new.ref}: " + "; ".join(lines))


async def open_edit(ctx: Context, call: calls.OpenEdit) -> Reply:
    """The Edit button (and ``/raid edit B-3`` alone): who may first, then the item's form
    with its current values. Where no form can open, the text says how to edit by command."""
    item = await svc.load(ctx, call.ref)
    svc.check_edit(ctx, item)
    form = edit_form(item)
    return Reply(
        text=f"{form.title}, or by command: `{_edit_example(item.ref)}`. A "
        f"{item.kind.label}'s fields: {_fields_text(item.kind)}.",
        form=form,
    )


#: The Edit form's fields -> the item's field of each kind.
_FORM_NAMES: Mapping[str, str] = {"why": "rationale"}


async def save_edit(ctx: Context, call: calls.SaveEdit) -> Reply:
    item = await svc.load(ctx, call.ref)
    svc.check_edit(ctx, item)
    errors: dict[str, str] = {}
    updates: dict[str, object] = {}
    for form_name in ("title", "details", "waiting_on", "likelihood", "impact", "response",
                      "mitigation", "rationale", "why"):  # fmt: skip
        value = getattr(call, form_name)
        name = _FORM_NAMES.get(form_name, form_name)
        if item.kind is Kind.CHANGE and form_name == "impact":
            name = "impacts"
        if value is None or name not in kinds.EDIT_FIELDS[item.kind]:
            continue
        label = kinds.field_label(item.kind, name)
        if not value.strip() and name not in kinds.CLEARABLE:
            errors[form_name] = f"The {label} can't be empty."
            continue
        try:
            updates[name] = None if not value.strip() else _edit_value(item, name, name, value)
            if name == "title":
                updates[name] = svc.validate_title(canonical_mentions(value))
        except UsageError as e:
            errors[form_name] = e.message
    if errors:
        raise FormInvalid(errors)
    return await edited(ctx, item, await svc.edit(ctx, item, **updates))


CONVERTERS = {
    **CONVERTERS,
    "edit": convert_edit,
    "rename": convert_rename,
    "rescore": convert_rescore,
}
