"""/raid: list, show and change items; history, export, settings."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.domain.model import ACTIVE_STATUSES, Item, Kind, Ref, Status
from bot.errors import UsageError
from bot.messages import Action, Reply, Section, Tone, Visibility
from bot.services import items as svc
from bot.services.items import Context
from bot.text.dates import check_timezone, parse_date
from bot.text.parsing import (
    find_mentions,
    mention,
    parse_people,
    parse_ref,
)
from bot.views import export
from bot.views.items import card, changed_reply, history_line, list_line

PAGE_SIZE = 15

Handler = Callable[[Context, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    example: str
    summary: str
    handler: Handler


def _split_ref(args: str, usage: str) -> tuple[Ref, str]:
    words = args.strip().split(maxsplit=1)
    if not words:
        raise UsageError("Say which item, e.g. `B-3`.", usage=usage)
    return parse_ref(words[0], usage), (words[1].strip() if len(words) > 1 else "")


def changed(ctx: Context, verb: str, *items: Item) -> Reply:
    return changed_reply(verb, ctx.timezone, ctx.now, *items)


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
}
LIST_FILTERS = ("blockers", "risks", "decisions", "changes", "overdue", "mine", "all")


async def list_items(ctx: Context, args: str) -> Reply:
    words = args.lower().split()
    page = 1
    if len(words) >= 2 and words[-2] == "page" and words[-1].isdigit():
        page = max(1, int(words[-1]))
        words = words[:-2]
    include_closed = "all" in words
    words = [w for w in words if w != "all"]
    kind: Kind | None = None
    mode = ""
    for w in words:
        if w in _KIND_WORDS:
            kind = _KIND_WORDS[w]
        elif w in ("overdue", "mine"):
            mode = w
        else:
            raise UsageError(
                f"`{w}` is not a list filter. Use one of: {', '.join(LIST_FILTERS)}.",
                usage=RAID["list"].usage,
            )
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
    what = (
        (kind.plural if kind else "items")
        if not mode
        else f"{mode} " + (kind.plural if kind else "items")
    )
    scope = "" if include_closed else "open "
    if mode == "mine":
        heading = f"{scope}{kind.plural if kind else 'items'} waiting on {mention(ctx.user)}"
    else:
        heading = f"{scope}{what}"
    heading = heading[0].upper() + heading[1:]
    if not items:
        return Reply(text=f"{heading}: none. " + _empty_hint(mode))
    # Blockers first (oldest first), then risks by score, decisions, change requests.
    order = {Kind.BLOCKER: 0, Kind.RISK: 1, Kind.DECISION: 2, Kind.CHANGE: 3}
    items.sort(key=lambda i: (order[i.kind], -(i.score or 0) if i.kind is Kind.RISK else 0))
    pages = (len(items) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(page, pages)
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    sections: list[Section] = []
    for k in Kind:
        lines = tuple(list_line(i, ctx.timezone, ctx.now) for i in shown if i.kind is k)
        if lines:
            total = sum(1 for i in items if i.kind is k)
            sections.append(Section(f"{k.plural.capitalize()} ({total})", lines))
    overdue = sum(1 for i in items if i.overdue(ctx.now))
    text = f"{heading}: {len(items)}" + (f", {overdue} overdue" if overdue else "")
    if pages > 1:
        text += f" (page {page} of {pages})"
    actions: list[Action] = []
    filt = " ".join([*words, *(["all"] if include_closed else [])])
    if page > 1:
        actions.append(Action("Previous", f"list:{filt}:{page - 1}"))
    if page < pages:
        actions.append(Action("More", f"list:{filt}:{page + 1}"))
    return Reply(text=text, sections=tuple(sections), actions=tuple(actions))


def _empty_hint(mode: str) -> str:
    if mode == "overdue":
        return "Nothing is overdue."
    if mode == "mine":
        return "Nothing waits on you."
    return "Log one with `/blocker`, `/risk`, `/decision` or `/change`."


async def show(ctx: Context, args: str) -> Reply:
    ref, _ = _split_ref(args, RAID["show"].usage)
    item = await svc.load(ctx, ref)
    return Reply(
        text=f"{item.ref}: {item.title} ({item.status.label})",
        cards=(card(item, ctx.timezone, ctx.now),),
        item_ref=str(item.ref),
    )


async def history(ctx: Context, args: str) -> Reply:
    ref, _ = _split_ref(args, RAID["history"].usage)
    item = await svc.load(ctx, ref)
    events = (await ctx.uow.items.events([item.stored_id]))[item.stored_id]
    lines = tuple(history_line(item.kind, e, ctx.timezone, ctx.now) for e in events)
    return Reply(
        text=f"History of {item.ref}: {item.title} ({len(events)} "
        f"event{'s' if len(events) != 1 else ''})",
        sections=(Section(f"{item.ref} history", lines),),
        item_ref=str(item.ref),
    )


# --- changes ---------------------------------------------------------------------------------


async def resolve(ctx: Context, args: str) -> Reply:
    ref, note = _split_ref(args, RAID["resolve"].usage)
    item = await svc.resolve(ctx, await svc.load(ctx, ref), note or None)
    return changed(ctx, "Resolved" if item.kind is Kind.BLOCKER else "Implemented", item)


async def assign(ctx: Context, args: str) -> Reply:
    ref, rest = _split_ref(args, RAID["assign"].usage)
    if not rest:
        raise UsageError(f"Say who: `/raid assign {ref} @erin`.", usage=RAID["assign"].usage)
    people = find_mentions(rest) or parse_people(rest)
    item = await svc.assign(ctx, await svc.load(ctx, ref), people)
    return changed(ctx, "Assigned", item)


async def take(ctx: Context, args: str) -> Reply:
    ref, _ = _split_ref(args, "take B-3")
    item = await svc.assign(ctx, await svc.load(ctx, ref), [ctx.user])
    return changed(ctx, "Taken", item)


async def due(ctx: Context, args: str) -> Reply:
    ref, rest = _split_ref(args, RAID["due"].usage)
    if not rest:
        raise UsageError(f"Say when: `/raid due {ref} next tuesday`.", usage=RAID["due"].usage)
    item = await svc.load(ctx, ref)
    when = parse_date(rest, ctx.now, ctx.timezone)
    item = await svc.set_due(ctx, item, when)
    return changed(ctx, "Re-dated", item)


def split_outcome(text: str) -> tuple[str, str | None]:
    """``Okta, best SCIM support`` or ``Okta because best SCIM support``."""
    m = re.search(r"\s+because\s+", text, flags=re.IGNORECASE)
    if m:
        return text[: m.start()].strip(), text[m.end() :].strip() or None
    if "," in text:
        outcome, rationale = text.split(",", 1)
        return outcome.strip(), rationale.strip() or None
    return text.strip(), None


async def decide(ctx: Context, args: str) -> Reply:
    ref, rest = _split_ref(args, RAID["decide"].usage)
    outcome, rationale = split_outcome(rest)
    item = await svc.decide(ctx, await svc.load(ctx, ref), outcome, rationale)
    return changed(ctx, "Decided", item)


async def occurred(ctx: Context, args: str) -> Reply:
    ref, rest = _split_ref(args, RAID["occurred"].usage)
    risk, blocker = await svc.risk_occurred(ctx, await svc.load(ctx, ref), rest or None)
    reply = changed(ctx, "Risk occurred:", risk, blocker)
    return Reply(
        text=f"{risk.ref} occurred; it is now blocker {blocker.ref}: {blocker.title}",
        visibility=reply.visibility,
        tone=reply.tone,
        cards=reply.cards,
        item_ref=str(blocker.ref),
    )


async def supersede(ctx: Context, args: str) -> Reply:
    usage = RAID["supersede"].usage
    ref, rest = _split_ref(args, usage)
    rest = re.sub(r"^by\s+", "", rest, flags=re.IGNORECASE).strip()
    by = await svc.load(ctx, parse_ref(rest, usage)) if rest else None
    item = await svc.supersede(ctx, await svc.load(ctx, ref), by)
    return changed(ctx, "Superseded", item)


ItemChange = Callable[[Context, Item, str], Awaitable[Item]]


def _on_item(name: str, verb: str, apply: ItemChange) -> Handler:
    """``/raid <name> <ref> [text]``: load the item, apply the change, show the result."""

    async def handler(ctx: Context, args: str) -> Reply:
        ref, rest = _split_ref(args, RAID[name].usage)
        return changed(ctx, verb, await apply(ctx, await svc.load(ctx, ref), rest))

    return handler


implemented = _on_item(
    "implemented", "Implemented", lambda ctx, item, rest: svc.implement(ctx, item, rest or None)
)
note = _on_item("note", "Noted on", svc.add_note)
approve = _on_item(
    "approve", "Approved", lambda ctx, item, rest: svc.approve(ctx, item, rest or None)
)
reject = _on_item("reject", "Rejected", svc.reject)
close = _on_item("close", "Closed", lambda ctx, item, rest: svc.close_risk(ctx, item, rest or None))
reopen = _on_item("reopen", "Reopened", lambda ctx, item, _rest: svc.reopen(ctx, item))
withdraw = _on_item(
    "withdraw", "Withdrew", lambda ctx, item, rest: svc.withdraw(ctx, item, rest or None)
)


# --- export and settings ---------------------------------------------------------------------


async def export_cmd(ctx: Context, args: str) -> Reply:
    fmt = export.check_format(args or "")
    file = await export.export_channel(ctx.uow, ctx.channel, fmt, ctx.timezone, ctx.now)
    return Reply(
        text=f"Exported this channel's log as {fmt.upper()}: {file.filename}", files=(file,)
    )


async def settings(ctx: Context, args: str) -> Reply:
    usage = RAID["settings"].usage
    words = args.split(maxsplit=1)
    s = ctx.settings
    if not words:
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
                    ),
                ),
            ),
            usage=usage,
        )
    key, value = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
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
            svc.require_lead(ctx, "change the leads")
            await svc.update_settings(ctx, leads=())
            return _settings_changed(
                "This channel has no leads now: everyone may do what a lead may."
            )
        people = find_mentions(value) or parse_people(value)
        svc.require_lead(ctx, "change the leads")
        if not s.leads and ctx.user not in people:
            named = " ".join(mention(p) for p in [ctx.user, *people])
            raise UsageError(
                f"Whoever sets the first leads must include themselves: "
                f"`/raid settings leads {named}`."
            )
        await svc.update_settings(ctx, leads=tuple(dict.fromkeys(people)))
        return _settings_changed(
            "Leads of this channel: " + " ".join(mention(p) for p in people) + "."
        )
    if key == "nudges":
        if value.lower() not in ("on", "off"):
            raise UsageError("Say `on` or `off`: `/raid settings nudges off`.", usage=usage)
        svc.require_lead(ctx, "turn nudges on or off")
        await svc.update_settings(ctx, nudges_enabled=value.lower() == "on")
        return _settings_changed(f"Nudges are {value.lower()} in this channel.")
    raise UsageError(
        f"`{key}` is not a setting. Settings are `timezone`, `leads` and `nudges`.", usage=usage
    )


def _settings_changed(text: str) -> Reply:
    return Reply(text=text, visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


def _sub(name: str, usage: str, example: str, summary: str, handler: Handler) -> Subcommand:
    return Subcommand(name, f"/raid {usage}", f"/raid {example}", summary, handler)


RAID: dict[str, Subcommand] = {
    s.name: s
    for s in (
        _sub("list", "list [blockers|risks|decisions|changes|overdue|mine] [all]", "list overdue",
             "open items, by kind, overdue or waiting on you (`all` adds closed ones)", list_items),
        _sub("show", "show <ref>", "show B-3", "one item with all its fields", show),
        _sub("resolve", "resolve <ref> [note]", "resolve B-3 firewall rule merged",
             "resolve a blocker", resolve),
        _sub("assign", "assign <ref> @person", "assign B-3 @erin",
             "set the owner, decider or approvers", assign),
        _sub("due", "due <ref> <date>", "due B-3 next tuesday",
             "set the due, review or decide-by date", due),
        _sub("note", "note <ref> <text>", "note R-2 vendor confirmed the date",
             "add a note to the history", note),
        _sub("approve", "approve <ref> [note]", "approve C-1", "approve a change request", approve),
        _sub("reject", "reject <ref> <reason>", "reject C-1 no budget this quarter",
             "reject a change request or a pending decision", reject),
        _sub("decide", "decide <ref> <outcome>[, rationale]", "decide D-2 Okta, best SCIM support",
             "take a pending decision", decide),
        _sub("close", "close <ref> [note]", "close R-1", "close a risk", close),
        _sub("occurred", "occurred <ref> [note]", "occurred R-1",
             "a risk happened: it becomes a linked blocker", occurred),
        _sub("reopen", "reopen <ref>", "reopen B-3", "reopen a resolved blocker or closed risk",
             reopen),
        _sub("withdraw", "withdraw <ref> [reason]", "withdraw B-5",
             "take an item back (it stays in history)", withdraw),
        _sub("implemented", "implemented <ref> [note]", "implemented C-1",
             "mark an approved change request implemented", implemented),
        _sub("supersede", "supersede <ref> [by <ref>]", "supersede D-1 by D-4",
             "mark a decision superseded", supersede),
        _sub("history", "history <ref>", "history B-3", "who changed what, when", history),
        _sub("export", "export md|csv|json", "export md", "the channel's full log as a file",
             export_cmd),
        _sub("settings", "settings [timezone <zone> | leads @a @b | nudges on|off]",
             "settings timezone Europe/Berlin", "show or change this channel's settings", settings),
    )
}  # fmt: skip

#: Button and form action verbs -> handler, fed ``<ref> <text>`` built from the values.
ACTION_HANDLERS: Mapping[str, Handler] = {
    "resolve": resolve,
    "take": take,
    "assign": assign,
    "due": due,
    "approve": approve,
    "reject": reject,
    "decide": decide,
    "close": close,
    "occurred": occurred,
    "reopen": reopen,
    "withdraw": withdraw,
    "implemented": implemented,
    "note": note,
}

__all__ = ["ACTION_HANDLERS", "RAID", "Status", "Subcommand", "changed"]
